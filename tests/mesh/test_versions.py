"""Mesh versions: one publication per writing action, readers pinned to it, tags, manifests, diffs and
whole-mesh restores, and cleanup that keeps what tags need (but not against an erasure)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from lakemesh.errors import LakemeshError, NotFoundError
from lakemesh.mesh import Mesh
from lakemesh.mesh.versions import PublicationError
from lakemesh.settings import Settings
from lakemesh.synthetic import write_order_events

BRONZE, SILVER, GOLD = "orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"
# holds only when silver and gold come from the same run: gold counts silver's orders per day
BOTH = f"SELECT (SELECT count(*) FROM {SILVER}) AS silver, (SELECT sum(orders_count) FROM {GOLD}) AS gold"


def _open(root: Path, user: str = "builder@company.com") -> Mesh:
    return Mesh.open(root, Settings(user=user))


def _both(mesh: Mesh, at: str | None = None) -> tuple[int, int]:
    row = mesh.query(BOTH, at=at).to_pylist()[0]
    return int(row["silver"]), int(row["gold"])


def _more_orders(root: Path, name: str, start: int) -> None:
    write_order_events(root / f"data/order_events/{name}.jsonl", 100, start=start)


def test_each_run_publishes_the_tables_it_moved_and_a_crash_before_publication_stays_unseen(
    built_shop: Path,
) -> None:
    mesh = _open(built_shop)
    log = mesh.versions.history()
    assert [r.action for r in log] == ["run", "run"]
    assert set(log[1].tables) == set(mesh.workspace.products)  # the first run built every product
    assert set(log[0].tables) == {BRONZE, SILVER, GOLD}  # the second changed only the orders
    assert mesh.versions.current().tables == mesh.lakehouse.current_versions(sorted(mesh.workspace.products))
    silver, gold = _both(mesh)
    assert silver == gold

    # a writer that committed to silver and died before publishing: readers do not see its commit
    row = mesh.query(f"SELECT * FROM {SILVER} LIMIT 1")
    stray = row.set_column(0, row.schema.field(0), pa.array(["O-STRAY"], row.schema.field(0).type))
    mesh.lakehouse.append(SILVER, stray, {}, {})
    assert _both(_open(built_shop)) == (silver, gold)
    checked = _open(built_shop).quality.check(SILVER, record=False)
    assert checked.table_version == mesh.versions.current().tables[SILVER]  # checks read the published version too
    newest = mesh.lakehouse.version(SILVER)
    explicit = _open(built_shop).query(f"SELECT count(*) AS n FROM {SILVER}", as_of=f"{SILVER}={newest}")
    assert explicit.to_pylist()[0]["n"] == silver + 1  # a version asked for by number is read as asked

    # the next writing action rolls forward: it publishes what is there
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    silver_after, gold_after = _both(_open(built_shop))
    assert silver_after == gold_after and silver_after > silver


def test_a_tag_reads_back_the_whole_mesh_as_it_was(built_shop: Path) -> None:
    mesh = _open(built_shop)
    then = _both(mesh)
    tag = mesh.versions.tag("year-end", "year-end report")
    assert tag.mesh_version == mesh.versions.current().mesh_version
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    assert _both(mesh) != then
    assert _both(mesh, at="year-end") == then
    assert _both(mesh, at=str(tag.mesh_version)) == then
    with pytest.raises(NotFoundError, match="did you mean 'year-end'") as unknown:
        mesh.query(BOTH, at="yaer-end")
    assert "tag list" in (unknown.value.hint or "")
    with pytest.raises(NotFoundError, match="mesh version 99 does not exist"):
        mesh.query(BOTH, at="99")
    with pytest.raises(LakemeshError, match="--at and --as-of together"):
        mesh.query(BOTH, at="year-end", as_of="2026-01-01")
    with pytest.raises(LakemeshError, match="tag 'year-end' exists"):
        mesh.versions.tag("year-end")
    with pytest.raises(LakemeshError, match="cannot be a tag name"):
        mesh.versions.tag("12")


def test_the_manifest_is_readable_without_lakemesh(built_shop: Path) -> None:
    mesh = _open(built_shop)
    mesh.versions.tag("training-set")
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    manifest = json.loads(mesh.versions.manifest("training-set").model_dump_json())
    assert {t["product_id"] for t in manifest["tables"]} == set(mesh.workspace.products)
    for table in manifest["tables"]:
        expected = mesh.query(f"SELECT * FROM {table['product_id']}", at="training-set")
        by_delta = DeltaTable(table["uri"], version=table["version"]).to_pyarrow_table()
        assert table["files_hold_rows"]
        files = [f.removeprefix("file://") for f in table["files"]]
        by_duckdb = duckdb.connect().sql(f"SELECT * FROM read_parquet({files!r})").to_arrow_table()
        key = expected.column_names[0]
        # the stored rows (encrypted columns sealed, as lakemesh wrote them), by either reader
        assert by_duckdb.sort_by(key).to_pylist() == by_delta.select(by_duckdb.column_names).sort_by(key).to_pylist()
        assert sorted(by_duckdb[key].to_pylist()) == sorted(expected[key].to_pylist()), table["product_id"]


def _order_ids(root: Path, at: str) -> set[str]:
    return {r["order_id"] for r in _open(root).query(f"SELECT order_id FROM {SILVER}", at=at).to_pylist()}


def test_diff_counts_rows_added_changed_and_removed_per_product(built_shop: Path) -> None:
    mesh = _open(built_shop)
    mesh.versions.tag("before")
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    mesh.versions.tag("after")
    diff = {p.product_id: p for p in mesh.versions.diff("before", "after").products}
    assert set(diff) == {BRONZE, SILVER, GOLD}
    assert diff[SILVER].keyed_by == ["order_id"]
    assert diff[SILVER].added == len(_order_ids(built_shop, "after") - _order_ids(built_shop, "before")) > 0
    assert diff[SILVER].removed == len(_order_ids(built_shop, "before") - _order_ids(built_shop, "after"))
    assert diff[BRONZE].added == 100 and diff[BRONZE].changed == diff[BRONZE].removed == 0
    assert mesh.versions.diff("after", "after").products == []


def test_restore_of_the_whole_mesh_is_one_mesh_version(built_shop: Path) -> None:
    mesh = _open(built_shop)
    mesh.versions.tag("good")
    then = _both(mesh)
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    before = mesh.versions.current().mesh_version
    result = mesh.versions.restore("good")
    assert set(result.restored) == {BRONZE, SILVER, GOLD} and result.mesh_version == (before or 0) + 1
    assert _both(_open(built_shop)) == then
    assert _open(built_shop).versions.history(1)[0].action == "restore"
    assert _open(built_shop).run().ok  # the next run rebuilds from the restored tables and holds together
    assert _both(_open(built_shop))[0] == _both(_open(built_shop))[1]


def test_vacuum_keeps_what_a_tag_needs_until_the_tag_goes(built_shop: Path) -> None:
    mesh = _open(built_shop)
    mesh.versions.tag("keep-me")
    then = _both(mesh)
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    mesh.tables.optimize(SILVER)  # the tagged version's files leave the current version
    tagged = mesh.versions.kept(SILVER)
    assert list(tagged) == ["keep-me"]
    needed = {f.removeprefix("file://") for f in mesh.lakehouse.table(SILVER, tagged["keep-me"]).file_uris()}
    removed = mesh.tables.vacuum(SILVER, retain_hours=0, dry_run=False, force=True)
    assert not needed & {f"{mesh.lakehouse.uri(SILVER)}/{f}" for f in removed}
    assert _both(_open(built_shop), at="keep-me") == then
    mesh.versions.delete("keep-me")
    old = str(mesh.versions.history()[-1].id)
    assert mesh.tables.vacuum(SILVER, retain_hours=0, dry_run=False, force=True)
    with pytest.raises(PublicationError, match=f"'{old}' cannot be read: {SILVER}: data file") as purged:
        _open(built_shop).query(BOTH, at=old)
    assert "vacuum and retention keep what tags need" in (purged.value.hint or "")


def test_retention_keeps_tagged_versions_and_an_erasure_does_not(built_shop: Path) -> None:
    mesh = _open(built_shop)
    mesh.versions.tag("kept")
    _more_orders(built_shop, "g", 400)
    assert _open(built_shop).run().ok
    mesh = _open(built_shop)
    version = mesh.versions.kept(SILVER)["kept"]
    mesh.lakehouse.purge_history(SILVER, "retention: test", keep=True)
    assert mesh.lakehouse.table(SILVER, version).to_pyarrow_table().num_rows > 0
    mesh.lakehouse.purge_history(SILVER, "erasure: test")  # erasure wins over tags
    with pytest.raises(LakemeshError):
        mesh.lakehouse.table(SILVER, version)


@pytest.mark.slow
def test_forget_overrides_tags_and_marks_the_ones_it_broke(built_shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMESH_MASK_KEY", "test-mask-key")
    mesh = _open(built_shop)
    mesh.versions.tag("before-erasure")
    customer = mesh.query(f"SELECT customer_id FROM {SILVER} ORDER BY customer_id LIMIT 1").to_pylist()[0]
    dpo = _open(built_shop, "dpo@company.com")
    report = dpo.governance.forget([f"customer_id={customer['customer_id']}"])
    assert report.ok and report.tags_erased_through == ["before-erasure"]
    tag = _open(built_shop).versions.tags()[0]
    assert tag.erased_through == _open(built_shop).versions.current().mesh_version
    with pytest.raises(PublicationError, match="erased through by an erasure") as broken:
        _open(built_shop).query(BOTH, at="before-erasure")
    assert "erasure wins" in (broken.value.hint or "")
    assert _open(built_shop).versions.kept(SILVER) == {}  # a broken tag keeps no files from vacuum
    silver, gold = _both(_open(built_shop))
    assert silver == gold


def test_change_events_applied_from_a_file_are_published(tmp_path: Path) -> None:
    from tests.cdc.conftest import write_workspace

    root = write_workspace(tmp_path / "cdc", "postgresql://nobody@127.0.0.1:9/none")  # a file needs no server
    events = tmp_path / "events.jsonl"
    lines = []
    for key in (1, 2):
        row = {"id": key, "customer": "c", "amount": "1.50", "status": "new", "note": None, "placed_at": None}
        source = {"lsn": 10 + key, "table": "orders"}
        lines.append(json.dumps({"op": "c", "before": None, "after": row, "source": source}))
    events.write_text("\n".join(lines) + "\n")
    mesh = _open(root)
    assert mesh.streams.apply_file("sales.order_changes", events.open(), events.name) == (2, False)
    assert mesh.versions.history(1)[0].action == "cdc.run"
    assert mesh.versions.current().tables == {"sales.order_changes": 0}
    assert _open(root).run(["sales.orders"]).ok
    assert set(_open(root).versions.current().tables) == {"sales.order_changes", "sales.orders"}
    assert _open(root).query("SELECT count(*) AS n FROM sales.orders").to_pylist()[0]["n"] == 2


def test_a_pinned_version_an_erasure_purged_before_publishing_reads_as_the_newest(built_shop: Path) -> None:
    mesh = _open(built_shop)
    silver, gold = _both(mesh)
    pinned = mesh.versions.current().tables
    # an erasure's purge (the window before it publishes, or a crash in it): the pinned version is gone
    mesh.lakehouse.purge_history(SILVER, "erasure: test")
    with pytest.raises(LakemeshError):
        mesh.lakehouse.table(SILVER, pinned[SILVER])
    assert _both(_open(built_shop)) == (silver, gold)  # the purge changed no rows: silver read at its newest
    assert _open(built_shop).versions.current().tables == pinned  # nothing was published by the read


def test_retention_through_the_facade_keeps_a_tag_readable_and_says_so(built_shop: Path) -> None:
    from datetime import UTC, datetime

    mesh = _open(built_shop)
    mesh.versions.tag("audit")
    then = mesh.query(f"SELECT count(*) AS n FROM {SILVER}").to_pylist()[0]["n"]
    oldest, newest = (
        mesh.query(f"SELECT min(updated_at) AS a, max(updated_at) AS b FROM {SILVER}").to_pylist()[0].values()
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    days = (now - oldest).days - max(1, (newest - oldest).days // 2)  # about half the orders are past it
    contract = built_shop / "domains/orders/products/analytics_orders/contract.yaml"
    text = contract.read_text()
    assert "  - property: retention\n    value: 7\n    unit: y\n" in text
    contract.write_text(text.replace("value: 7\n    unit: y", f"value: {days}\n    unit: d", 1))
    results = {r.product_id: r for r in _open(built_shop).governance.retention([SILVER])}
    assert results[SILVER].rows > 0 and results[SILVER].kept_versions == [
        _open(built_shop).versions.kept(SILVER)["audit"]
    ]
    mesh = _open(built_shop)
    assert mesh.query(f"SELECT count(*) AS n FROM {SILVER}").to_pylist()[0]["n"] == then - results[SILVER].rows
    assert mesh.query(f"SELECT count(*) AS n FROM {SILVER}", at="audit").to_pylist()[0]["n"] == then
    assert mesh.versions.history(1)[0].action == "retention"
