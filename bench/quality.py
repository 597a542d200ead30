"""Quality checks against Great Expectations and a hand-written DuckDB query, on the same 10M-row Delta table.

The design document's five expectations (not null order_id, unique order_id, total_amount between 0 and
100000, status in set, not null customer_id), with dirt in every one of them:
- lakemesh: `Mesh.quality_check` of a product whose contract declares the five as GX custom rules (load
  the workspace, compile, one scan, record in the catalog), end to end;
- DuckDB: one hand-written query computing the same counts over the table's Parquet files;
- Great Expectations 1.x, pandas engine, in its own venv (`~/.cache/lakemesh/gx-venv`, created on first
  use): reading the same files into pandas, then validating. GX gets `total_amount` as float64, its fast
  path (as Decimal objects it took 48 s instead of 11 s here).
Each side runs in its own process (peak RSS is per process) and `--repeat` times, interleaved; the
fastest counts (single runs of either vary by +-20% here).
The unexpected counts of all three must be equal: the benchmark fails otherwise.
Targets from the issue: >= 8x faster than GX, <= 1.2x the DuckDB query, lower peak memory than GX.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.processes import child_json, peak_mb, warm_lakemesh

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop"
GX_VENV = Path(os.environ.get("LAKEMESH_CACHE", Path.home() / ".cache" / "lakemesh")) / "gx-venv"
PRODUCT = "orders.analytics_orders"
STATUSES = ["created", "paid", "shipped", "delivered", "cancelled"]

CONTRACT = """apiVersion: v3.1.0
kind: DataContract
id: orders.analytics_orders
name: Orders Analytics
version: 2.0.0
status: active
schema:
  - name: analytics_orders
    properties:
      - {name: order_id, logicalType: string, physicalType: VARCHAR}
      - {name: customer_id, logicalType: string, physicalType: VARCHAR}
      - {name: order_date, logicalType: date, physicalType: DATE}
      - {name: total_amount, logicalType: number, physicalType: "DECIMAL(10,2)"}
      - {name: status, logicalType: string, physicalType: VARCHAR}
      - {name: items_count, logicalType: integer, physicalType: INTEGER}
      - {name: updated_at, logicalType: timestamp, physicalType: TIMESTAMP}
    quality:
""" + "".join(
    f"""      - type: custom
        engine: great-expectations
        implementation: {{type: {t}, kwargs: {json.dumps(kw)}}}
"""
    for t, kw in (
        ("expect_column_values_to_not_be_null", {"column": "order_id"}),
        ("expect_column_values_to_be_unique", {"column": "order_id"}),
        ("expect_column_values_to_be_between", {"column": "total_amount", "min_value": 0, "max_value": 100000}),
        ("expect_column_values_to_be_in_set", {"column": "status", "value_set": STATUSES}),
        ("expect_column_values_to_not_be_null", {"column": "customer_id"}),
    )
)

DATA_SQL = """
SELECT CASE WHEN i % 1000 = 7 THEN NULL
            ELSE 'ORD-' || lpad(CAST(CASE WHEN i % 500 = 3 THEN i - 1 ELSE i END AS VARCHAR), 8, '0') END AS order_id,
       CASE WHEN i % 777 = 5 THEN NULL
            ELSE 'C' || lpad(CAST(hash(i * 31) % 50000 AS VARCHAR), 6, '0') END AS customer_id,
       CAST(DATE '2026-10-01' + CAST(hash(i) % 30 AS INTEGER) AS DATE) AS order_date,
       CASE WHEN i % 2003 = 11 THEN CAST(-10 AS DECIMAL(10, 2))
            WHEN i % 4001 = 9 THEN CAST(150000 AS DECIMAL(10, 2))
            ELSE CAST(round(5 + (hash(i * 13) % 99000) / 100.0, 2) AS DECIMAL(10, 2)) END AS total_amount,
       CASE WHEN i % 1009 = 3 THEN 'lost'
            ELSE ['created', 'paid', 'shipped', 'delivered', 'cancelled'][1 + CAST(hash(i * 7) % 5 AS INTEGER)] END
            AS status,
       CAST(1 + hash(i * 19) % 8 AS INTEGER) AS items_count,
       TIMESTAMP '2026-10-01 00:00:00' + to_seconds(CAST(hash(i * 3) % (30 * 86400) AS BIGINT)) AS updated_at
FROM range({rows}) t(i)"""

HAND_SQL = """
SELECT count(*) FILTER (WHERE order_id IS NULL) AS "expect_column_values_to_not_be_null:order_id",
       (SELECT sum(n) FROM (SELECT count(*) AS n FROM orders WHERE order_id IS NOT NULL
                            GROUP BY order_id HAVING count(*) > 1)) AS "expect_column_values_to_be_unique:order_id",
       count(*) FILTER (WHERE total_amount < 0 OR total_amount > 100000)
           AS "expect_column_values_to_be_between:total_amount",
       count(*) FILTER (WHERE status NOT IN ('created', 'paid', 'shipped', 'delivered', 'cancelled'))
           AS "expect_column_values_to_be_in_set:status",
       count(*) FILTER (WHERE customer_id IS NULL) AS "expect_column_values_to_not_be_null:customer_id"
