"""`lakemesh forget` on the example mesh built from 10M order events: time, bytes rewritten, bytes removed.

Setup: the shop mesh, with its order events (10M by default) and 50,000 customer records built through
`lakemesh run` (bronze, silver, gold). The subject is the customer with the most order events (about
twice the average). The tables are copied, so both sides start from the same state.

lakemesh: `Mesh.forget` end to end: find the products, count, delete in bronze, silver and quarantine,
recompute the gold days, purge each table's history, audit. Anchor, the floor a hand-written erasure
costs: the same DELETEs directly with delta-rs on the same tables, then a plain vacuum with no
retention; no recompute, no purge of the change feed or the log, so it leaves values behind.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.processes import ROOT, child_json, interleaved_best, peak_mb, warm_lakemesh

EXAMPLE = ROOT / "examples" / "shop"
TABLES = ("orders/order_events", "orders/analytics_orders", "customers/customer_records", "customers/customer_profiles")


def setup(work: Path, rows: int) -> None:
    from lakemesh.mesh import Mesh
    from lakemesh.synthetic import write_customers, write_order_events

    shutil.copytree(EXAMPLE, work / "shop", ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    write_order_events(work / "shop/data/order_events/events.parquet", rows, "parquet")
    product = work / "shop/domains/orders/products/order_events/product.yaml"
    product.write_text(product.read_text().replace("*.jsonl", "*.parquet").replace("format: jsonl", "format: parquet"))
    write_customers(work / "shop/data/customers/customers.csv", 50_000)
    mesh = Mesh.open(work / "shop")
    report = mesh.run()
    assert report.ok, [(r.product_id, r.error) for r in report.runs if r.error]
    top = mesh.query(
        "SELECT customer_id, count(*) AS n FROM orders.order_events GROUP BY 1 ORDER BY n DESC, customer_id LIMIT 1"
    ).to_pylist()[0]
    mesh.close()
    (work / "subject.json").write_text(json.dumps(top))


def _copy(work: Path, name: str) -> Path:
    target = work / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(work / "shop", target)
    return target


def _bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def step_ours(work: Path) -> dict[str, float]:
    from lakemesh.mesh import Mesh

    warm_lakemesh()

    root = _copy(work, "ours")
    subject = json.loads((work / "subject.json").read_text())["customer_id"]
    before = _bytes(root / "lakehouse")
    started = time.perf_counter()
    mesh = Mesh.open(root)
    report = mesh.governance.forget([f"customer_id={subject}"])
    mesh.close()
    seconds = time.perf_counter() - started
    summary = report.summary()
    return {
        "seconds": seconds,
        "rows": report.rows,
        "rewritten": summary["bytes_rewritten"],
        "removed": summary["bytes_removed"],
        "storage_before": before,
        "storage_after": _bytes(root / "lakehouse"),
        "peak_mb": peak_mb(),
    }


def step_anchor(work: Path) -> dict[str, float]:
    from deltalake import DeltaTable

    root = _copy(work, "anchor")
    subject = json.loads((work / "subject.json").read_text())["customer_id"]
    started = time.perf_counter()
    rows = 0
    for table in TABLES:
        dt = DeltaTable(str(root / "lakehouse" / table))
        rows += int(dt.delete(f"customer_id = '{subject}'")["num_deleted_rows"])
        dt.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mb": peak_mb()}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--step", choices=["ours", "anchor", "setup"])
    parser.add_argument("--work")
    args = parser.parse_args(argv)
    if args.step:
        work = Path(args.work)
        if args.step == "setup":
            setup(work, args.rows)
            print(json.dumps({"rows": args.rows}))
        else:
            print(json.dumps((step_ours if args.step == "ours" else step_anchor)(work)))
        return {}
    print(f"erasure: lakemesh forget of one customer from a mesh built from {args.rows:,} order events", flush=True)
    with tempfile.TemporaryDirectory(prefix="lakemesh-bench-forget-") as tmp:
        started = time.perf_counter()
        child_json("bench.erasure", "--step", "setup", "--work", tmp, "--rows", str(args.rows))
        print(f"  (building the mesh took {time.perf_counter() - started:.0f} s)", flush=True)
        best = interleaved_best("bench.erasure", ["ours", "anchor"], tmp, args.repeat)
    o, a = best["ours"], best["anchor"]
    mib = 1024 * 1024
    print(f"  lakemesh forget      {o['seconds']:.2f} s  {o['rows']:,.0f} rows  peak {o['peak_mb']:,.0f} MiB")
    print(f"    rewritten {o['rewritten'] / mib:,.1f} MiB, removed {o['removed'] / mib:,.1f} MiB; storage "
          f"{o['storage_before'] / mib:,.0f} -> {o['storage_after'] / mib:,.0f} MiB")  # fmt: skip
    print(f"  delta-rs DELETE + vacuum, no recompute or purge  {a['seconds']:.2f} s  {a['rows']:,.0f} rows  "
          f"peak {a['peak_mb']:,.0f} MiB")  # fmt: skip
    print(f"  forget / bare deletes: {o['seconds'] / a['seconds']:.2f}x (no target: the issue asks for time and bytes)")
    return best


if __name__ == "__main__":
    main()
