"""PostgreSQL changes into bronze and silver through a real server's logical replication."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from lakemesh.cdc.postgres import CdcError
from tests.cdc.conftest import open_mesh, sql, write_workspace

pytestmark = pytest.mark.postgres
BRONZE, SILVER = "sales.order_changes", "sales.orders"


def source_rows(url: str) -> dict[int, tuple[object, ...]]:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT id, customer, amount, status, note, placed_at FROM orders")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    conn.close()
    return rows


def silver_rows(root: Path, soft: bool = False) -> dict[int, tuple[object, ...]]:
    where = " WHERE deleted_at IS NULL" if soft else ""  # soft-deleted rows are not live
    table = open_mesh(root).query(f"SELECT id, customer, amount, status, note, placed_at FROM {SILVER}{where}")
    return {r["id"]: (r["customer"], r["amount"], r["status"], r["note"], r["placed_at"]) for r in table.to_pylist()}


def test_snapshot_then_changes_with_soft_deletes_and_toast(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="soft")
    first = open_mesh(root).run()
    assert first.ok, [r.error for r in first.runs]
    assert first.runs[0].details["snapshot_rows"] == 100
    assert silver_rows(root, soft=True) == source_rows(source_db)
    # a large (TOASTed) note, then changes that leave it alone: it must survive, never become NULL
    big = "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 2000))"  # 64 kB, incompressible
    sql(
        source_db,
        f"UPDATE orders SET note = {big}, amount = 1234567890.12 WHERE id <= 10",
        "DELETE FROM orders WHERE id > 95",
        "INSERT INTO orders VALUES (200, 'C9', 9.99, 'new', 'hi', '2026-02-01 10:00:00.123456')",
    )
    assert open_mesh(root).run().ok
    sql(source_db, "UPDATE orders SET status = 'shipped' WHERE id <= 5")  # note not sent: unchanged TOAST
    assert open_mesh(root).run().ok
    assert silver_rows(root, soft=True) == source_rows(source_db)
    mesh = open_mesh(root)
    [row] = mesh.query(f"SELECT amount, note, status FROM {SILVER} WHERE id = 3").to_pylist()
    assert row["amount"] == Decimal("1234567890.12") and row["status"] == "shipped"  # exact, not a float
    assert len(row["note"]) == 64_000 and row["note"] == source_rows(source_db)[3][3]
    deleted = mesh.query(f"SELECT id FROM {SILVER} WHERE deleted_at IS NOT NULL ORDER BY id").to_pylist()
    assert [r["id"] for r in deleted] == [96, 97, 98, 99, 100]
    # bronze keeps every event, each once, in the Debezium envelope's terms
    ops = {r["op"]: r["n"] for r in mesh.query(f"SELECT op, count(*) AS n FROM {BRONZE} GROUP BY 1").to_pylist()}
    assert ops == {"r": 100, "u": 15, "d": 5, "c": 1}
    [update] = mesh.query(
        f"SELECT before, after, unchanged FROM {BRONZE} WHERE op = 'u' AND unchanged IS NOT NULL LIMIT 1"
    ).to_pylist()
    assert update["unchanged"] == ",note," and "note" not in json.loads(update["after"])
    [delete] = mesh.query(f"SELECT before FROM {BRONZE} WHERE op = 'd' LIMIT 1").to_pylist()
    assert set(json.loads(delete["before"])) == {"id"}  # a key-only old image: no fake NULLs


def test_hard_deletes_and_a_second_drain_that_finds_nothing(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    assert open_mesh(root).run().ok
    sql(source_db, "DELETE FROM orders WHERE id % 2 = 0", "UPDATE orders SET customer = NULL WHERE id = 1")
    assert open_mesh(root).run().ok
    assert silver_rows(root) == source_rows(source_db)
    again = open_mesh(root).run()
    assert {r.status.value for r in again.runs} == {"up_to_date"}
    status = open_mesh(root).streams.status(BRONZE)
    assert status.slot_state is not None and status.snapshot_done
    assert status.slot_state.lag_bytes == 0  # acknowledged: no WAL held back


def test_a_killed_reader_loses_and_repeats_nothing(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    product = root / "domains/sales/products/order_changes/product.yaml"
    product.write_text(product.read_text().replace("batchSize: 50000", "batchSize: 20000"))
    assert open_mesh(root).run().ok
    # one big transaction: the reader commits to bronze mid-transaction, then dies
    sql(source_db, "INSERT INTO orders SELECT i, 'C', i, 'bulk', NULL, now() FROM generate_series(1000, 200999) i")
    sql(source_db, "UPDATE orders SET status = 'after' WHERE id < 50")
    delta_log = root / "lakehouse/sales/order_changes/_delta_log"
    before = len(list(delta_log.glob("*.json")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lakemesh.cli.main", "-w", str(root), "cdc", "run", BRONZE, "--once", "--no-apply"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(list(delta_log.glob("*.json"))) < before + 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert killed and len(list(delta_log.glob("*.json"))) >= before + 2  # died inside the transaction
    rerun = open_mesh(root).streams.capture(BRONZE)
    assert rerun.skipped >= 20000  # the slot sent the whole transaction again; what bronze had was skipped
    mesh = open_mesh(root)
    [counts] = mesh.query(
        f"SELECT count(*) AS n, count(DISTINCT (source_commit_lsn, source_seq)) AS distinct_positions "
        f"FROM {BRONZE} WHERE op <> 'r'"
    ).to_pylist()
    assert counts["n"] == counts["distinct_positions"] == 200_000 + 49
    assert open_mesh(root).run([SILVER]).ok
    assert silver_rows(root) == source_rows(source_db)


def test_schema_change_pauses_until_the_contract_allows_it(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    assert open_mesh(root).run().ok
    sql(source_db, "ALTER TABLE orders ADD COLUMN coupon text", "UPDATE orders SET coupon = 'X' WHERE id = 1")
    with pytest.raises(CdcError, match="coupon") as info:
        open_mesh(root).streams.capture(BRONZE)
    assert "add the column" in (info.value.hint or "")
    column = "      - {name: coupon, logicalType: string, physicalType: VARCHAR}\n"
    for name in ("order_changes", "orders"):
        contract = root / f"domains/sales/products/{name}/contract.yaml"
        contract.write_text(contract.read_text() + column)
    assert open_mesh(root).run().ok
    [row] = open_mesh(root).query(f"SELECT coupon, status FROM {SILVER} WHERE id = 1").to_pylist()
    assert row == {"coupon": "X", "status": "new"}


def test_bad_sources_are_clear_errors(tmp_path: Path, source_db: str) -> None:
    sql(source_db, "CREATE TABLE nokey (a int, b text)", "CREATE ROLE reader LOGIN")
    root = write_workspace(tmp_path / "ws", source_db)
    product = root / "domains/sales/products/order_changes/product.yaml"
    text = product.read_text()
    product.write_text(text.replace("tables: [public.orders]", "tables: [public.nokey]"))
    with pytest.raises(CdcError, match="no primary key or replica identity") as info:
        open_mesh(root).streams.capture(BRONZE)
    assert "REPLICA IDENTITY FULL" in (info.value.hint or "")
    product.write_text(text.replace("lakemesh@", "reader@"))
    with pytest.raises(CdcError, match="may not start replication") as info:
        open_mesh(root).streams.capture(BRONZE)
    assert "WITH REPLICATION" in (info.value.hint or "")
    product.write_text(text.replace("tables: [public.orders]", "tables: [public.nope]"))
    with pytest.raises(CdcError, match="does not exist"):
        open_mesh(root).streams.capture(BRONZE)


def test_a_dropped_slot_is_reported_and_reset_resnapshots(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    assert open_mesh(root).run().ok
    sql(
        source_db, "SELECT pg_drop_replication_slot('lakemesh_sales_order_changes')", "DELETE FROM orders WHERE id < 10"
    )
    with pytest.raises(CdcError, match="is gone") as info:
        open_mesh(root).streams.capture(BRONZE)
    assert "cdc reset" in (info.value.hint or "")
    open_mesh(root).streams.reset(BRONZE)
    report = open_mesh(root).streams.capture(BRONZE)
    assert report.snapshot_rows == 91
    # snapshot reads upsert; rows deleted while the slot was gone are stale in silver until a full rebuild
    assert open_mesh(root).run([SILVER]).ok
    live = silver_rows(root)
    assert {k: v for k, v in live.items() if k >= 10} == source_rows(source_db)


def test_debezium_files_are_applied_once(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard", snapshot="never")
    envelope = {
        "schema": {
            "type": "struct",
            "fields": [
                {
                    "field": "after",
                    "type": "struct",
                    "fields": [
                        {"field": "id", "type": "int32"},
                        {
                            "field": "amount",
                            "type": "bytes",
                            "name": "org.apache.kafka.connect.data.Decimal",
                            "parameters": {"scale": "2"},
                        },
                        {"field": "placed_at", "type": "int64", "name": "io.debezium.time.MicroTimestamp"},
                    ],
                }
            ],
        },
        "payload": {
            "before": None,
            "after": {
                "id": 7,
                "customer": "C7",
                "amount": "MDk=",
                "status": "new",
                "note": None,
                "placed_at": 1767225600123456,
            },
            "op": "c",
            "source": {"schema": "public", "table": "orders", "lsn": 100, "txId": 5, "ts_ms": 1},
            "ts_ms": 2,
        },
    }
    plain = {"before": {"id": 7}, "after": None, "op": "d", "source": {"lsn": 200, "table": "orders"}}
    update = {"before": None, "after": {"id": 8, "customer": "C8", "amount": "10.50", "status": "paid"}, "op": "u",
              "source": {"lsn": 150, "table": "orders"}}  # fmt: skip
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in (envelope, update)) + "\n")
    mesh = open_mesh(root)
    assert mesh.streams.apply_file(BRONZE, events.open(), "events.jsonl") == (2, False)
    assert mesh.streams.apply_file(BRONZE, events.open(), "events.jsonl") == (2, True)
    assert open_mesh(root).run([SILVER]).ok
    rows = {r["id"]: r for r in open_mesh(root).query(f"SELECT * FROM {SILVER}").to_pylist()}
    assert rows[7]["amount"] == Decimal("123.45")  # base64 of the unscaled 12345, scale 2
    assert rows[7]["placed_at"] == datetime(2026, 1, 1, 0, 0, 0, 123456)
    assert rows[8]["amount"] == Decimal("10.50")
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps(plain) + "\n")
    assert open_mesh(root).streams.apply_file(BRONZE, more.open(), "more.jsonl") == (1, False)
    assert open_mesh(root).run([SILVER]).ok
    assert sorted(r["id"] for r in open_mesh(root).query(f"SELECT id FROM {SILVER}").to_pylist()) == [8]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"op": "x"}\n')
    from lakemesh.cdc.events import EventError

    with pytest.raises(EventError, match=r"bad.jsonl:1: op must be one of"):
        open_mesh(root).streams.apply_file(BRONZE, bad.open(), "bad.jsonl")


def test_a_failed_snapshot_leaves_nothing_and_is_taken_again(
    tmp_path: Path, source_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakemesh.lakehouse import Lakehouse, LakehouseError

    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    real_append = Lakehouse.append

    def failing(self: Lakehouse, *args: object, **kwargs: object) -> object:
        raise LakehouseError("disk full (injected)")

    monkeypatch.setattr(Lakehouse, "append", failing)
    with pytest.raises(LakehouseError, match="injected"):
        open_mesh(root).streams.capture(BRONZE)
    monkeypatch.setattr(Lakehouse, "append", real_append)
    sql(source_db, "UPDATE orders SET status = 'paid' WHERE id <= 3")  # while the slot of the failed run waits
    report = open_mesh(root).streams.capture(BRONZE)
    assert report.snapshot_rows == 100 and report.events == 0  # a new slot and snapshot, which saw the update
    mesh = open_mesh(root)
    assert mesh.query(f"SELECT count(*) AS n FROM {BRONZE}").to_pylist() == [{"n": 100}]
    assert mesh.run([SILVER]).ok and silver_rows(root) == source_rows(source_db)


def test_a_server_without_logical_wal_is_a_clear_error(tmp_path: Path) -> None:
    from tests.pg_server import PostgresServer

    server = PostgresServer(wal_level="replica")
    server.start()
    try:
        sql(server.url("postgres"), "CREATE TABLE orders (id int PRIMARY KEY)")
        root = write_workspace(tmp_path / "ws", server.url("postgres"))
        with pytest.raises(CdcError, match="wal_level is 'replica'") as info:
            open_mesh(root).streams.capture(BRONZE)
        assert "ALTER SYSTEM SET wal_level = logical" in (info.value.hint or "")
    finally:
        server.stop()


def test_a_lost_connection_is_an_error_and_the_next_run_resumes(
    tmp_path: Path, source_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakemesh.cdc import postgres

    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    product = root / "domains/sales/products/order_changes/product.yaml"
    product.write_text(product.read_text().replace("batchSize: 50000", "batchSize: 1000"))
    assert open_mesh(root).run().ok
    sql(source_db, "UPDATE orders SET status = 'x' WHERE id <= 50", "UPDATE orders SET status = 'y' WHERE id <= 100")
    real_flush = postgres.Stream._flush

    def flush_then_cut(self: postgres.Stream, flush: postgres.Flush) -> None:
        real_flush(self, flush)  # the first batch is in bronze; then the server drops us
        sql(source_db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active")

    monkeypatch.setattr(postgres.Stream, "_flush", flush_then_cut)
    product.write_text(product.read_text().replace("batchSize: 1000", "batchSize: 50"))
    with pytest.raises(CdcError, match="connection was lost") as info:
        open_mesh(root).streams.capture(BRONZE)
    assert "resumes after the last committed LSN" in (info.value.hint or "")
    monkeypatch.setattr(postgres.Stream, "_flush", real_flush)
    report = open_mesh(root).streams.capture(BRONZE)
    assert report.events == 100  # 50 were in; the second transaction and nothing twice
    mesh = open_mesh(root)
    [counts] = mesh.query(
        f"SELECT count(*) AS n, count(DISTINCT (source_commit_lsn, source_seq)) AS d FROM {BRONZE} WHERE op = 'u'"
    ).to_pylist()
    assert counts == {"n": 150, "d": 150}
    assert mesh.run([SILVER]).ok and silver_rows(root) == source_rows(source_db)


def test_a_snapshot_that_dies_between_chunks_is_discarded_and_taken_again(
    tmp_path: Path, source_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakemesh.cdc import capture
    from lakemesh.lakehouse import Lakehouse, LakehouseError

    real_rows, real_append = capture.snapshot_rows, Lakehouse.append
    monkeypatch.setattr(capture, "snapshot_rows", lambda *a, **k: real_rows(*a, **{**k, "chunk": 30}))
    appended = []

    def second_chunk_fails(self: Lakehouse, product_id: str, *args: object, **kwargs: object) -> object:
        appended.append(product_id)
        if len(appended) == 2:
            raise LakehouseError("killed (injected)")
        return real_append(self, product_id, *args, **kwargs)  # type: ignore[arg-type]

    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    monkeypatch.setattr(Lakehouse, "append", second_chunk_fails)
    with pytest.raises(LakehouseError, match="injected"):
        open_mesh(root).streams.capture(BRONZE)
    assert open_mesh(root).query(f"SELECT count(*) AS n FROM {BRONZE}").to_pylist() == [{"n": 30}]  # one chunk in
    monkeypatch.setattr(Lakehouse, "append", real_append)
    report = open_mesh(root).streams.capture(BRONZE)
    assert report.snapshot_rows == 100
    mesh = open_mesh(root)
    assert mesh.query(f"SELECT count(*) AS n FROM {BRONZE} WHERE op = 'r'").to_pylist() == [{"n": 100}]
    assert mesh.run([SILVER]).ok and silver_rows(root) == source_rows(source_db)


def test_the_silver_gate_quarantines_bad_changes_and_keeps_the_row_as_it_was(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    contract = root / "domains/sales/products/orders/contract.yaml"
    contract.write_text(
        contract.read_text()
        + "    quality:\n      - name: amount_sane\n        type: custom\n        engine: great-expectations\n"
        "        implementation:\n          type: expect_column_values_to_be_between\n"
        "          kwargs: {column: amount, max_value: 1000}\n"
        "        severity: quarantine\n"
    )
    assert open_mesh(root).run().ok
    sql(source_db, "UPDATE orders SET amount = 5000 WHERE id = 1", "UPDATE orders SET amount = 7 WHERE id = 2")
    report = open_mesh(root).run()
    silver = {r.product_id: r for r in report.runs}[SILVER]
    assert report.ok and silver.quarantined == 1
    mesh = open_mesh(root)
    rows = {r["id"]: r["amount"] for r in mesh.query(f"SELECT id, amount FROM {SILVER} WHERE id <= 2").to_pylist()}
    assert rows == {1: Decimal("1.25"), 2: Decimal("7.00")}
    [held] = mesh.quality.quarantine(SILVER, limit=None).to_pylist()
    assert held["id"] == 1 and held["_quarantine_checks"] == "amount_sane" and "_row" not in held