FROM orders"""


def _child(*args: str, python: str = sys.executable, module: str = "bench.quality") -> dict[str, object]:
    return child_json(module, *args, python=python)


def setup(work: Path, rows: int) -> None:
    import duckdb

    from lakemesh.mesh import Mesh

    shutil.copytree(EXAMPLE, work / "shop", ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    (work / "shop/domains/orders/products/analytics_orders/contract.yaml").write_text(CONTRACT)
    mesh = Mesh.open(work / "shop")
    assert mesh.validate().ok, [p.render() for p in mesh.validate().errors]
    data = duckdb.sql(DATA_SQL.format(rows=rows)).to_arrow_table()
    mesh.lakehouse.append(PRODUCT, data, {}, {})
    mesh.catalog.close()


def _files(work: Path) -> list[str]:
    from lakemesh.mesh import Mesh

    return list(Mesh.open(work / "shop").lakehouse.table(PRODUCT).file_uris())


def step_ours(work: Path) -> dict[str, object]:
    from lakemesh.mesh import Mesh

    warm_lakemesh()

    started = time.perf_counter()
    mesh = Mesh.open(work / "shop")
    report = mesh.quality.check(PRODUCT)
    mesh.close()
    seconds = time.perf_counter() - started
    counts = {f"{r.type}:{r.columns[0]}": r.unexpected_count for r in report.results}
    return {"seconds": seconds, "peak_mb": peak_mb(), "counts": counts}


def step_duckdb(work: Path) -> dict[str, object]:
    import duckdb
    from deltalake import DeltaTable

    started = time.perf_counter()
    files = DeltaTable(str(work / "shop/lakehouse/orders/analytics_orders")).file_uris()
    con = duckdb.connect()
    con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet({files!r})")
    cursor = con.execute(HAND_SQL)
    row = cursor.fetchone()
    assert row is not None and cursor.description is not None
    counts = dict(zip([d[0] for d in cursor.description], (int(v) for v in row), strict=True))
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "counts": counts}


def ensure_gx() -> str:
    """The interpreter of a venv with Great Expectations 1.x, created on first use (PyPI only)."""
    python = GX_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing Great Expectations into {GX_VENV} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(GX_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "great_expectations>=1.0,<2", "pyarrow"],
            check=True,
        )
    return str(python)


def _best(runs: list[dict[str, object]]) -> dict[str, object]:
    return min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> dict[str, dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of lakemesh and DuckDB; the fastest counts")
    parser.add_argument("--gx-repeat", type=int, default=1, help="runs of Great Expectations (about 15 s each)")
    parser.add_argument("--no-gx", action="store_true", help="skip the Great Expectations anchor")
    parser.add_argument("--step", choices=["ours", "duckdb"])
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--work")
    args = parser.parse_args(argv)
    if args.step:
        step = step_ours if args.step == "ours" else step_duckdb
        print(json.dumps(step(Path(args.work))))
        return {}
    if args.setup:
        setup(Path(args.work), args.rows)
        print(json.dumps({"rows": args.rows}))
        return {}
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="lakemesh-bench-quality-") as tmp:
        work = Path(tmp)
        print(f"quality: {args.rows:,}-row Delta table, the design document's five expectations", flush=True)
        # in a child too: Linux carries a process's peak RSS into the children it starts later
        _child("--setup", "--work", tmp, "--rows", str(args.rows))
        runs: dict[str, list[dict[str, object]]] = {"ours": [], "duckdb": []}
        for _ in range(args.repeat):  # interleaved, so drift in the machine's speed hits both sides alike
            for side in runs:
                runs[side].append(_child("--step", side, "--work", tmp))
        results["lakemesh"], results["duckdb"] = _best(runs["ours"]), _best(runs["duckdb"])
        if not args.no_gx:
            gx = ensure_gx()
            files = _files(work)
            anchor = str(ROOT / "bench" / "gx_anchor.py")
            results["gx"] = _best([_child(*files, python=gx, module=anchor) for _ in range(args.gx_repeat)])
    _report(results)
    return results


def _report(results: dict[str, dict[str, object]]) -> None:
    ours, hand = results["lakemesh"], results["duckdb"]
    print(f"  {'':<34}{'seconds':>9}{'peak MiB':>10}")
    for name, label in (("lakemesh", "lakemesh quality check"), ("duckdb", "hand-written DuckDB query")):
        r = results[name]
        print(f"  {label:<34}{float(r['seconds']):>9.2f}{float(r['peak_mb']):>10.0f}")  # type: ignore[arg-type]
    ratio = float(ours["seconds"]) / float(hand["seconds"])  # type: ignore[arg-type]
    print(f"  lakemesh / DuckDB: {ratio:.2f}x (target <= 1.2x)")
    if ours["counts"] != hand["counts"]:
        raise SystemExit(f"counts differ: lakemesh {ours['counts']} vs DuckDB {hand['counts']}")
    if "gx" in results:
        gx = results["gx"]
        load, validate = float(gx["load_seconds"]), float(gx["validate_seconds"])  # type: ignore[arg-type]
        print(f"  {'Great Expectations 1.x (pandas)':<34}{float(gx['seconds']):>9.2f}{float(gx['peak_mb']):>10.0f}")  # type: ignore[arg-type]
        print(f"    (reading into pandas {load:.2f} s, validating {validate:.2f} s)")
        speedup = float(gx["seconds"]) / float(ours["seconds"])  # type: ignore[arg-type]
        memory = float(ours["peak_mb"]) / float(gx["peak_mb"])  # type: ignore[arg-type]
        print(f"  GX / lakemesh: {speedup:.1f}x faster (target >= 8x); peak memory {memory:.2f} of GX's")
        if gx["counts"] != ours["counts"]:
            raise SystemExit(f"counts differ from Great Expectations: GX {gx['counts']} vs lakemesh {ours['counts']}")
    print(f"  unexpected counts agree: {ours['counts']}")


if __name__ == "__main__":
    main()
