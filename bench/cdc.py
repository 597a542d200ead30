"""Change data capture throughput against `pg_recvlogical`, on the same changes of a real PostgreSQL server.

1,000,000 inserts in one transaction, then 200,000 updates and 100,000 deletes in batches of 10,000.
Two slots see the same changes:
- anchor: `pg_recvlogical` with `test_decoding`, draining its slot to a file (`--endpos`);
- lakemesh: `lakemesh cdc run --once` equivalent (pgoutput, Debezium events, exactly-once commits to the
  bronze Delta table), then the silver product applying those events by MERGE (hard deletes).
Each side runs in its own process, so each reports its own peak memory.
Targets from the issue: bronze >= 50% of the anchor's events/s; silver >= 50,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from bench.processes import child_json, peak_mb

ROOT = Path(__file__).resolve().parents[1]
BRONZE, SILVER = "sales.order_changes", "sales.orders"


def _child(*args: str) -> dict[str, float]:
    return {k: float(v) for k, v in child_json("bench.cdc", *args).items()}  # type: ignore[arg-type]


def _sql(url: str, *statements: str) -> None:
    from tests.cdc.conftest import sql

    sql(url, *statements)


def _scalar(url: str, query: str) -> object:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute(query)
        value = cur.fetchone()[0]  # type: ignore[index]
    conn.close()
    return value


def step_bronze(work: Path) -> dict[str, float]:
    from lakemesh.mesh import Mesh

    started = time.perf_counter()
    report = Mesh.open(work / "ws").streams.capture(BRONZE)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": report.events, "peak_mb": peak_mb()}


def step_silver(work: Path) -> dict[str, float]:
    from lakemesh.mesh import Mesh

    started = time.perf_counter()
    report = Mesh.open(work / "ws").run([SILVER])
    seconds = time.perf_counter() - started
    run = report.runs[0]
    assert run.error is None, run.error
    return {"seconds": seconds, "events": run.rows_read, "rows": run.rows_written, "peak_mb": peak_mb()}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inserts", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=200_000)
    parser.add_argument("--deletes", type=int, default=100_000)
    parser.add_argument("--step", choices=["bronze", "silver"])
    parser.add_argument("--work")
    args = parser.parse_args(argv)
    if args.step:
        step = step_bronze if args.step == "bronze" else step_silver
        print(json.dumps(step(Path(args.work))))
        return {}
    from tests.cdc.conftest import write_workspace
    from tests.pg_server import PostgresServer

    server = PostgresServer()
    server.start()
    results: dict[str, dict[str, float]] = {}
    try:
        url = server.url("postgres")
        _sql(url, "CREATE DATABASE bench")
        db = server.url("bench")
        _sql(
            db,
            "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12, 2), status text, "
            "note text, placed_at timestamp)",
        )
        with tempfile.TemporaryDirectory(prefix="lakemesh-bench-cdc-") as tmp:
            work = Path(tmp)
            write_workspace(work / "ws", db, deletes="hard", snapshot="never")
            _child("--step", "bronze", "--work", tmp)  # creates the slot (and the empty bronze table)
            _child("--step", "silver", "--work", tmp)  # an (empty) silver table: the measured step MERGEs
            _sql(db, "SELECT pg_create_logical_replication_slot('anchor', 'test_decoding')")
            total = args.inserts + args.updates + args.deletes
            print(f"cdc: {args.inserts:,} inserts in one transaction, {args.updates:,} updates and "
                  f"{args.deletes:,} deletes in batches of 10,000 ({total:,} changes)", flush=True)  # fmt: skip
            _sql(
                db,
                "INSERT INTO orders SELECT i, 'C' || i % 5000, round((i % 99999) / 7.0, 2), 'new', NULL, "
                f"TIMESTAMP '2026-01-01' + i * interval '1 second' FROM generate_series(1, {args.inserts}) i",
            )
            for start in range(1, args.updates + 1, 10_000):
                _sql(db, f"UPDATE orders SET status = 'paid', amount = amount + 1 "
                         f"WHERE id BETWEEN {start} AND {start + 9_999}")  # fmt: skip
            for start in range(args.inserts - args.deletes + 1, args.inserts + 1, 10_000):
                _sql(db, f"DELETE FROM orders WHERE id BETWEEN {start} AND {start + 9_999}")
            # the test server commits asynchronously: flush the WAL, or pg_recvlogical's --endpos can stop
            # before the last transactions are decoded (it did: 18 events short)
            _sql(db, "SET synchronous_commit = on", "CREATE TABLE bench_flushed (x int)")
            end = str(_scalar(db, "SELECT pg_current_wal_lsn()::text"))
            recv = server.bin / "pg_recvlogical"
            out = work / "anchor.txt"
            started = time.perf_counter()
            subprocess.run(
                [str(recv), "-d", db, "--slot", "anchor", "--start", "--endpos", end, "-f", str(out), "--no-loop"],
                check=True,
                capture_output=True,
            )
            anchor_seconds = time.perf_counter() - started
            with out.open("rb") as f:
                anchor_events = sum(1 for line in f if line.startswith(b"table public.orders:"))
            results["anchor"] = {"seconds": anchor_seconds, "events": anchor_events}
            results["bronze"] = _child("--step", "bronze", "--work", tmp)
            results["silver"] = _child("--step", "silver", "--work", tmp)
            remaining = int(_scalar(db, "SELECT count(*) FROM orders"))  # type: ignore[call-overload]
    finally:
        server.stop()
    _report(results, total, remaining)
    return results


def _report(results: dict[str, dict[str, float]], total: int, remaining: int) -> None:
    anchor, bronze, silver = results["anchor"], results["bronze"], results["silver"]
    a_rate = anchor["events"] / anchor["seconds"]
    b_rate = bronze["events"] / bronze["seconds"]
    s_rate = silver["events"] / silver["seconds"]
    print(f"  pg_recvlogical (test_decoding) to a file: {anchor['events']:,.0f} events in {anchor['seconds']:.2f} s "
          f"= {a_rate:,.0f} events/s")  # fmt: skip
    print(f"  lakemesh into bronze (pgoutput, Debezium events, Delta commits): {bronze['events']:,.0f} events in "
          f"{bronze['seconds']:.2f} s = {b_rate:,.0f} events/s ({b_rate / a_rate:.0%} of the anchor, target >= 50%), "
          f"peak {bronze['peak_mb']:,.0f} MiB")  # fmt: skip
    print(f"  lakemesh bronze -> silver (fold per key, MERGE): {silver['events']:,.0f} events in "
          f"{silver['seconds']:.2f} s = {s_rate:,.0f} events/s (target >= 50,000), "
          f"peak {silver['peak_mb']:,.0f} MiB")  # fmt: skip
    if anchor["events"] != total or bronze["events"] != total:
        raise SystemExit(f"event counts differ: {total} changes, anchor {anchor['events']}, bronze {bronze['events']}")
    print(f"  every change arrived once on both sides ({total:,}); the merge touched {silver['rows']:,.0f} keys; "
          f"the source holds {remaining:,} rows")  # fmt: skip


if __name__ == "__main__":
    main()
