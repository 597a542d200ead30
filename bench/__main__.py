"""`make bench`: every benchmark, each against its anchor in the same run (about 18 minutes on 2 cores)."""

from __future__ import annotations

import sys

from bench import catalog_search, contract_check, pipeline, quality


def main() -> None:
    skip_pg = "--no-postgres" in sys.argv
    contract_check.main([])
    print()
    quality.main([])
    print()
    catalog_search.main(["--no-postgres"] if skip_pg else [])
    print()
    pipeline.main([])


if __name__ == "__main__":
    main()
