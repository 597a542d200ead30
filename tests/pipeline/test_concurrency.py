"""Writers of one lakehouse at once (real processes): each source file lands in bronze exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.catalog.lock import LockTimeoutError
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_order_events
from tests.pipeline.conftest import EVENTS, open_mesh, table_rows

PER_FILE = "SELECT _source_file AS f, count(*) AS n FROM orders.order_events GROUP BY 1 ORDER BY 1"
# a process that starts on a signal file, so the racers read the table at the same moment
RACER = """
import sys, time
from pathlib import Path
from lakemesh.mesh import Mesh
from lakemesh.pipeline.runner import PipelineRunner
mesh = Mesh.open(sys.argv[1])
print("ready", flush=True)
while not Path(sys.argv[2]).exists():
    time.sleep(0.001)
{body}
"""


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open())


def _files(shop: Path, n: int, rows: int = 3000, prefix: str = "race") -> dict[str, int]:
    """`n` new source files; what bronze must hold of each: all its rows, once."""
    for i in range(n):
        write_order_events(shop / EVENTS / f"{prefix}-{i}.jsonl", rows, start=i * rows)
    return {f"{EVENTS}/{prefix}-{i}.jsonl": _lines(shop / EVENTS / f"{prefix}-{i}.jsonl") for i in range(n)}


def _race(shop: Path, body: str, n: int, env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    go = shop / "go"
    script = RACER.format(body=textwrap.dedent(body))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(shop), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for _ in range(n)
    ]
    for p in procs:  # every racer has imported and opened the workspace: they start together
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    done = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _per_file(shop: Path) -> dict[str, int]:
    return {str(r["f"]): int(str(r["n"])) for r in table_rows(open_mesh(shop), PER_FILE)}


@pytest.mark.slow
def test_racing_bronze_writers_without_the_lock_take_each_file_once(shop: Path) -> None:
    """No lock at all (the runner used directly): the bronze commit itself refuses a file taken meanwhile."""
    expected = _files(shop, 3)
    body = """
    report = PipelineRunner(mesh.workspace, mesh.lakehouse).run(["orders.order_events"])
    assert report.ok, [r.error for r in report.runs]
    """
    for proc in _race(shop, body, 3):
        assert proc.returncode == 0, proc.stderr
    assert _per_file(shop) == expected


@pytest.mark.slow
def test_two_lakemesh_runs_at_once_ingest_each_file_once(shop: Path) -> None:
    expected = _files(shop, 2)
    body = """
    report = mesh.run(["orders.order_events", "orders.analytics_orders"])
    assert report.ok, [r.error for r in report.runs]
    """
    for proc in _race(shop, body, 2):
        assert proc.returncode == 0, proc.stderr
    assert _per_file(shop) == expected
    # a later run changes nothing: every file is held, once
    assert open_mesh(shop).run(["orders.order_events"]).ok
    assert _per_file(shop) == expected


def _holder(shop: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A process holding the writer lock until killed; returns once it holds it."""
    script = "import sys, time\nfrom lakemesh.mesh import Mesh\nmesh = Mesh.open(sys.argv[1])\n"
    script += "with mesh.writer_lock():\n    print('locked', flush=True)\n    time.sleep(600)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(shop)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _check_lock(shop: Path, settings: Settings, env: dict[str, str] | None = None) -> None:
    _files(shop, 1, rows=200, prefix="held")
    holder = _holder(shop, env)
    try:
        waiting = Mesh.open(shop, settings.model_copy(update={"lock_wait": 0.5}))
        notices: list[str] = []
        waiting.lock_notice = notices.append
        with pytest.raises(LockTimeoutError) as refused:
            waiting.run(["orders.order_events"])
        assert refused.value.hint and "--wait" in refused.value.hint
        assert notices and "waiting up to 0.5s for the writer lock held by" in notices[0]
        assert str(holder.pid) in notices[0] and str(holder.pid) in refused.value.message  # who holds it
        assert not waiting.lakehouse.exists("orders.order_events")  # refused before anything was written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the killed holder's lock died with it: the next writer goes ahead without waiting
    after = Mesh.open(shop, settings.model_copy(update={"lock_wait": 0}))
    assert after.run(["orders.order_events"]).ok
    assert sum(_per_file(shop).values()) == _lines(shop / EVENTS / "held-0.jsonl")


@pytest.mark.slow
def test_a_held_lock_refuses_with_its_holder_and_dies_with_a_killed_process(shop: Path) -> None:
    _check_lock(shop, Settings(user="tester@example.com"))


@pytest.mark.postgres
def test_the_lock_on_a_postgresql_catalog(shop: Path, postgres_url: str) -> None:
    env = {"LAKEMESH_CATALOG_URL": postgres_url}
    _check_lock(shop, Settings(user="tester@example.com", catalog_url=postgres_url), env)
    # and two runs at once on it: each file once
    expected = {**_per_file(shop), **_files(shop, 2)}
    body = """
    report = mesh.run(["orders.order_events"])
    assert report.ok, [r.error for r in report.runs]
    """
    for proc in _race(shop, body, 2, env):
        assert proc.returncode == 0, proc.stderr
    assert _per_file(shop) == expected


def test_the_lock_is_reentrant_within_a_process(shop: Path) -> None:
    _files(shop, 1, rows=100)
    mesh = Mesh.open(shop, Settings(user="tester@example.com", lock_wait=0))
    with mesh.writer_lock():
        assert mesh.run(["orders.order_events"]).ok  # would time out at once if it waited on itself


@pytest.mark.parametrize("writer", ["delta-rs", "parallel"])
def test_an_append_at_a_stale_version_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    """What bronze's exclusive commit rests on, for both writers: no commit on top of another one."""
    from lakemesh.lakehouse import ConcurrentWriteError, Lakehouse, parallel_writer

    if writer == "parallel":
        monkeypatch.setattr(parallel_writer, "MIN_ROWS", 1)
    lakehouse = Lakehouse(str(tmp_path / "lake"))
    rows = pa.table({"_source_file": ["a.jsonl"] * 3, "x": [1, 2, 3]})
    lakehouse.append_at("d.t", None, rows, {})
    with pytest.raises(ConcurrentWriteError):
        lakehouse.append_at("d.t", None, rows, {})  # someone created it first
    seen = lakehouse.version("d.t")
    lakehouse.append("d.t", rows, {}, {})  # another writer, after `seen` was read
    with pytest.raises(ConcurrentWriteError):
        lakehouse.append_at("d.t", seen, rows, {})
    assert lakehouse.table("d.t").to_pyarrow_table().num_rows == 6
    lakehouse.append_at("d.t", lakehouse.version("d.t"), rows, {})
    assert lakehouse.table("d.t").to_pyarrow_table().num_rows == 9
    assert (parallel_writer.METRICS in lakehouse.table("d.t").history(1)[0]) is (writer == "parallel")


@pytest.mark.slow
def test_dry_runs_do_not_wait_for_the_writer_lock(shop: Path) -> None:
    _files(shop, 1, rows=100)
    assert open_mesh(shop).run(["orders.order_events"]).ok
    holder = _holder(shop)
    try:
        mesh = Mesh.open(shop, Settings(user="tester@example.com", lock_wait=0))
        assert mesh.tables.vacuum("orders.order_events", retain_hours=0, dry_run=True, force=True) == []
        with pytest.raises(LockTimeoutError):
            mesh.tables.vacuum("orders.order_events", retain_hours=0, dry_run=False, force=True)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
