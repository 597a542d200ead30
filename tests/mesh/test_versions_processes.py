"""Mesh versions under real processes: a writer killed with SIGKILL at random points while a reader
loops, and two writers at once. The reader's invariant (gold counts exactly silver's orders) holds only
when both tables come from the same run: a torn read breaks it."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings

BRONZE, SILVER, GOLD = "orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"
BOTH = f"SELECT (SELECT count(*) FROM {SILVER}) AS silver, (SELECT sum(orders_count) FROM {GOLD}) AS gold"

# runs that change bronze, silver and gold, forever (or `runs` times): each adds a new file of events,
# written under a temporary name and renamed, so a kill never leaves half a file for the next run
WRITER = """
import os, sys, time
from pathlib import Path
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_order_events
root, name, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
mesh = Mesh.open(root, Settings(user=name + "@company.com", lock_wait=120))
done = 0
while runs == 0 or done < runs:
    stamp = time.time_ns()
    tmp = root / "data/order_events" / f".{name}-{stamp}.tmp"
    write_order_events(tmp, 40, start=stamp % 10**9)
    tmp.rename(root / "data/order_events" / f"{name}-{stamp}.jsonl")
    print("start", flush=True)
    report = mesh.run(["orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"])
    assert report.ok, [r.error for r in report.runs]
    done += 1
    print("run", done, flush=True)
"""

# queries through lakemesh until told to stop; prints every torn read it sees, then how many reads
READER = """
import sys
from pathlib import Path
from lakemesh.mesh import Mesh
root, stop = Path(sys.argv[1]), Path(sys.argv[2])
reads = torn = 0
while not stop.exists():
    with Mesh.open(root) as mesh:
        row = mesh.query(sys.argv[3]).to_pylist()[0]
    reads += 1
    if int(row["silver"]) != int(row["gold"]):
        torn += 1
        print("torn", row, flush=True)
print("reads", reads, "torn", torn, flush=True)
"""


def _start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _stop_reader(reader: subprocess.Popen[str], stop: Path) -> tuple[int, list[str]]:
    stop.touch()
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    lines = out.splitlines()
    assert lines and lines[-1].startswith("reads"), out
    return int(lines[-1].split()[1]), [line for line in lines if line.startswith("torn")]


def _check_consistent(root: Path) -> None:
    """Nothing lost: every events file is in bronze, gold counts silver, and the latest mesh version
    holds every table's newest version."""
    with Mesh.open(root, Settings(user="check@company.com")) as mesh:
        row = mesh.query(BOTH).to_pylist()[0]
        assert int(row["silver"]) == int(row["gold"])
        files = {p.name for p in (root / "data/order_events").glob("*.jsonl")}
        ingested = mesh.query(f"SELECT DISTINCT _source_file AS f FROM {BRONZE}").column("f").to_pylist()
        assert {Path(f).name for f in ingested} == files
        assert mesh.versions.current().tables == mesh.lakehouse.current_versions(sorted(mesh.workspace.products))
        _check_monotonic(mesh)


def _check_monotonic(mesh: Mesh) -> None:
    """No mesh version moves a table backwards: no publication was lost or applied out of order."""
    newest: dict[str, int] = {}
    for record in reversed(mesh.versions.history(None)):
        for pid, version in record.tables.items():
            assert version > newest.get(pid, -1), (record.id, pid, version, newest.get(pid))
            newest[pid] = version


@pytest.mark.slow
def test_kill_9_writers_never_show_a_reader_a_torn_mesh(built_shop: Path, tmp_path: Path) -> None:
    rng = random.Random(16)
    stop = tmp_path / "stop"
    reader = _start(READER, str(built_shop), str(stop), BOTH)
    kills = finished = mid_run = 0
    for _ in range(10):
        writer = _start(WRITER, str(built_shop), "killed", "0")
        time.sleep(rng.uniform(3.0, 8.0))  # start-up and a first run take 2-4 s beside the reader, runs ~1 s
        if writer.poll() is None:
            writer.send_signal(signal.SIGKILL)
            kills += 1
        out, _ = writer.communicate(timeout=60)
        finished += out.count("run ")
        mid_run += out.rstrip().endswith("start")  # killed inside a run, not in start-up
    reads, torn = _stop_reader(reader, stop)
    assert torn == [], torn
    # the kills must have caught runs in progress, and runs must have completed between them
    assert kills == 10 and mid_run >= 3 and finished >= 2 and reads >= 20, (kills, mid_run, finished, reads)
    # the rerun after the last kill finishes (rolls forward) what was interrupted, and loses nothing
    rerun = _start(WRITER, str(built_shop), "rerun", "1")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    _check_consistent(built_shop)


@pytest.mark.slow
def test_two_writers_at_once_neither_tear_nor_lose_a_mesh_version(built_shop: Path, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    reader = _start(READER, str(built_shop), str(stop), BOTH)
    before = len(Mesh.open(built_shop).versions.history(None))
    writers = [_start(WRITER, str(built_shop), name, "3") for name in ("ann", "bob")]
    for writer in writers:
        _, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err
    reads, torn = _stop_reader(reader, stop)
    assert torn == [] and reads > 0
    _check_consistent(built_shop)
    with Mesh.open(built_shop) as mesh:
        published = mesh.versions.history(None)[: len(mesh.versions.history(None)) - before]
        # a run that finds the other writer's file already ingested changes nothing and publishes nothing;
        # every other run moved bronze, silver and gold together, in one mesh version
        assert 3 <= len(published) <= 6 and all({BRONZE, SILVER, GOLD} <= set(r.tables) for r in published)
