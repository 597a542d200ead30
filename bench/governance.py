"""A governed query (two column masks and a row filter) against the same query in plain DuckDB, 10M rows.

lakemesh: `Mesh.query(sql, principal=...)` end to end (load the workspace, check the query, grants,
masked views, run, audit). Anchor: the same SQL in DuckDB over the table's Parquet files, without
governance. Each side runs in its own process, interleaved, best of --repeat.
Target from the issue: <= 1.1x the anchor.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.processes import child_json, interleaved_best, peak_mb, warm_lakemesh

PRODUCT = "orders.analytics_orders"
QUERY = (
    "SELECT status, count(*) AS orders, count(DISTINCT customer_id) AS customers, sum(total_amount) AS revenue "
    "FROM orders.analytics_orders WHERE order_date >= DATE '2026-10-10' GROUP BY status ORDER BY status"
)
ACCESS = """access:
  roles: [analyst]
  principals:
    - {name: ana@company.com, roles: [analyst], attributes: {first_day: "2026-10-05"}}
  grants:
    - {products: ["orders.*"], roles: [analyst]}
  masks:
    - {products: [orders.analytics_orders], column: customer_id, method: hash}
    - {products: [orders.analytics_orders], column: order_id, method: partial, keep: 4}
  rowFilters:
    - {products: [orders.analytics_orders], filter: "order_date >= CAST(principal.first_day AS DATE)"}
"""


def setup(work: Path, rows: int) -> None:
    """The quality benchmark's 10M-row orders table, plus an analyst's access rules."""
    from bench import quality

    quality.setup(work, rows)
    mesh_yaml = work / "shop/mesh.yaml"
    text = mesh_yaml.read_text()
    at = text.find("\naccess:")  # the example's own access section is replaced
    mesh_yaml.write_text((text[: at + 1] if at >= 0 else text) + ACCESS)


def step_governed(work: Path) -> dict[str, float]:
    from lakemesh.mesh import Mesh

    warm_lakemesh()

    started = time.perf_counter()
    mesh = Mesh.open(work / "shop")
    result = mesh.query(QUERY, principal="ana@company.com")
    mesh.close()
    return {"seconds": time.perf_counter() - started, "rows": result.num_rows, "peak_mb": peak_mb()}


def step_plain(work: Path) -> dict[str, float]:
    import duckdb
    from deltalake import DeltaTable

    started = time.perf_counter()
    files = DeltaTable(str(work / "shop/lakehouse/orders/analytics_orders")).file_uris()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA orders")
    con.execute(f"CREATE VIEW orders.analytics_orders AS SELECT * FROM read_parquet({files!r})")
    rows = con.execute(QUERY).fetchall()
    return {"seconds": time.perf_counter() - started, "rows": len(rows), "peak_mb": peak_mb()}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--step", choices=["governed", "plain", "setup"])
    parser.add_argument("--work")
    args = parser.parse_args(argv)
    if args.step:
        if args.step == "setup":
            setup(Path(args.work), args.rows)
            print(json.dumps({"rows": args.rows}))
        else:
            step = step_governed if args.step == "governed" else step_plain
            print(json.dumps(step(Path(args.work))))
        return {}
    print(f"governance: a governed query (2 masks, a row filter) over {args.rows:,} rows vs plain DuckDB", flush=True)
    with tempfile.TemporaryDirectory(prefix="lakemesh-bench-gov-") as tmp:
        child_json("bench.governance", "--step", "setup", "--work", tmp, "--rows", str(args.rows))
        best = interleaved_best("bench.governance", ["governed", "plain"], tmp, args.repeat)
    g, p = best["governed"], best["plain"]
    print(f"  governed query as ana@company.com  {g['seconds']:.2f} s  peak {g['peak_mb']:,.0f} MiB")
    print(f"  the same SQL in plain DuckDB       {p['seconds']:.2f} s  peak {p['peak_mb']:,.0f} MiB")
    print(f"  governed / plain: {g['seconds'] / p['seconds']:.2f}x (target <= 1.1x)")
    return best


if __name__ == "__main__":
    main()
