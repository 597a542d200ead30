"""What OpenLineage events cost a run: `lakemesh run --all` of the example shop with the default lineage
(START and COMPLETE per product, column lineage derived, journalled to a file) against the same run with
`lineage: {enabled: false}`. Target from the issue: <= 2% with the file transport.

Each side builds a fresh copy of the same prepared workspace (the data written once), in its own process,
alternating; the fastest of --repeat runs counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.processes import child_json, peak_mb

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop"
SIDES = ("ours", "anchor")  # with lineage, without


def prepare(work: Path, events: int, customers: int) -> None:
    from lakemesh.synthetic import write_customers, write_order_events

    shop = work / "prepared"
    shutil.copytree(EXAMPLE, shop, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    write_order_events(shop / "data/order_events/e.jsonl", events)
    write_customers(shop / "data/customers/c.csv", customers)


def step(side: str, work: Path) -> dict[str, float]:
    from lakemesh.mesh import Mesh
    from lakemesh.settings import Settings

    shop = work / f"run-{side}"
    shutil.rmtree(shop, ignore_errors=True)
    shutil.copytree(work / "prepared", shop)
    if side == "anchor":
        with (shop / "mesh.yaml").open("a") as f:
            f.write("lineage:\n  enabled: false\n")
    mesh = Mesh.open(shop, Settings(user="bench@company.com"))
    mesh.catalog  # noqa: B018 - the catalog exists in a workspace in use: not part of the run's cost
    started = time.perf_counter()
    report = mesh.run()
    seconds = time.perf_counter() - started
    assert report.ok, [r.error for r in report.failed]
    journal = shop / ".lakemesh/lineage/events.jsonl"
    events = len(journal.read_text().splitlines()) if journal.exists() else 0
    assert (events > 0) is (side == "ours")
    mesh.close()
    return {"seconds": seconds, "events": events, "peak_mb": peak_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="order events in bronze")
    parser.add_argument("--customers", type=int, default=100_000, help="customer records")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, Path(args.work))))
        return
    with tempfile.TemporaryDirectory(prefix="lakemesh-bench-lineage-") as tmp:
        prepare(Path(tmp), args.events, args.customers)
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
        for _ in range(args.repeat):
            for side in SIDES:
                out = child_json("bench.lineage_overhead", "--step", side, "--work", tmp)
                runs[side].append({k: float(v) for k, v in out.items()})  # type: ignore[arg-type]
    best = {side: min(r, key=lambda x: x["seconds"]) for side, r in runs.items()}
    ours, anchor = best["ours"], best["anchor"]
    print(f"lineage overhead on `run --all` ({args.events:,} events, {args.customers:,} customers, "
          f"best of {args.repeat})")  # fmt: skip
    print(f"  with lineage ({int(ours['events'])} events journalled): {ours['seconds']:.2f} s")
    print(f"  without (lineage disabled):            {anchor['seconds']:.2f} s")
    print(f"  ratio: {ours['seconds'] / anchor['seconds']:.3f}x   (target <= 1.02x)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
