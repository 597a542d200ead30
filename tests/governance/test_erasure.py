"""`lakemesh forget`: a subject's rows leave every layer, the aggregates follow, and no file keeps a value."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakemesh.errors import LakemeshError
from lakemesh.governance.erasure import ErasureError, Subject, plan
from lakemesh.lakehouse import HistoryPurgedError, Lakehouse
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

BRONZE, SILVER, GOLD = "orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"
GOLD_SQL = "domains/orders/products/daily_sales_summary/transform.sql"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMESH_MASK_KEY", "test-mask-key")


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="dpo@company.com"))


def _built(shop: Path) -> Mesh:
    write_order_events(shop / "data/order_events/e.jsonl", 4000)
    write_customers(shop / "data/customers/c.csv", 200)
    mesh = _open(shop)
    assert mesh.run().ok
    return mesh


def _busiest_customer(mesh: Mesh) -> str:
    """A customer with several orders, some of them quarantined, so every table holds them."""
    rows = mesh.query(
        f"SELECT customer_id, count(*) AS n FROM {SILVER} GROUP BY 1 ORDER BY n DESC, customer_id LIMIT 1"
    ).to_pylist()
    return str(rows[0]["customer_id"])


def files_holding(root: Path, values: list[str]) -> list[str]:
    """Every file under `root` in which any value occurs: Parquet decoded (data, change feed, log
    checkpoints, whatever their compression), everything else as bytes."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
            if any(v in text for v in values):
                found.append(str(path.relative_to(root)))
        elif any(v.encode() in path.read_bytes() for v in values):
            found.append(str(path.relative_to(root)))
    return found


def _gold_from_silver(mesh: Mesh) -> list[dict[str, object]]:
    sql = (mesh.root / GOLD_SQL).read_text()
    return sorted(mesh.query(sql).to_pylist(), key=lambda r: str(r["order_date"]))


def _gold(mesh: Mesh) -> list[dict[str, object]]:
    columns = "order_date, orders_count, revenue, avg_order_value, unique_customers"
    return sorted(mesh.query(f"SELECT {columns} FROM {GOLD}").to_pylist(), key=lambda r: str(r["order_date"]))


@pytest.mark.slow
def test_forget_erases_every_layer_and_every_file(shop: Path) -> None:
    mesh = _built(shop)
    buyer, profile = _busiest_customer(mesh), "C000042"
    orders_of_buyer = mesh.query(f"SELECT count(*) AS n FROM {SILVER} WHERE customer_id = '{buyer}'").to_pylist()
    events_of_buyer = mesh.query(f"SELECT count(*) AS n FROM {BRONZE} WHERE customer_id = '{buyer}'").to_pylist()
    assert orders_of_buyer[0]["n"] >= 2 and events_of_buyer[0]["n"] >= 2
    subjects = [f"customer_id={buyer}", f"customer_id={profile}"]
    versions = {p: mesh.lakehouse.version(p) for p in (BRONZE, SILVER, GOLD)}

    preview = {s.product_id: s for s in mesh.governance.forget(subjects, dry_run=True).steps}
    assert preview[SILVER].rows[SILVER] == orders_of_buyer[0]["n"]
    assert preview[BRONZE].rows[BRONZE] == events_of_buyer[0]["n"]
    assert preview["customers.customer_records"].rows["customers.customer_records"] == 1
    assert preview[GOLD].action == "recompute"
    assert {p: mesh.lakehouse.version(p) for p in versions} == versions  # a dry run changes nothing

    report = _open(shop).governance.forget(subjects)
    assert report.ok and report.rows >= orders_of_buyer[0]["n"] + events_of_buyer[0]["n"] + 2
    assert "data/order_events/e.jsonl" in report.source_files  # not ours to delete: reported
    mesh = _open(shop)
    for pid in (BRONZE, SILVER, "customers.customer_records", "customers.customer_profiles"):
        left = mesh.query(f"SELECT count(*) AS n FROM {pid} WHERE customer_id IN ('{buyer}', '{profile}')")
        assert left.to_pylist()[0]["n"] == 0, pid
    assert _gold(mesh) == _gold_from_silver(mesh)  # the aggregates no longer count the subject
    assert files_holding(shop / "lakehouse", [buyer, profile]) == []
    with pytest.raises(LakemeshError):  # time travel to before the erasure is gone too
        mesh.query(f"SELECT count(*) FROM {SILVER}", as_of=str(versions[SILVER]))

    # the audit says who, what and how much, and knows the subjects only by pseudonym
    requested, done = mesh.catalog.audit_entries("forget"), mesh.catalog.audit_entries("forget.done")
    assert requested[0].actor == "dpo@company.com" and done[0].details["rows"] == report.rows
    assert {s["pseudonym"] for s in requested[0].details["subjects"]} == {Subject.parse(s).pseudonym for s in subjects}
    assert buyer not in json.dumps([a.model_dump(mode="json") for a in requested + done])


