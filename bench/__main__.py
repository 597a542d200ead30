"""`make bench`: every benchmark, each against its anchor in the same run (about 20 minutes on 2 cores).

Each benchmark runs in a process of its own started from this small one: Linux carries a process's peak
memory into the children it starts, so one benchmark run in here would raise every later peak to its own.
"""

from __future__ import annotations

import argparse
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
    "lineage_overhead",
    "versions",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (all when none): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip what needs a PostgreSQL server")
    options = parser.parse_args()
    unknown = [n for n in options.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    skip_pg = options.no_postgres
    failed = []
    for name in options.names or BENCHMARKS:
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
