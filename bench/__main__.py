"""`make bench`: every benchmark, each against its anchor in the same run."""

from __future__ import annotations

import sys

from bench import catalog_search, contract_check


def main() -> None:
    skip_pg = "--no-postgres" in sys.argv
    contract_check.main([])
    print()
    catalog_search.main(["--no-postgres"] if skip_pg else [])


if __name__ == "__main__":
    main()
