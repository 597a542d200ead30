"""Quality gates in runs: error stops a product, quarantine sets rows aside exactly once, warning is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse, LakehouseError
from lakemesh.pipeline import RunStatus
from lakemesh.quality.gate import quarantine_id
from lakemesh.quality.results import CheckStatus
from lakemesh.synthetic import write_order_events
from tests.pipeline.conftest import EVENTS, all_orders, held_orders, open_mesh, table_rows

SILVER = "orders.analytics_orders"
SILVER_CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


def _runs(root: Path) -> dict[str, object]:
    return {r.product_id: r for r in open_mesh(root).run().runs}


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_error_severity_stops_the_product_and_records_why(shop_data: Path) -> None:
    # make the status rule blocking: the batch holds 'lost' statuses
    _edit(
        shop_data,
        SILVER_CONTRACT,
        "            severity: quarantine\n            description: Orders in an",
        "            severity: error\n            description: Orders in an",
    )
    runs = _runs(shop_data)
    silver = runs[SILVER]
    assert silver.status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert "quality gate failed, nothing was committed: status_in_known_set" in silver.error  # type: ignore[attr-defined]
    assert runs["orders.daily_sales_summary"].status is RunStatus.SKIPPED  # type: ignore[attr-defined]
    assert runs["customers.customer_profiles"].status is RunStatus.SUCCEEDED  # type: ignore[attr-defined]
    mesh = open_mesh(shop_data)
    assert not mesh.lakehouse.exists(SILVER) and not mesh.lakehouse.exists(quarantine_id(SILVER))
    # the refused run's checks are in the catalog, tied to the run
    [run] = mesh.catalog.runs(SILVER)
    history = mesh.quality.history(SILVER, "status_in_known_set")
    assert run.status is RunStatus.FAILED and history[0].run_id == run.id
    assert history[0].status is CheckStatus.FAILED and (history[0].unexpected_count or 0) > 0


@pytest.mark.slow
def test_quarantine_and_warnings(shop_data: Path) -> None:
    runs = _runs(shop_data)
    silver, bronze = runs[SILVER], runs["orders.order_events"]
    assert silver.status is RunStatus.SUCCEEDED and silver.quarantined > 0  # type: ignore[attr-defined]
    # bronze keeps everything: its schema rules only warn
    assert bronze.quarantined == 0 and bronze.quality is not None  # type: ignore[attr-defined]
    warned = {r.name for r in bronze.quality.results if r.status.value == "warning"}  # type: ignore[attr-defined]
    assert {"status_in_known_set", "not_null(order_id)"} <= warned
    # repeated keys are what bronze keeps: not judged per batch, but `quality check` still finds them
    assert not any("unique" in r.name for r in bronze.quality.results)  # type: ignore[attr-defined]
    assert "primary key uniqueness" in bronze.details["not_gated"]  # type: ignore[attr-defined]
    mesh = open_mesh(shop_data)
    bronze_check = {r.type: r for r in mesh.quality.check("orders.order_events").results}
    assert bronze_check["expect_column_values_to_be_unique"].unexpected_count
    held = mesh.quality.quarantine(SILVER, limit=None)
    assert held.num_rows == silver.quarantined  # type: ignore[attr-defined]
    reasons = set(held.column("_quarantine_checks").to_pylist())
    assert reasons <= {"total_amount_in_range", "status_in_known_set", "total_amount_in_range,status_in_known_set"}
    assert set(held.column("_quarantine_run").to_pylist()) == {silver.run_id}  # type: ignore[attr-defined]
    # the published table passes its own contract now
    assert mesh.quality.check(SILVER).passed
    assert table_rows(mesh, f"SELECT count(*) AS n FROM {SILVER} WHERE status = 'lost' OR total_amount < 0") == [
        {"n": 0}
    ]


@pytest.mark.slow
def test_failed_commit_after_quarantine_does_not_quarantine_twice(
    shop_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_append = Lakehouse.append

    def failing_append(self: Lakehouse, product_id: str, *args: object, **kwargs: object) -> object:
        if product_id == SILVER:  # the product's first write fails after its quarantine was committed
            raise LakehouseError("disk full (injected)")
        return real_append(self, product_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Lakehouse, "append", failing_append)
    first = _runs(shop_data)[SILVER]
    assert first.status is RunStatus.FAILED and "injected" in first.error  # type: ignore[attr-defined]
    held_before = open_mesh(shop_data).quality.quarantine(SILVER, limit=None).num_rows
    assert held_before > 0
    monkeypatch.setattr(Lakehouse, "append", real_append)
    again = _runs(shop_data)[SILVER]
    assert again.status is RunStatus.SUCCEEDED and again.quarantined == 0  # type: ignore[attr-defined]
    mesh = open_mesh(shop_data)
    assert mesh.quality.quarantine(SILVER, limit=None).num_rows == held_before
    assert all_orders(mesh) == 2000


@pytest.mark.slow
def test_reprocess_after_a_contract_fix(shop_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_mesh(shop_data).run().ok
    mesh = open_mesh(shop_data)
    held = mesh.quality.quarantine(SILVER, limit=None).to_pylist()
    lost = {r["order_id"] for r in held if r["_quarantine_checks"] == "status_in_known_set"}
    negative = {r["order_id"] for r in held if "total_amount_in_range" in r["_quarantine_checks"]}
    assert lost and negative
    # the fix: 'lost' becomes a known status
    _edit(
        shop_data,
        SILVER_CONTRACT,
        "validValues: [created, paid, shipped, delivered, cancelled]",
        "validValues: [created, paid, shipped, delivered, cancelled, lost]",
    )
    # a crash between releasing rows and rewriting the quarantine...
    real_replace = Lakehouse.replace

    def failing_replace(self: Lakehouse, product_id: str, *args: object, **kwargs: object) -> object:
        if product_id == quarantine_id(SILVER):
            raise LakehouseError("killed (injected)")
        return real_replace(self, product_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Lakehouse, "replace", failing_replace)
    with pytest.raises(LakemeshError, match="injected"):
        open_mesh(shop_data).quality.reprocess(SILVER)
    version_after_release = open_mesh(shop_data).lakehouse.version(SILVER)
    monkeypatch.setattr(Lakehouse, "replace", real_replace)
    # ...and the rerun only finishes the quarantine: the rows are not released twice
    result = open_mesh(shop_data).quality.reprocess(SILVER)
    mesh = open_mesh(shop_data)
    assert mesh.lakehouse.version(SILVER) == version_after_release
    assert result.released == len(lost) and result.still_quarantined == len(negative)
    published = {r["order_id"] for r in table_rows(mesh, f"SELECT order_id FROM {SILVER} WHERE status = 'lost'")}
    assert published == lost
    assert held_orders(mesh) == negative and all_orders(mesh) == 2000
    # nothing more to release; the audit log says who did it
    assert open_mesh(shop_data).quality.reprocess(SILVER).released == 0
    assert [a for a in _audit(mesh) if a["action"] == "quarantine.reprocess"]


def _audit(mesh: object) -> list[dict[str, object]]:
    from sqlalchemy import select

    from lakemesh.catalog import tables as t

    with mesh.catalog.engine.connect() as conn:  # type: ignore[attr-defined]
        return [dict(r) for r in conn.execute(select(t.audit_log)).mappings()]


@pytest.mark.slow
def test_bronze_quarantine_is_written_once_per_source_file(shop_data: Path) -> None:
    contract = "domains/orders/products/order_events/contract.yaml"
    _edit(
        shop_data,
        contract,
        "            severity: warning\n            description: Status must",
        "            severity: quarantine\n            description: Status must",
    )
    first = _runs(shop_data)["orders.order_events"]
    assert first.quarantined > 0  # type: ignore[attr-defined]
    write_order_events(shop_data / EVENTS / "events-0002.jsonl", 1000, start=4000)
    second = _runs(shop_data)["orders.order_events"]
    mesh = open_mesh(shop_data)
    held = mesh.quality.quarantine("orders.order_events", limit=None)
    files = held.column("_source_file").cast("string").to_pylist()
    assert held.num_rows == first.quarantined + second.quarantined  # type: ignore[attr-defined]
    assert files.count("data/order_events/events-0001.jsonl") == first.quarantined  # type: ignore[attr-defined]
    # nothing of a quarantined record is lost: its raw payload travels with it
    assert all(held.column("_raw").to_pylist())


@pytest.mark.slow
def test_table_statistics_are_not_judged_on_an_increment(shop_data: Path) -> None:
    # a row-count floor the whole table meets but a later batch of 1000 events does not
    _edit(shop_data, SILVER_CONTRACT, "kwargs: {min_value: 1}", "kwargs: {min_value: 1500}")
    first = _runs(shop_data)[SILVER]
    assert first.status is RunStatus.SUCCEEDED  # type: ignore[attr-defined]
    judged = {r.name for r in first.quality.results}  # type: ignore[attr-defined]
    assert "orders_not_empty" in judged  # the first build is the whole table: judged
    write_order_events(shop_data / EVENTS / "events-0002.jsonl", 1000, start=4000)
    second = _runs(shop_data)[SILVER]
    assert second.status is RunStatus.SUCCEEDED  # type: ignore[attr-defined]
    skipped = dict(second.quality.unsupported)  # type: ignore[attr-defined]
    assert "orders_not_empty" in skipped and "quality check" in skipped["orders_not_empty"]
    assert "mean_order_value_plausible" in skipped
    # the table as a whole still meets it
    report = open_mesh(shop_data).quality.check(SILVER)
    assert {r.name: r.ok for r in report.results}["orders_not_empty"]
