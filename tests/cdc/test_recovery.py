"""A `cdc` command killed (SIGKILL) between bronze's commit and silver's: the rerun finishes the work."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cdc.conftest import open_mesh, sql, write_workspace
from tests.cdc.test_capture import source_rows
from tests.cli.test_cli import run

pytestmark = pytest.mark.postgres
BRONZE, SILVER = "sales.order_changes", "sales.orders"

# The CLI with `module:Owner.function` wrapped so that the process kills itself (SIGKILL: no cleanup, no
# finally) as soon as the wrapped call returns, which is right after bronze's commit and before silver's.
KILLER = """
import functools, importlib, os, signal, sys
module, path = sys.argv[1].split(":")
*owners, name = path.split(".")
owner = importlib.import_module(module)
for part in owners:
    owner = getattr(owner, part)
real = getattr(owner, name)
@functools.wraps(real)
def killed_after(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(owner, name, killed_after)
sys.argv = ["lakemesh", *sys.argv[2:]]
from lakemesh.cli.main import main
main()
"""


def killed_after(target: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLER, target, *args], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def table(root: Path, product: str) -> list[dict[str, object]]:
    return open_mesh(root).query(f"SELECT * EXCLUDE (_ingested_at, _batch_id, ts_ms) FROM {product}").to_pylist()


def events_file(path: Path) -> Path:
    events = [
        {"op": "c", "after": {"id": 1, "customer": "A", "amount": "1.50", "status": "new"}, "source": {"lsn": 10}},
        {"op": "c", "after": {"id": 2, "customer": "B", "amount": "2.50", "status": "new"}, "source": {"lsn": 11}},
        {"op": "u", "after": {"id": 1, "customer": "A", "amount": "9.99", "status": "paid"}, "source": {"lsn": 12}},
        {"op": "d", "before": {"id": 2}, "source": {"lsn": 13}},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_cdc_apply_killed_after_bronze_is_finished_by_the_rerun(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard", snapshot="never")
    clean = Path(shutil.copytree(root, tmp_path / "clean"))
    events = str(events_file(tmp_path / "events.jsonl"))
    killed_after("lakemesh.mesh.streams:Streams.apply_file", "-w", str(root), "cdc", "apply", BRONZE, "--from", events)
    assert len(table(root, BRONZE)) == 4 and not open_mesh(root).lakehouse.exists(SILVER)  # in the window
    code, out = run("-w", str(root), "cdc", "apply", BRONZE, "--from", events)
    assert code == 0 and "in bronze already" in out and SILVER in out, out
    code, out = run("-w", str(clean), "cdc", "apply", BRONZE, "--from", events)
    assert code == 0
    query = f"SELECT * FROM {SILVER} ORDER BY id"
    assert open_mesh(root).query(query).to_pylist() == open_mesh(clean).query(query).to_pylist()
    assert [r["id"] for r in open_mesh(root).query(query).to_pylist()] == [1]
    code, out = run("-w", str(root), "cdc", "apply", BRONZE, "--from", events)  # now truly nothing to do
    assert code == 0 and "applied before; nothing to do" in out


def test_cdc_run_killed_after_bronze_is_finished_by_the_rerun(tmp_path: Path, source_db: str) -> None:
    root = str(write_workspace(tmp_path / "ws", source_db, deletes="hard"))
    code, _ = run("-w", root, "cdc", "run", BRONZE, "--once")
    assert code == 0
    sql(source_db, "UPDATE orders SET status = 'paid' WHERE id <= 30", "DELETE FROM orders WHERE id > 90")
    killed_after("lakemesh.cdc.capture:capture", "-w", root, "cdc", "run", BRONZE, "--once")
    mesh = open_mesh(Path(root))
    assert mesh.query(f"SELECT count(*) AS n FROM {BRONZE} WHERE op <> 'r'").to_pylist() == [{"n": 40}]
    assert mesh.query(f"SELECT count(*) AS n FROM {SILVER} WHERE status = 'paid'").to_pylist() == [{"n": 0}]
    code, out = run("-w", root, "cdc", "run", BRONZE, "--once")
    assert code == 0 and "0 changes" in out and SILVER in out, out
    rows = open_mesh(Path(root)).query(f"SELECT id, customer, amount, status, note, placed_at FROM {SILVER}")
    assert {r["id"]: tuple(r.values())[1:] for r in rows.to_pylist()} == source_rows(source_db)
