"""Mesh versions (issue 16): what tags, pinned reads and publication cost, each against its anchor.

- `tag create` on a mesh of 100 products (a catalog holding 30 mesh versions of 100 products each),
  through the facade on an open mesh. Target: <= 50 ms. It is metadata only: no table is touched.
- `query --at TAG` against the same query at the current version (the tag names the current mesh
  version, so both read the same table versions; the difference is resolving the tag). Each side opens
  the workspace and runs the query, as the CLI does; interleaved, best of --repeat. Target: <= 1.05x.
- Publication: runs of the example shop that change bronze, silver and gold, with and without the
  publication (the same runs, `Versions.publish` skipped), interleaved; and the publication call itself.
  Target: <= 20 ms added to a run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.processes import ROOT

QUERY = (
    "SELECT o.status, count(*) AS orders, sum(o.total_amount) AS revenue, max(d.revenue) AS best_day "
    "FROM orders.analytics_orders o JOIN orders.daily_sales_summary d ON o.order_date = d.order_date "
    "GROUP BY o.status ORDER BY o.status"
)


def _shop(work: Path, rows: int) -> Path:
    from lakemesh.mesh import Mesh
    from lakemesh.settings import Settings
    from lakemesh.synthetic import write_customers, write_order_events

    root = work / "shop"
    shutil.copytree(ROOT / "examples/shop", root)
    write_order_events(root / "data/order_events/e.jsonl", rows)
    write_customers(root / "data/customers/c.csv", 1000)
    with Mesh.open(root, Settings(user="bench@company.com")) as mesh:
        assert mesh.run().ok
    return root


def tag_create(root: Path, repeat: int) -> dict[str, float]:
    """Median and worst of `repeat` tag creations on a catalog holding 100 products' history."""
    from lakemesh.mesh import Mesh
    from lakemesh.settings import Settings

    with Mesh.open(root, Settings(user="bench@company.com")) as mesh:
        store = mesh.versions.store
        products = [f"bench.product_{i:03d}" for i in range(100)]
        for n in range(30):
            store.publish({p: n for p in products}, "run", "bench@company.com")
        times = []
        for i in range(repeat):
            started = time.perf_counter()
            mesh.versions.tag(f"bench-{i}", "a benchmark tag")
            times.append((time.perf_counter() - started) * 1000)
        assert len(store.snapshot()) >= 100
    return {"median_ms": statistics.median(times), "worst_ms": max(times), "products": 100}


def query_at(root: Path, repeat: int) -> dict[str, float]:
    """Best of `repeat` of the query at a tag and at the current version, interleaved."""
    from lakemesh.mesh import Mesh

    with Mesh.open(root) as mesh:
        mesh.versions.tag("bench-now")
    best = {"current": float("inf"), "at_tag": float("inf")}
    results = {}
    sides = [("current", None), ("at_tag", "bench-now")]
    for i in range(repeat):
        for side, at in sides if i % 2 == 0 else sides[::-1]:  # each side first half the time
            started = time.perf_counter()
            with Mesh.open(root) as mesh:
                results[side] = mesh.query(QUERY, at=at).to_pylist()
            best[side] = min(best[side], time.perf_counter() - started)
    assert results["current"] == results["at_tag"]
    started = time.perf_counter()
    with Mesh.open(root) as mesh:
        pins = len(mesh.versions.pins())  # what every read now pays: the latest mesh version, from the catalog
    pinning = time.perf_counter() - started
    return {"current_s": best["current"], "at_tag_s": best["at_tag"], "ratio": best["at_tag"] / best["current"],
            "pins_s": pinning, "pinned_tables": pins}  # fmt: skip


def publication(root: Path, repeat: int, rows: int) -> dict[str, float]:
    """Runs adding `rows` new events with and without publication (interleaved), and the call alone."""
    from lakemesh.mesh import Mesh
    from lakemesh.mesh.versions import Versions
    from lakemesh.settings import Settings
    from lakemesh.synthetic import write_order_events

    publish = Versions.publish
    calls: list[float] = []

    def timed(self: Versions, action: object) -> int | None:
        started = time.perf_counter()
        try:
            return publish(self, action)  # type: ignore[arg-type]
        finally:
            calls.append((time.perf_counter() - started) * 1000)

    runs: dict[str, list[float]] = {"without": [], "with": []}
    start = 10_000_000
    for i in range(repeat):
        for side in ("without", "with"):
            Versions.publish = timed if side == "with" else (lambda self, action: None)  # type: ignore[method-assign,assignment]
            write_order_events(root / f"data/order_events/more-{side}-{i}.jsonl", rows, start=start)
            start += rows
            started = time.perf_counter()
            with Mesh.open(root, Settings(user="bench@company.com")) as mesh:
                assert mesh.run().ok
            runs[side].append(time.perf_counter() - started)
    Versions.publish = publish  # type: ignore[method-assign]
    without, with_ = statistics.median(runs["without"]), statistics.median(runs["with"])
    return {"run_without_s": without, "run_with_s": with_, "added_ms": (with_ - without) * 1000,
            "publish_call_median_ms": statistics.median(calls), "publish_call_worst_ms": max(calls)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="order events in the shop")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lakemesh-bench-versions-") as tmp:
        root = _shop(Path(tmp), args.rows)
        out = {
            "query_at": query_at(root, args.repeat),
            "publication": publication(root, args.repeat, 2000),
            "tag_create": tag_create(root, 20),
        }
    print(f"tag create, 100 products:  median {out['tag_create']['median_ms']:.1f} ms, "
          f"worst {out['tag_create']['worst_ms']:.1f} ms (target <= 50 ms)")  # fmt: skip
    q = out["query_at"]
    print(f"query --at TAG:  {q['at_tag_s']:.3f} s vs {q['current_s']:.3f} s at the current version: "
          f"{q['ratio']:.3f}x (target <= 1.05x); the pins from a cold start: {q['pins_s'] * 1000:.0f} ms")  # fmt: skip
    p = out["publication"]
    print(f"publication:  call median {p['publish_call_median_ms']:.1f} ms (worst {p['publish_call_worst_ms']:.1f}); "
          f"runs {p['run_with_s']:.3f} s with vs {p['run_without_s']:.3f} s without "
          f"({p['added_ms']:+.0f} ms, noise included; target <= 20 ms)")  # fmt: skip
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
