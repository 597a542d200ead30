"""Retention: rows past the contract's retention SLA are deleted and their files vacuumed; audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

SILVER = "orders.analytics_orders"
CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="dpo@company.com"))


@pytest.mark.slow
def test_dry_run_then_apply(shop: Path) -> None:
    write_order_events(shop / "data/order_events/e.jsonl", 3000)
    write_customers(shop / "data/customers/c.csv", 100)
    assert _open(shop).run().ok
    # orders are updated over October 2026: keep the ones updated in the last `days`
    newest = _open(shop).query(f"SELECT max(updated_at) AS m FROM {SILVER}").to_pylist()[0]["m"]
    days = (datetime.now(UTC).replace(tzinfo=None) - newest).days + 10
    path = shop / CONTRACT
    path.write_text(path.read_text().replace("  - property: retention\n    value: 7\n    unit: y\n",
                                             f"  - property: retention\n    value: {days}\n    unit: d\n"))  # fmt: skip
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    expected = (
        _open(shop)
        .query(f"SELECT count(*) AS n FROM {SILVER} WHERE updated_at < TIMESTAMP '{cutoff:%Y-%m-%d %H:%M:%S}'")
        .to_pylist()[0]["n"]
    )
    assert expected > 0
    before = _open(shop).query(f"SELECT count(*) AS n FROM {SILVER}").to_pylist()[0]["n"]
    results = {r.product_id: r for r in _open(shop).governance.retention(dry_run=True)}
    assert abs(results[SILVER].rows - expected) <= 5 and results[SILVER].files_removed == 0
    assert "no time column" in (results["customers.customer_records"].skipped or "")
    assert _open(shop).query(f"SELECT count(*) AS n FROM {SILVER}").to_pylist()[0]["n"] == before  # dry run
    code, out = run("-w", str(shop), "retention", "apply", SILVER)
    assert code == 0 and "deleted" in out
    mesh = _open(shop)
    left = mesh.query(f"SELECT count(*) AS n, min(updated_at) AS oldest FROM {SILVER}").to_pylist()[0]
    assert left["n"] < before and left["oldest"] >= cutoff - timedelta(minutes=5)
    # the files that held the deleted rows are gone, so time travel no longer reaches them
    live = set(mesh.lakehouse.table(SILVER).file_uris())
    on_disk = {str(p) for p in (shop / "lakehouse/orders/analytics_orders").glob("*.parquet")}
    assert {p.removeprefix("file://") for p in live} == on_disk
    from sqlalchemy import select

    from lakemesh.catalog import tables as t

    with mesh.catalog.engine.connect() as conn:
        audit = [
            dict(r) for r in conn.execute(select(t.audit_log).where(t.audit_log.c.action == "retention")).mappings()
        ]
    assert [a["target"] for a in audit] == [SILVER] and audit[0]["actor"]  # who: the CLI's user
    assert audit[0]["details"]["rows"] == before - left["n"]


def _two_rows(column: str, old: object, new: object, typ: pa.DataType) -> pa.Table:
    return pa.table({"id": ["old", "new"], column: pa.array([old, new], typ)})


def test_date_timestamp_and_zoned_timestamp_columns(shop: Path) -> None:
    """DATE, TIMESTAMP and TIMESTAMP WITH TIME ZONE time columns: the old row goes, the new one stays."""
    mesh = _open(shop)
    now = datetime.now(UTC)
    tables = {
        "customers.customer_profiles": _two_rows("signup_date", date(2001, 1, 1), now.date(), pa.date32()),
        SILVER: _two_rows("updated_at", datetime(2001, 1, 1), now.replace(tzinfo=None), pa.timestamp("us")),
        "orders.order_events": _two_rows("event_ts", datetime(2001, 1, 1, tzinfo=UTC), now, pa.timestamp("us", "UTC")),
    }
    for pid, data in tables.items():
        mesh.lakehouse.append(pid, data, {}, {})
    results = {r.product_id: r for r in mesh.governance.retention(list(tables))}
    for pid in tables:
        assert results[pid].error is None and results[pid].rows == 1, (pid, results[pid])
        left = pa.table(mesh.lakehouse.dataset(pid).to_table())
        assert left["id"].to_pylist() == ["new"], pid


def test_one_failing_product_does_not_stop_the_others(shop: Path) -> None:
    """A time column retention cannot compare is reported for its product; the rest are still applied."""
    mesh = _open(shop)
    profiles = _two_rows("signup_date", "2001-01-01", "x", pa.string())
    mesh.lakehouse.append("customers.customer_profiles", profiles, {}, {})
    orders = _two_rows("updated_at", datetime(2001, 1, 1), datetime.now(), pa.timestamp("us"))
    mesh.lakehouse.append(SILVER, orders, {}, {})
    code, out = run("-w", str(shop), "retention", "apply", "customers.customer_profiles", SILVER)
    assert code == 1
    assert "customers.customer_profiles" in out and "signup_date is string" in out
    assert mesh.lakehouse.dataset(SILVER).to_table()["id"].to_pylist() == ["new"]
    assert mesh.lakehouse.dataset("customers.customer_profiles").count_rows() == 2
