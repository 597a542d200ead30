"""`make bench`: every benchmark, each against its anchor in the same run (about 20 minutes on 2 cores)."""

from __future__ import annotations

import sys

from bench import catalog_search, cdc, contract_check, erasure, governance, pipeline, quality


def main() -> None:
    skip_pg = "--no-postgres" in sys.argv
    contract_check.main([])
    print()
    quality.main([])
    print()
    governance.main([])
    print()
    erasure.main([])
    print()
    catalog_search.main(["--no-postgres"] if skip_pg else [])
    print()
    if not skip_pg:
        cdc.main([])
        print()
    pipeline.main([])


if __name__ == "__main__":
    main()
