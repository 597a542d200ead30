"""`lakemesh cdc ...` from the command line, against the session's PostgreSQL server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakemesh.cdc.capture import CaptureReport, CdcStatus
from lakemesh.cdc.events import parse_lsn
from tests.cdc.conftest import sql, write_workspace
from tests.cli.test_cli import run

pytestmark = pytest.mark.postgres


def test_run_once_status_and_apply(tmp_path: Path, source_db: str) -> None:
    root = str(write_workspace(tmp_path / "ws", source_db, deletes="hard"))
    code, out = run("-w", root, "cdc", "run", "sales.order_changes", "--once")
    assert code == 0 and "100 snapshot rows" in out and "sales.orders" in out and "succeeded" in out
    before = _current_lsn(source_db)  # WAL is the server's: other tests write to it too, so no "lag 0"
    sql(source_db, "UPDATE orders SET status = 'paid' WHERE id <= 20")
    code, out = run("-w", root, "cdc", "run", "sales.order_changes", "--once")
    assert code == 0 and "20 changes" in out
    code, out = run("-w", root, "cdc", "status", "sales.order_changes", "--json")
    status = json.loads(out)
    assert code == 0 and parse_lsn(status["slot_state"]["confirmed_lsn"]) > before  # past our change
    assert status["last_run"]["events"] == 20
    assert CdcStatus.model_validate(status).last_run is not None  # the JSON reads back as the typed status
    code, out = run("-w", root, "cdc", "run", "sales.order_changes", "--once", "--json")
    assert code == 0 and CaptureReport.model_validate_json(out).events == 0  # nothing new: one JSON document
    code, out = run("-w", root, "cdc", "status", "sales.order_changes")
    assert code == 0 and re.search(r"lag \d+ bytes", out) and "snapshot done: True" in out
    code, out = run("-w", root, "query", "SELECT count(*) AS n FROM sales.orders WHERE status = 'paid'")
    assert code == 0 and "20" in out
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps({"op": "d", "before": {"id": 1}, "after": None, "source": {"lsn": 1}}) + "\n")
    code, out = run("-w", root, "cdc", "apply", "sales.order_changes", "--from", str(events))
    assert code == 0 and "1 events appended" in out
    code, out = run("-w", root, "cdc", "apply", "sales.order_changes", "--from", str(events))
    assert code == 0 and "applied before" in out


def _current_lsn(url: str) -> int:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            row = cur.fetchone()
            assert row is not None
            return parse_lsn(row[0])
    finally:
        conn.close()
