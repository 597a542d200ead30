"""Checking 1M records against a contract, lakemesh (one vectorized DuckDB scan) against the anchor.

Anchor: validating each record with `jsonschema` against the JSON Schema of the same contract (the
per-record approach of most contract tools), on a sample of the same file, in the same run. The counts
of the rules both can express must agree; the benchmark fails if they do not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from jsonschema import Draft202012Validator

from lakemesh.quality.contract_check import check_file
from lakemesh.spec.export import to_jsonschema
from lakemesh.spec.odcs import load_contract
from lakemesh.synthetic import write_order_events

CONTRACT = Path(__file__).resolve().parents[1] / "examples/shop/domains/orders/products/order_events/contract.yaml"
# lakemesh rule -> (JSON Schema keyword, column) counting the same records
COMPARABLE = {
    "required:order_id": ("type", "order_id"),
    "pattern:currency": ("pattern", "currency"),
    "range:total_amount": ("minimum", "total_amount"),
    "allowed_values:status": ("enum", "status"),
}


def anchor(path: Path, schema: dict[str, object], rows: int) -> tuple[float, Counter[tuple[str, str]]]:
    """jsonschema over the first `rows` records: seconds taken and records failing per (keyword, column)."""
    validator = Draft202012Validator(schema)
    failing: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        for line in itertools.islice(lines, rows):
            seen = {
                (e.validator, str(e.absolute_path[0]) if e.absolute_path else "")
                for e in validator.iter_errors(json.loads(line))
            }
            failing.update(seen)
    return time.perf_counter() - started, failing


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--anchor-rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    contract, _ = load_contract(CONTRACT)
    assert contract is not None
    results: dict[str, float] = {}
    print(f"contract check: {args.rows:,} order events against {contract.id}")
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, parquet = Path(tmp) / "events.jsonl", Path(tmp) / "events.parquet"
        written = write_order_events(jsonl, args.rows, "jsonl")
        write_order_events(parquet, args.rows, "parquet")
        for label, path in (("jsonl", jsonl), ("parquet", parquet)):
            report = min((check_file(contract, path) for _ in range(2)), key=lambda r: r.seconds)
            results[f"{label}_rps"] = report.rows_per_second
            print(
                f"  lakemesh {label:<8} {report.rows:,} records in {report.seconds:.2f}s = "
                f"{report.rows_per_second:,.0f} records/s (target >= 500,000: "
                f"{'met' if report.rows_per_second >= 500_000 else 'MISSED'})"
            )
        sample = Path(tmp) / "sample.jsonl"
        with jsonl.open(encoding="utf-8") as src, sample.open("w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(src, args.anchor_rows))
        n = min(args.anchor_rows, written)
        seconds, failing = anchor(sample, to_jsonschema(contract), n)
        results["anchor_rps"] = n / seconds
        print(
            f"  anchor   jsonschema {n:,} records in {seconds:.2f}s = {results['anchor_rps']:,.0f} records/s"
            f"  -> lakemesh (jsonl) is {results['jsonl_rps'] / results['anchor_rps']:.0f}x faster"
        )
        ours = {r.name: r.violations for r in check_file(contract, sample).results}
        for rule, key in COMPARABLE.items():
            if ours.get(rule, 0) != failing.get(key, 0):
                raise SystemExit(f"  MISMATCH {rule}: lakemesh {ours.get(rule, 0)} vs jsonschema {failing.get(key, 0)}")
        agreed = ", ".join(f"{rule}={ours[rule]}" for rule in COMPARABLE)
        print(f"  same counts as jsonschema on the sample: {agreed}")
    return results


if __name__ == "__main__":
    main()