@pytest.mark.slow
def test_later_runs_do_not_bring_the_subject_back(shop: Path) -> None:
    mesh = _built(shop)
    buyer = _busiest_customer(mesh)
    sql = f"SELECT count(*) AS n FROM {SILVER} WHERE customer_id = '{buyer}' LIMIT 12"
    mesh.query(sql, principal="ana@company.com")  # audited, with the subject's id in its text
    report = _open(shop).governance.forget([f"customer_id={buyer}"])
    assert report.ok and report.catalog_records_scrubbed >= 1
    audited = [a.details["sql"] for a in _open(shop).catalog.audit_entries("query")]
    assert audited == [f"SELECT count(*) AS n FROM {SILVER} WHERE customer_id = '[erased]' LIMIT 12"]
    # a new file carries the subject's events again (a replayed export), among others
    write_order_events(shop / "data/order_events/f.jsonl", 4000, start=4000)
    extra = shop / "data/order_events/f.jsonl"
    lines = extra.read_text().splitlines()
    lines[0] = lines[0].replace(json.loads(lines[0])["customer_id"], buyer)
    extra.write_text("\n".join(lines) + "\n")
    report = _open(shop).run()
    assert report.ok
    bronze = next(r for r in report.runs if r.product_id == BRONZE)
    assert bronze.details["erased_subject_rows_skipped"] >= 1 and bronze.rows_written > 3000
    mesh = _open(shop)
    for pid in (BRONZE, SILVER):
        found = mesh.query(f"SELECT count(*) AS n FROM {pid} WHERE customer_id = '{buyer}'").to_pylist()
        assert found[0]["n"] == 0, pid
    assert _gold(mesh) == _gold_from_silver(mesh)


@pytest.mark.slow
def test_an_interrupted_erasure_is_finished_by_running_it_again(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mesh = _built(shop)
    buyer = _busiest_customer(mesh)

    def crash(self: Lakehouse, product_id: str, reason: str) -> dict[str, int]:
        raise OSError("disk gone")

    with monkeypatch.context() as patched:  # deleted and recomputed, but no history purged
        patched.setattr(Lakehouse, "purge_history", crash)
        with pytest.raises(OSError):
            _open(shop).governance.forget([f"customer_id={buyer}"])
    assert files_holding(shop / "lakehouse", [buyer])  # the old versions still hold it
    again = _open(shop).governance.forget([f"customer_id={buyer}"])
    assert again.ok and again.rows == 0  # nothing left to delete: the purge is what remained
    assert files_holding(shop / "lakehouse", [buyer]) == []
    mesh = _open(shop)
    assert _gold(mesh) == _gold_from_silver(mesh)


def test_plan_follows_lineage_and_flags_what_it_cannot_recompute(shop: Path) -> None:
    product = shop / "domains/orders/products/daily_sales_summary/product.yaml"
    product.write_text(product.read_text().replace("mode: partitions", "mode: merge"))
    contract = shop / "domains/orders/products/daily_sales_summary/contract.yaml"
    contract.write_text(
        contract.read_text().replace("name: order_date\n", "name: order_date\n        primaryKey: true\n", 1)
    )
    steps = {s.product_id: s for s in plan(_open(shop).workspace, [Subject.parse("customer_id=C1")])}
    assert steps[SILVER].action == "delete" and steps[BRONZE].action == "delete"
    assert steps[GOLD].action == "review" and "may remain" in steps[GOLD].reason
    # a source that does not mark its key is not silently skipped
    events = shop / "domains/orders/products/order_events/contract.yaml"
    events.write_text(events.read_text().replace("tags: [pii, subject-key]", "tags: [pii]"))
    steps = {s.product_id: s for s in plan(_open(shop).workspace, [Subject.parse("customer_id=C1")])}
    assert steps[BRONZE].action == "review" and f"feeds {SILVER}" in steps[BRONZE].reason
    with pytest.raises(ErasureError, match="no product tags email"):
        plan(_open(shop).workspace, [Subject.parse("email=a@b.c")])
    with pytest.raises(ErasureError, match="COLUMN=VALUE"):
        Subject.parse("C000042")


@pytest.mark.slow
def test_cli_dry_run_and_json(shop: Path) -> None:
    mesh = _built(shop)
    buyer = _busiest_customer(mesh)
    code, out = run("-w", str(shop), "forget", "--subject", f"customer_id={buyer}", "--dry-run")
    assert code == 0 and "dry run: nothing was changed" in out and GOLD in out and "recompute" in out
    code, out = run("-w", str(shop), "forget", "-s", f"customer_id={buyer}", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["rows"] > 0 and summary["bytes_rewritten"] > 0 and buyer not in out
    with pytest.raises(HistoryPurgedError, match="version 0 was purged"):
        _open(shop).lakehouse.table(SILVER, as_of=0)
