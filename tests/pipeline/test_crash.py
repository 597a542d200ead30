"""Killed with SIGKILL at any point, a rerun neither loses nor duplicates rows (real process kills)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakemesh.synthetic import write_customers, write_order_events
from tests.pipeline.conftest import EVENTS, open_mesh, table_rows

CHECKS = {
    "bronze": "SELECT _source_file, count(*) AS n, count(DISTINCT _record) AS records FROM orders.order_events "
    "GROUP BY 1 ORDER BY 1",
    "silver": "SELECT order_id, customer_id, status, total_amount, updated_at FROM orders.analytics_orders ORDER BY 1",
    "gold": "SELECT * FROM orders.daily_sales_summary ORDER BY 1",
    "customers": "SELECT count(*) AS n FROM customers.customer_profiles",
}


def _results(root: Path) -> dict[str, list[dict[str, object]]]:
    mesh = open_mesh(root)
    out = {name: table_rows(mesh, sql) for name, sql in CHECKS.items()}
    # rows the silver gate quarantined: each exactly once, whatever the kill interrupted
    held = mesh.quality.quarantine("orders.analytics_orders", limit=None).select(["order_id", "_quarantine_checks"])
    out["quarantine"] = sorted(held.to_pylist(), key=lambda r: (str(r["order_id"]), str(r["_quarantine_checks"])))
    return out


@pytest.mark.slow
def test_kill_9_at_any_point_then_rerun(shop: Path, tmp_path: Path) -> None:
    write_order_events(shop / EVENTS / "e1.jsonl", 300_000)
    write_order_events(shop / EVENTS / "e2.jsonl", 100_000, start=500_000)
    write_customers(shop / "data/customers/c.csv", 1000)
    reference = tmp_path / "reference"
    shutil.copytree(shop, reference)
    assert open_mesh(reference).run().ok
    expected = _results(reference)
    interrupted = 0
    # the killed runs write bronze's 400k rows with the parallel writer, the reruns with delta-rs
    parallel = {**os.environ, "LAKEMESH_PARALLEL_WRITE_MIN_ROWS": "100000"}
    # kills at moments in time (mid-read, mid-write), and right after a given table's first commit
    scenarios: list[float | str] = [
        1.2,
        1.7,
        2.2,
        "orders/order_events",
        "orders/analytics_orders__quarantine",  # after the quarantine's commit, before the product's
        "orders/analytics_orders",
    ]
    for i, when in enumerate(scenarios):
        work = tmp_path / f"killed-{i}"
        shutil.copytree(shop, work)
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakemesh.cli.main", "-w", str(work), "run", "--all"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=parallel,
        )
        _wait(when, work / "lakehouse", proc)
        if proc.poll() is None:
            interrupted += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if isinstance(when, str):  # the kill landed between that commit and the next product's
            assert (work / "lakehouse" / when / "_delta_log").is_dir()
        report = open_mesh(work).run()
        assert report.ok, [r.error for r in report.runs]
        assert _results(work) == expected, f"after a kill at {when}"
    # the kills must have caught runs in progress, or this test proves nothing
    assert interrupted >= 5


def _wait(when: float | str, lakehouse: Path, proc: subprocess.Popen[bytes]) -> None:
    if isinstance(when, float):
        time.sleep(when)
        return
    commit = lakehouse / when / "_delta_log" / "00000000000000000000.json"
    deadline = time.monotonic() + 60
    while not commit.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
