"""Column lineage stored in the catalog with the specs, on SQLite and on PostgreSQL: written by sync,
skipped when a spec is unchanged, versioned when a transform changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lakemesh.catalog import tables as t
from lakemesh.catalog.lineage import lineage_versions, load_current
from lakemesh.lineage.columns import product_lineage
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.spec.workspace import load_workspace

GOLD = "orders.daily_sales_summary"
GOLD_SQL = "domains/orders/products/daily_sales_summary/transform.sql"


@pytest.fixture
def mesh(shop: Path, catalog_url: str) -> Mesh:
    m = Mesh.open(shop, Settings(catalog_url=catalog_url))
    m.sync()
    return m


def _rows(mesh: Mesh) -> dict[str, int]:
    with mesh.catalog.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar() or 0
            for table in (t.lineage_versions, t.lineage_column_edges)
        }


def test_sync_stores_every_products_lineage_and_it_reads_back_whole(mesh: Mesh, shop: Path) -> None:
    ws = load_workspace(shop)
    rows = load_current(mesh.catalog.engine)
    assert {v["product_id"] for v in rows.versions} == set(ws.products)
    for pid, entry in ws.products.items():
        derived = product_lineage(ws, entry)
        stored = next(v for v in rows.versions if v["product_id"] == pid)
        assert stored["fingerprint"] == derived.fingerprint
        assert stored["granularity"] == derived.granularity.value
        assert stored["inputs"] == derived.inputs
        assert [s["name"] for s in stored["sources"]] == [s.name for s in derived.sources]
        want = {
            (str(e.source), str(e.target), ",".join(x.subtype.value for x in e.transformations)) for e in derived.edges
        }
        got = {(f"{sp}.{sc}", f"{tp}.{tc}", subs) for sp, sc, tp, tc, k, subs, _ in rows.edges if tp == pid and sc}
        assert got == want
        readers = {sp for sp, sc, tp, _, kind, _, _ in rows.edges if tp == pid and kind == "PRODUCT"}
        assert readers == {*derived.inputs, *(s.name for s in derived.sources)}


def test_masked_and_pii_columns_are_stored_with_the_version(mesh: Mesh) -> None:
    rows = load_current(mesh.catalog.engine)
    profiles = next(v for v in rows.versions if v["product_id"] == "customers.customer_profiles")
    assert "email" in profiles["pii"] and "email" in profiles["masked"]
    masking = {(tp, tc) for _, _, tp, tc, _, _, masked in rows.edges if masked}
    assert ("customers.customer_profiles", "email") in masking


def test_a_sync_with_unchanged_specs_writes_no_lineage(mesh: Mesh) -> None:
    before = _rows(mesh)
    stamps = [v["recorded_at"] for v in load_current(mesh.catalog.engine).versions]
    refresh = mesh.lineage.refresh()
    assert refresh.derived == [] and refresh.unchanged == 5
    assert _rows(mesh) == before
    assert [v["recorded_at"] for v in load_current(mesh.catalog.engine).versions] == stamps


def test_a_changed_transform_keeps_the_old_version_and_makes_the_new_one_current(mesh: Mesh, shop: Path) -> None:
    old = {v["fingerprint"] for v in lineage_versions(mesh.catalog.engine, GOLD)}
    sql = shop / GOLD_SQL
    text = sql.read_text()
    assert text.count(" FILTER (WHERE status <> 'cancelled')") == 2
    sql.write_text(text.replace(" FILTER (WHERE status <> 'cancelled')", ""))  # the status filter goes
    changed = Mesh.open(shop, mesh.settings)
    refresh = changed.lineage.refresh()
    assert refresh.derived == [GOLD]
    versions = lineage_versions(changed.catalog.engine, GOLD)
    assert len(versions) == 2 and {v["fingerprint"] for v in versions} > old
    current = [v for v in versions if v["current"]]
    assert len(current) == 1 and current[0]["fingerprint"] not in old
    edges = [e for e in load_current(changed.catalog.engine).edges if e[2] == GOLD]
    assert edges and not any(sc == "status" for _, sc, *_ in edges)
    old_edges = next(v for v in versions if not v["current"])["edges"]
    assert old_edges > len(edges)  # the old version's edges are kept, no longer current
    sql.write_text(text)  # back to the first spec: its stored version is current again, nothing new
    again = Mesh.open(shop, mesh.settings)
    assert again.lineage.refresh().derived == [GOLD]
    versions = lineage_versions(again.catalog.engine, GOLD)
    assert len(versions) == 2 and [v["fingerprint"] for v in versions if v["current"]] == list(old)


def test_a_product_gone_from_the_workspace_is_no_longer_current(mesh: Mesh, shop: Path) -> None:
    import shutil

    shutil.rmtree(shop / "domains/orders/products/daily_sales_summary")
    gone = Mesh.open(shop, mesh.settings)
    assert gone.lineage.refresh().retired == [GOLD]
    assert GOLD not in {v["product_id"] for v in load_current(gone.catalog.engine).versions}
    assert [v["current"] for v in lineage_versions(gone.catalog.engine, GOLD)] == [False]
