"""`make bench`: every benchmark, each against its anchor in the same run (about 20 minutes on 2 cores).

Each benchmark runs in a process of its own started from this small one: Linux carries a process's peak
memory into the children it starts, so one benchmark run in here would raise every later peak to its own.
"""

from __future__ import annotations

import subprocess
import sys

from bench.processes import ROOT

BENCHMARKS = [
    "contract_check",
    "quality",
    "governance",
    "erasure",
    "catalog_search",
    "cdc",
    "pipeline",
    "lineage_accuracy",
    "lineage_graph",
    "versions",
]


def main() -> None:
    skip_pg = "--no-postgres" in sys.argv
    failed = []
    for name in BENCHMARKS:
        args = []
        if skip_pg and name == "cdc":
            continue
        if skip_pg and name in ("catalog_search", "lineage_graph"):
            args = ["--no-postgres"]
        done = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, check=False)
        if done.returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        raise SystemExit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
