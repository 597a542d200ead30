"""The catalog on SQLite and on a real PostgreSQL server: the same tests, the same code."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lakemesh.catalog import Catalog
from lakemesh.catalog import tables as t
from lakemesh.catalog.engine import head_revision, make_engine, migrate
from lakemesh.errors import CatalogError, NotFoundError
from lakemesh.spec.workspace import load_workspace


def _edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))


@pytest.fixture
def catalog(catalog_url: str) -> Catalog:
    return Catalog.connect(catalog_url)


def test_sync_registers_everything_once(catalog: Catalog, shop: Path) -> None:
    report = catalog.sync(load_workspace(shop), "alice@example.com")
    assert report.count("created", "product") == 5
    assert report.count("created", "contract") == 5
    assert report.count("created", "domain") == 2
    assert catalog.counts() == {"domains": 2, "products": 5, "contracts": 5, "versions": 12}
    again = catalog.sync(load_workspace(shop), "alice@example.com")
    assert again.changed == [] and again.count("unchanged") == 12
    assert catalog.counts()["versions"] == 12
    assert catalog.revision == head_revision()


def test_each_change_is_a_new_version_with_history(catalog: Catalog, shop: Path) -> None:
    catalog.sync(load_workspace(shop), "alice@example.com")
    contract = shop / "domains/orders/products/analytics_orders/contract.yaml"
    _edit(contract, "description: Latest order status.", "description: Latest known order status.")
    _edit(shop / "domains/orders/products/analytics_orders/product.yaml", "freshness: 15m", "freshness: 10m")
    report = catalog.sync(load_workspace(shop), "bob@example.com")
    assert {(c.kind, c.id, c.change, c.version) for c in report.changed} == {
        ("contract", "orders.analytics_orders", "updated", 2),
        ("product", "orders.analytics_orders", "updated", 2),
    }
    versions = catalog.versions("contract", "orders.analytics_orders")
    assert [v.version for v in versions] == [2, 1]
    newest, first = versions
    assert newest.changed_by == "bob@example.com" and first.changed_by == "alice@example.com"
    assert any("description changed: analytics_orders.status" in s for s in newest.summary)
    # the previous document is kept whole
    previous = first.document["schema"][0]["properties"][4]
    assert previous["description"] == "Latest order status."
    product_versions = catalog.versions("product", "orders.analytics_orders")
    assert product_versions[0].summary == ['sla.freshness: "15m" -> "10m"']


def test_removed_product_leaves_search_but_keeps_history(catalog: Catalog, shop: Path) -> None:
    catalog.sync(load_workspace(shop), "alice")
    shutil.rmtree(shop / "domains/orders/products/daily_sales_summary")
    report = catalog.sync(load_workspace(shop), "alice")
    assert {(c.kind, c.id, c.change) for c in report.changed} == {
        ("product", "orders.daily_sales_summary", "removed"),
        ("contract", "orders.daily_sales_summary", "removed"),
    }
    assert "orders.daily_sales_summary" not in [h.product_id for h in catalog.search("sales summary")]
    assert [v.change for v in catalog.versions("product", "orders.daily_sales_summary")] == ["removed", "created"]


def test_search_ranks_and_filters(catalog: Catalog, shop: Path) -> None:
    catalog.sync(load_workspace(shop), "alice")
    ids = [h.product_id for h in catalog.search("orders")]
    assert set(ids[:3]) == {"orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"}
    # a column name only one product has
    assert [h.product_id for h in catalog.search("avg_order_value")] == ["orders.daily_sales_summary"]
    # a word only in a column description
    assert {h.product_id for h in catalog.search("taxes")} == {"orders.analytics_orders", "orders.order_events"}
    # prefix and stem
    assert "customers.customer_profiles" in [h.product_id for h in catalog.search("custom")]
    assert [h.product_id for h in catalog.search("orders", domain="customers")] == ["customers.customer_profiles"]
    assert {h.product_id for h in catalog.search("", tag="pii")} == {
        "customers.customer_records",
        "customers.customer_profiles",
    }
    assert {h.product_id for h in catalog.search("", owner="CRM-team@company.com")} == {
        "customers.customer_records",
        "customers.customer_profiles",
    }
    assert catalog.search("zebra") == []


def test_search_ranks_name_above_column_docs(catalog: Catalog, shop: Path) -> None:
    catalog.sync(load_workspace(shop), "alice")
    hits = catalog.search("summary")
    assert hits[0].product_id == "orders.daily_sales_summary"
    assert hits[0].score > (hits[1].score if len(hits) > 1 else float("-inf"))


@pytest.mark.parametrize("query", ['"', "' OR 1=1 --", "NEAR(a b)", "*", "a AND OR NOT", "orders:*|!"])
def test_search_treats_any_input_as_words(catalog: Catalog, shop: Path, query: str) -> None:
    catalog.sync(load_workspace(shop), "alice")
    catalog.search(query)  # must not raise: user text never becomes query syntax


def test_product_record(catalog: Catalog, shop: Path) -> None:
    catalog.sync(load_workspace(shop), "alice")
    record = catalog.product("customers.customer_profiles")
    assert record.product.owner == "crm-team@company.com"
    assert record.contract is not None and record.contract["id"] == "customers.customer_profiles"
    email = next(c for c in record.columns if c.name == "email")
    assert email.classification == "restricted" and email.tags == ["pii", "email"]
    with pytest.raises(NotFoundError, match=r"did you mean 'customers\.customer_profiles'"):
        catalog.product("customers.customer_profile")


def test_sync_is_all_or_nothing(catalog: Catalog, shop: Path) -> None:
    ws = load_workspace(shop)
    assert list(ws.products)[-1] == "orders.order_events"
    # a stray history row makes the last product's version insert violate a unique constraint,
    # after domains, contracts and four products were written in the same transaction
    with catalog.engine.begin() as conn:
        conn.execute(
            t.spec_versions.insert().values(
                kind="product",
                entity_id="orders.order_events",
                version=1,
                change="created",
                summary=[],
                changed_by="stray",
                changed_at=t_now(),
            )
        )
    with pytest.raises(CatalogError, match="nothing was changed"):
        catalog.sync(ws, "alice")
    assert catalog.counts() == {"domains": 0, "products": 0, "contracts": 0, "versions": 1}


def test_existing_catalog_upgrades_in_place(catalog_url: str, shop: Path) -> None:
    engine = make_engine(catalog_url)
    migrate(engine, "0001")  # a catalog from before search existed
    with engine.begin() as conn:
        conn.execute(
            t.products.insert().values(
                id="legacy.orders",
                domain="legacy",
                name="Legacy orders",
                description="Orders from the old shop",
                owner="ops@example.com",
                layer="silver",
                status="active",
                tags=["legacy"],
                document={},
                content_hash="x",
                version=1,
                created_at=t_now(),
                updated_at=t_now(),
            )
        )
    catalog = Catalog.connect(catalog_url)  # upgrades to head
    assert catalog.revision == head_revision()
    assert [h.product_id for h in catalog.search("legacy")] == ["legacy.orders"]
    with catalog.engine.connect() as conn:
        assert conn.execute(select(t.products.c.name)).scalar() == "Legacy orders"
        conn.execute(text("SELECT count(*) FROM runs"))  # tables of later migrations exist


def t_now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://nobody@127.0.0.1:1/none", "cannot reach the catalog at postgresql://nobody@127.0.0.1:1/none"),
        ("postgresql://u:secret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        ("mysql://u@h/db", "mysql is not supported"),
        ("not a url", "is not a database URL"),
    ],
)
def test_unreachable_or_bad_catalog_url(url: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("*", r"\*").replace(".", r"\.")) as info:
        Catalog.connect(url)
    assert "secret" not in info.value.message
    assert info.value.hint and "LAKEMESH_CATALOG_URL" in info.value.hint


def test_search_hits_carry_their_tags(catalog: Catalog, shop: Path) -> None:
    """Tags come back as written in product.yaml on both backends, whether the query has terms or not."""
    catalog.sync(load_workspace(shop), "alice")
    expected = ["customers", "profiles", "pii", "silver"]
    for hits in (catalog.search("profiles"), catalog.search("", tag="pii"), catalog.search("customer", tag="pii")):
        by_id = {h.product_id: h for h in hits}
        assert by_id["customers.customer_profiles"].tags == expected


def test_a_failed_migration_leaves_no_half_built_catalog(tmp_path: Path) -> None:
    """pysqlite commits each DDL statement on its own: a first run killed while it created the catalog
    left some tables, and every later run failed with 'table … already exists'. A migration is one
    transaction, so a failure at its last step leaves nothing of the earlier ones."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:  # an object the last migration would create, so that step fails
        conn.exec_driver_sql("CREATE TABLE erased_subjects (x INTEGER)")
    with pytest.raises(CatalogError):
        migrate(engine)
    with engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"erased_subjects"}
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE erased_subjects")
    migrate(engine)
    assert Catalog.connect(url).revision == head_revision()
