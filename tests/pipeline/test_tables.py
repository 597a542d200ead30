"""Querying products, time travel, history, restore, compaction and vacuum."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import store
from lakemesh.querying import QueryError
from lakemesh.synthetic import write_order_events
from tests.conftest import example_copy
from tests.pipeline.conftest import EVENTS, all_orders, open_mesh, shop_data_in, table_rows


def _two_versions(shop_data: Path) -> Path:
    open_mesh(shop_data).run()
    write_order_events(shop_data / EVENTS / "events-0002.jsonl", 2000, start=4000)
    open_mesh(shop_data).run()
    return shop_data


@pytest.fixture
def two_versions(shop_data: Path) -> Path:
    """Two runs' versions of every table, for a test that changes them."""
    return _two_versions(shop_data)


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs' versions built once for the tests that only read them."""
    return _two_versions(shop_data_in(example_copy(tmp_path_factory.mktemp("tables") / "shop")))


def test_time_travel(read_only: Path) -> None:
    mesh = open_mesh(read_only)
    now = table_rows(mesh, "SELECT count(*) AS n FROM orders.analytics_orders")
    then = mesh.query("SELECT count(*) AS n FROM orders.analytics_orders", as_of="0").to_pylist()
    first_run = mesh.catalog.runs("orders.analytics_orders")[-1]
    assert all_orders(mesh) == 3000 and then == [{"n": first_run.rows_written}] and now[0]["n"] > then[0]["n"]
    first_commit = mesh.tables.history("orders.analytics_orders")[-1].timestamp
    from datetime import timedelta

    stamp = (first_commit + timedelta(milliseconds=1)).isoformat()
    assert mesh.query("SELECT count(*) AS n FROM orders.analytics_orders", as_of=stamp).to_pylist() == then


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM orders.analytics_orders", "only one read query"),
        ("SELECT 1; SELECT 2", "only one read query"),
        ("SELECT * FROM orders.analytic_orders", "did you mean 'orders.analytics_orders'"),
        ("SELECT * FROM (", "SQL syntax error"),
        ("SELECT nope FROM orders.analytics_orders", "nope"),
    ],
)
def test_bad_queries(read_only: Path, sql: str, message: str) -> None:
    with pytest.raises(LakemeshError, match=message):
        open_mesh(read_only).query(sql)


def test_query_joins_products_with_pushdown(read_only: Path) -> None:
    rows = table_rows(
        open_mesh(read_only),
        "SELECT o.order_date, count(*) AS n FROM orders.analytics_orders o "
        "JOIN orders.daily_sales_summary g ON g.order_date = o.order_date "
        "WHERE o.order_date = DATE '2026-10-05' GROUP BY 1",
    )
    assert len(rows) == 1 and rows[0]["n"] > 0


def test_as_of_must_be_a_version_or_time(read_only: Path) -> None:
    with pytest.raises(QueryError, match="neither a version number nor an ISO timestamp"):
        open_mesh(read_only).query("SELECT 1 AS x FROM orders.analytics_orders", as_of="yesterday")
    with pytest.raises(LakemeshError, match=r"has versions 0\.\.1; 99 does not exist"):
        open_mesh(read_only).query("SELECT 1 AS x FROM orders.analytics_orders", as_of="99")


@pytest.mark.slow
def test_history_and_restore(two_versions: Path) -> None:
    mesh = open_mesh(two_versions)
    history = mesh.tables.history("orders.analytics_orders")
    assert [h.version for h in history] == [1, 0]
    assert history[0].operation == "MERGE"
    at_zero = mesh.query("SELECT count(*) AS n FROM orders.analytics_orders", as_of="0").to_pylist()
    mesh.tables.restore("orders.analytics_orders", "0")
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.analytics_orders") == at_zero
    assert mesh.tables.history("orders.analytics_orders")[0].operation == "RESTORE"


@pytest.mark.slow
def test_optimize_and_vacuum(shop_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "AUTO_COMPACT_FILES", 10_000)  # let small files pile up for this test
    for i in range(2, 6):
        write_order_events(shop_data / EVENTS / f"events-000{i}.jsonl", 200, start=10_000 * i)
        open_mesh(shop_data).run(["orders.order_events"])
    mesh = open_mesh(shop_data)
    files_before = len(mesh.lakehouse.table("orders.order_events").file_uris())
    assert files_before >= 4
    rows_before = table_rows(mesh, "SELECT count(*) AS n FROM orders.order_events")
    compacted = mesh.tables.optimize("orders.order_events")
    assert compacted.files_removed == files_before and compacted.files_added == 1 and compacted.bytes_removed > 0
    assert len(mesh.lakehouse.table("orders.order_events").file_uris()) == 1
    assert compacted.version == mesh.lakehouse.version("orders.order_events")
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.order_events") == rows_before
    stale = mesh.tables.vacuum("orders.order_events", retain_hours=0, dry_run=True, force=True)
    assert len(stale) == files_before
    folder = Path(mesh.lakehouse.uri("orders.order_events"))
    assert len(list(folder.glob("*.parquet"))) == files_before + 1
    deleted = mesh.tables.vacuum("orders.order_events", retain_hours=0, dry_run=False, force=True)
    assert sorted(deleted) == sorted(stale)
    assert len(list(folder.glob("*.parquet"))) == 1  # the bytes are gone from storage
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.order_events") == rows_before


@pytest.mark.slow
def test_many_small_writes_compact_themselves(shop_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "AUTO_COMPACT_FILES", 3)
    for i in range(2, 7):
        write_order_events(shop_data / EVENTS / f"events-000{i}.jsonl", 50, start=10_000 * i)
        open_mesh(shop_data).run(["orders.order_events"])
    assert len(open_mesh(shop_data).lakehouse.table("orders.order_events").file_uris()) <= 3


@pytest.mark.slow
def test_python_transform(shop_data: Path) -> None:
    folder = shop_data / "domains/orders/products/daily_sales_summary"
    (folder / "build.py").write_text(
        "import pyarrow as pa\n"
        "import duckdb\n\n"
        "def summary(inputs):\n"
        "    orders = inputs['orders.analytics_orders']\n"
        '    return duckdb.sql("SELECT order_date, count(*) AS orders_count, sum(total_amount) AS revenue, "\n'
        '        "avg(total_amount) AS avg_order_value, count(DISTINCT customer_id) AS unique_customers "\n'
        '        "FROM orders GROUP BY 1").to_arrow_table()\n'
    )
    product = folder / "product.yaml"
    product.write_text(product.read_text().replace("    sql: transform.sql", "    python: build.py:summary"))
    mesh = open_mesh(shop_data)
    assert mesh.run().ok
    published = table_rows(mesh, "SELECT count(*) AS n FROM orders.analytics_orders")
    assert table_rows(mesh, "SELECT sum(orders_count) AS n FROM orders.daily_sales_summary") == published


@pytest.mark.slow
def test_zorder_keeps_every_row(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    mesh.run()
    before = table_rows(mesh, "SELECT count(*) AS n, sum(total_amount) AS s FROM orders.analytics_orders")
    compacted = mesh.tables.optimize("orders.analytics_orders", zorder=["customer_id", "order_date"])
    assert compacted.files_added >= 1 and compacted.zorder == ["customer_id", "order_date"]
    assert mesh.tables.history("orders.analytics_orders")[0].operation == "OPTIMIZE"
    assert table_rows(mesh, "SELECT count(*) AS n, sum(total_amount) AS s FROM orders.analytics_orders") == before
