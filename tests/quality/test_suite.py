"""Expectations compiled into one query and run by DuckDB, each result checked against plain Python."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlglot

from lakemesh.engines.duckdb.engine import DuckDBEngine
from lakemesh.quality.compiler import compile_expectation, one_query
from lakemesh.quality.odcs_plans import type_family
from lakemesh.quality.results import CheckStatus
from lakemesh.quality.sql_terms import Context
from lakemesh.quality.suite import quarantine_plans, relation_columns, run_suite, split_quarantine
from lakemesh.spec.expectations import CheckSeverity, Expectation, Suite

REL = '"t"."orders"'
ROWS: list[dict[str, Any]] = [
    {
        "id": None if i % 17 == 3 else f"O{i % 90:03d}",
        "amount": Decimal(i * 7 % 300) - Decimal(20) if i % 11 else None,
        "status": ["paid", "shipped", "PAID", "lost", None][i % 5],
        "a": i % 4,
        "b": i % 3 if i % 13 else None,
        "code": ["AB-1", "ab-2", "AB-33", "X", None][i % 5],
        "day": date(2026, 1, 1) + timedelta(days=i % 9),
    }
    for i in range(200)
]


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    e = DuckDBEngine()
    e.register("t.orders", pa.Table.from_pylist(ROWS))
    yield e
    e.close()


def check(engine: DuckDBEngine, gx_type: str, **kwargs: Any) -> Any:
    e = Expectation(gx_type, kwargs, "x", CheckSeverity.ERROR)
    [result] = run_suite(engine, REL, Suite("t", [e]), "t.orders").results
    return result


def values(column: str) -> list[Any]:
    return [r[column] for r in ROWS]


def nonnull(column: str) -> list[Any]:
    return [v for v in values(column) if v is not None]


def test_not_null_counts_every_row(engine: DuckDBEngine) -> None:
    r = check(engine, "expect_column_values_to_not_be_null", column="id")
    nulls = values("id").count(None)
    assert (r.unexpected_count, r.element_count, r.status) == (nulls, len(ROWS), CheckStatus.FAILED)
    assert r.examples and all(e["id"] is None for e in r.examples)


def test_column_maps_ignore_nulls_and_honour_mostly(engine: DuckDBEngine) -> None:
    bad = [v for v in nonnull("status") if v not in ("paid", "shipped")]
    r = check(engine, "expect_column_values_to_be_in_set", column="status", value_set=["paid", "shipped"])
    assert r.unexpected_count == len(bad) and r.element_count == len(nonnull("status"))
    assert r.unexpected_percent == pytest.approx(100 * len(bad) / len(nonnull("status")))
    share_ok = 1 - len(bad) / len(nonnull("status"))
    assert check(engine, "expect_column_values_to_be_in_set", column="status", value_set=["paid", "shipped"],
                 mostly=share_ok - 0.01).status is CheckStatus.PASSED  # fmt: skip
    assert check(engine, "expect_column_values_to_be_in_set", column="status", value_set=["paid", "shipped"],
                 mostly=share_ok + 0.01).status is CheckStatus.FAILED  # fmt: skip


@pytest.mark.parametrize(("strict_min", "strict_max"), [(False, False), (True, True)])
def test_between_with_strict_bounds(engine: DuckDBEngine, strict_min: bool, strict_max: bool) -> None:
    lo, hi = 0, 250
    below = (lambda v: v <= lo) if strict_min else (lambda v: v < lo)
    above = (lambda v: v >= hi) if strict_max else (lambda v: v > hi)
    expected = sum(1 for v in nonnull("amount") if below(v) or above(v))
    r = check(
        engine,
        "expect_column_values_to_be_between",
        column="amount",
        min_value=lo,
        max_value=hi,
        strict_min=strict_min,
        strict_max=strict_max,
    )
    assert r.unexpected_count == expected > 0


def test_regexes_search_like_great_expectations(engine: DuckDBEngine) -> None:
    # GX uses re.search semantics: a pattern may match anywhere unless anchored
    for regex in ("[A-Z]{2}-", "^[A-Z]{2}-[0-9]$"):
        expected = sum(1 for v in nonnull("code") if not re.search(regex, v))
        assert (
            check(engine, "expect_column_values_to_match_regex", column="code", regex=regex).unexpected_count
            == expected
        )
    either = ["^X$", "^ab"]
    expected = sum(1 for v in nonnull("code") if not any(re.search(p, v) for p in either))
    r = check(engine, "expect_column_values_to_match_regex_list", column="code", regex_list=either)
    assert r.unexpected_count == expected
    expected = sum(1 for v in nonnull("code") if re.search("-", v))
    assert (
        check(engine, "expect_column_values_to_not_match_regex", column="code", regex="-").unexpected_count == expected
    )


def test_lengths(engine: DuckDBEngine) -> None:
    expected = sum(1 for v in nonnull("code") if not 2 <= len(v) <= 4)
    r = check(engine, "expect_column_value_lengths_to_be_between", column="code", min_value=2, max_value=4)
    assert r.unexpected_count == expected > 0
    r = check(engine, "expect_column_value_lengths_to_equal", column="code", value=4)
    assert r.unexpected_count == sum(1 for v in nonnull("code") if len(v) != 4)


def test_uniqueness_counts_every_row_of_a_duplicated_value(engine: DuckDBEngine) -> None:
    counts = Counter(nonnull("id"))
    expected = sum(n for n in counts.values() if n > 1)
    r = check(engine, "expect_column_values_to_be_unique", column="id")
    assert r.unexpected_count == expected and r.element_count == len(nonnull("id"))
    assert r.examples and all(counts[e["id"]] == e["copies"] > 1 for e in r.examples)
    pairs = Counter((row["a"], row["b"]) for row in ROWS if not (row["a"] is None and row["b"] is None))
    r = check(engine, "expect_compound_columns_to_be_unique", column_list=["a", "b"])
    assert r.unexpected_count == sum(n for n in pairs.values() if n > 1)


def test_pair_and_multicolumn_rules(engine: DuckDBEngine) -> None:
    judged = [r for r in ROWS if not (r["a"] is None and r["b"] is None)]
    expected = sum(1 for r in judged if r["b"] is None or not r["a"] > r["b"])
    assert (
        check(engine, "expect_column_pair_values_a_to_be_greater_than_b", column_A="a", column_B="b").unexpected_count
        == expected
    )
    expected = sum(1 for r in judged if r["a"] != r["b"])
    assert (
        check(engine, "expect_column_pair_values_to_be_equal", column_A="a", column_B="b").unexpected_count == expected
    )
    expected = sum(1 for r in judged if (r["a"] or 0) + (r["b"] or 0) != 3)  # as pandas: missing counts as 0
    assert (
        check(engine, "expect_multicolumn_sum_to_equal", column_list=["a", "b"], sum_total=3).unexpected_count
        == expected
    )


def test_statistics(engine: DuckDBEngine) -> None:
    amounts = [float(v) for v in nonnull("amount")]
    mean, median, stdev = statistics.mean(amounts), statistics.median(amounts), statistics.stdev(amounts)
    r = check(engine, "expect_column_mean_to_be_between", column="amount", min_value=mean - 1, max_value=mean + 1)
    assert r.status is CheckStatus.PASSED and float(r.observed) == pytest.approx(mean)
    r = check(engine, "expect_column_median_to_be_between", column="amount", min_value=median + 0.5)
    assert r.status is CheckStatus.FAILED and float(r.observed) == pytest.approx(median)
    r = check(engine, "expect_column_stdev_to_be_between", column="amount", max_value=stdev + 1)
    assert r.status is CheckStatus.PASSED and float(r.observed) == pytest.approx(stdev)
    assert check(engine, "expect_column_max_to_be_between", column="amount", max_value=max(amounts)).ok
    assert not check(
        engine, "expect_column_min_to_be_between", column="amount", min_value=min(amounts), strict_min=True
    ).ok
    r = check(engine, "expect_table_row_count_to_be_between", min_value=len(ROWS), max_value=len(ROWS))
    assert r.ok and r.observed == len(ROWS)
    assert not check(engine, "expect_table_row_count_to_equal", value=len(ROWS) + 1).ok
    distinct = len(set(nonnull("id")))
    r = check(
        engine, "expect_column_unique_value_count_to_be_between", column="id", min_value=distinct, max_value=distinct
    )
    assert r.ok and r.observed == distinct
    r = check(engine, "expect_column_proportion_of_unique_values_to_be_between", column="id", max_value=0.1)
    assert not r.ok and r.observed == pytest.approx(distinct / len(nonnull("id")))


def test_distinct_sets_and_mode(engine: DuckDBEngine) -> None:
    seen = set(nonnull("status"))
    assert check(engine, "expect_column_distinct_values_to_equal_set", column="status", value_set=sorted(seen)).ok
    r = check(engine, "expect_column_distinct_values_to_be_in_set", column="status", value_set=["paid", "shipped"])
    assert not r.ok and set(r.observed) == seen and "lost" in r.detail
    assert check(engine, "expect_column_distinct_values_to_contain_set", column="status", value_set=["paid"]).ok
    counts = Counter(nonnull("status"))
    top = max(counts.values())
    modes = sorted(v for v, n in counts.items() if n == top)
    r = check(engine, "expect_column_most_common_value_to_be_in_set", column="status", value_set=modes, ties_okay=True)
    assert r.ok and r.observed == modes


def test_schema_expectations_need_no_scan(engine: DuckDBEngine) -> None:
    assert check(engine, "expect_column_to_exist", column="status").ok
    assert not check(engine, "expect_column_to_exist", column="nope").ok
    assert check(engine, "expect_table_column_count_to_equal", value=len(ROWS[0])).ok
    assert check(engine, "expect_table_columns_to_match_set", column_set=list(ROWS[0])).ok
    assert not check(engine, "expect_table_columns_to_match_ordered_list", column_list=sorted(ROWS[0])).ok
    assert check(engine, "expect_column_values_to_be_of_type", column="a", type_="int64").ok
    assert check(engine, "expect_column_values_to_be_of_type", column="code", type_="VARCHAR").ok
    assert not check(engine, "expect_column_values_to_be_of_type", column="code", type_="INTEGER").ok
    assert check(engine, "expect_column_values_to_be_in_type_list", column="amount", type_list=["DECIMAL", "FLOAT"]).ok


def test_type_families() -> None:
    assert {type_family(t) for t in ("int64", "INTEGER", "BIGINT", "int32")} == {"integer"}
    assert {type_family(t) for t in ("str", "VARCHAR", "string", "large_string", "object")} == {"string"}
    assert {type_family(t) for t in ("timestamp[us]", "datetime64[ns]", "TIMESTAMP WITH TIME ZONE")} == {"timestamp"}
    assert type_family("decimal128(10, 2)") == type_family("DECIMAL(10,2)") == "decimal"


def test_odcs_metrics_with_units(engine: DuckDBEngine) -> None:
    def odcs(metric: str, column: str | None, operator: list[Any], unit: str = "rows", **args: Any) -> Any:
        kwargs: dict[str, Any] = {"arguments": args, "unit": unit, "operator": operator}
        if column:
            kwargs["column"] = column
        e = Expectation(f"odcs.{metric}", kwargs, metric)
        [result] = run_suite(engine, REL, Suite("t", [e]), "t.orders").results
        return result

    nulls = values("status").count(None)
    assert odcs("nullValues", "status", ["mustBe", nulls]).ok
    r = odcs("nullValues", "status", ["mustBeLessThan", 10], unit="percent")
    assert not r.ok and r.observed == pytest.approx(100 * nulls / len(ROWS))
    missing = sum(1 for v in values("code") if v in (None, "X"))
    assert odcs("missingValues", "code", ["mustBe", missing], missingValues=[None, "X"]).unexpected_count == missing
    invalid = sum(1 for v in nonnull("code") if not re.search("^[A-Z]{2}-", v))
    assert odcs("invalidValues", "code", ["mustBe", 0], pattern="^[A-Z]{2}-").unexpected_count == invalid
    extra = len(nonnull("id")) - len(set(nonnull("id")))  # ODCS counts the copies beyond the first
    r = odcs("duplicateValues", None, ["mustBe", 0], properties=["id"])
    assert r.unexpected_count == extra and not r.ok and r.examples
    assert odcs("rowCount", None, ["mustBeBetween", [100, 300]]).ok
    assert not odcs("rowCount", None, ["mustNotBeBetween", [100, 300]]).ok


def test_sql_rules_and_freshness(engine: DuckDBEngine) -> None:
    lost = values("status").count("lost")
    e = Expectation(
        "odcs.sql", {"query": "SELECT count(*) FROM ${table} WHERE status = 'lost'", "operator": ["mustBe", lost]}, "s"
    )
    now = datetime(2026, 1, 12, tzinfo=UTC)  # newest day is 2026-01-09: three days old
    fresh = Expectation("lakemesh.freshness", {"column": "day", "maxAge": "4d"}, "fresh")
    stale = Expectation("lakemesh.freshness", {"column": "day", "maxAge": "2d"}, "stale")
    results = run_suite(engine, REL, Suite("t", [e, fresh, stale]), "t.orders", now=now).results
    assert [r.ok for r in results] == [True, True, False]
    assert results[0].observed == lost and results[1].observed == pytest.approx(3 * 86400)


def test_one_scan_one_statement_portable_sql(engine: DuckDBEngine) -> None:
    suite = [
        Expectation("expect_column_values_to_not_be_null", {"column": "id"}, "a"),
        Expectation("expect_column_values_to_be_unique", {"column": "id"}, "b"),
        Expectation("odcs.duplicateValues", {"column": "id", "operator": ["mustBe", 0]}, "c"),
        Expectation("expect_column_values_to_match_regex", {"column": "code", "regex": "^A"}, "d"),
    ]
    ctx = Context(sqlglot.exp.to_table(REL), relation_columns(engine, REL), engine.capabilities)
    select, _ = one_query([compile_expectation(e, ctx) for e in suite], ctx)
    assert select is not None
    sql = select.sql("duckdb")
    assert sql.count("GROUP BY") == 1  # both uniqueness rules share one grouping of id
    # the same tree renders for other engines
    assert "~" in select.sql("postgres") and "RLIKE" in select.sql("spark")


def test_a_broken_rule_does_not_hide_the_others(engine: DuckDBEngine) -> None:
    suite = Suite(
        "t",
        [
            Expectation("expect_column_values_to_not_be_null", {"column": "id"}, "fine"),
            Expectation("expect_column_values_to_match_regex", {"column": "code", "regex": "(?<=x)y"}, "re2 says no"),
            Expectation("expect_column_values_to_not_be_null", {"column": "gone"}, "missing column"),
        ],
    )
    results = {r.name: r for r in run_suite(engine, REL, suite, "t.orders").results}
    assert results["fine"].unexpected_count == values("id").count(None)
    assert results["re2 says no"].status is CheckStatus.ERROR
    assert results["missing column"].status is CheckStatus.ERROR and "gone" in results["missing column"].detail


def test_metrics_completeness_validity_uniqueness(engine: DuckDBEngine) -> None:
    suite = Suite(
        "t",
        [
            Expectation("expect_column_values_to_not_be_null", {"column": "id"}, "a"),
            Expectation("expect_column_values_to_be_in_set", {"column": "status", "value_set": ["paid"]}, "b"),
            Expectation("expect_column_values_to_be_unique", {"column": "id"}, "c"),
        ],
    )
    report = run_suite(engine, REL, suite, "t.orders")
    cells = len(ROWS) * len(ROWS[0])
    filled = sum(1 for r in ROWS for v in r.values() if v is not None)
    assert report.metrics["completeness"] == pytest.approx(filled / cells)
    invalid = sum(1 for r in ROWS if r["id"] is None or (r["status"] is not None and r["status"] != "paid"))
    assert report.metrics["validity"] == pytest.approx(1 - invalid / len(ROWS))
    counts = Counter(nonnull("id"))
    assert report.metrics["uniqueness"] == pytest.approx(1 - sum(n for n in counts.values() if n > 1) / len(ROWS))
    # the same figures from statistics instead of the scan
    nulls = {c: values(c).count(None) for c in ROWS[0]}
    again = run_suite(engine, REL, suite, "t.orders", null_counts=nulls)
    assert again.metrics == report.metrics


def test_quarantine_split_names_every_failed_check(engine: DuckDBEngine) -> None:
    suite = Suite(
        "t",
        [
            Expectation(
                "expect_column_values_to_be_in_set",
                {"column": "status", "value_set": ["paid", "shipped"]},
                "status_known",
                CheckSeverity.QUARANTINE,
            ),
            Expectation("expect_column_values_to_not_be_null", {"column": "id"}, "has_id", CheckSeverity.QUARANTINE),
        ],
    )
    plans = quarantine_plans(suite, engine, REL)
    passing, failing = split_quarantine(engine, REL, plans)
    bad_status = [r for r in ROWS if r["status"] not in (None, "paid", "shipped")]
    no_id = [r for r in ROWS if r["id"] is None]
    both = [r for r in bad_status if r["id"] is None]
    assert failing.num_rows == len(bad_status) + len(no_id) - len(both)
    assert passing.num_rows + failing.num_rows == len(ROWS)
    checks = Counter(failing.column("_quarantine_checks").to_pylist())
    assert checks["status_known,has_id"] == len(both) > 0
    reasons = failing.column("_quarantine_reason").to_pylist()
    assert all(r and not r.startswith(";") for r in reasons)
    assert "value is missing" in " ".join(reasons)


def test_a_weaker_explicit_rule_does_not_replace_the_schemas_own() -> None:
    """A warning-level range on a column with `minimum: 0` adds a warning; the schema's minimum still fails
    the check (it used to be dropped, so a gate published negative amounts)."""
    from lakemesh.spec.expectations import expectations_of

    warn = {"type": "custom", "engine": "great-expectations", "severity": "warning",
            "implementation": {"type": "expect_column_values_to_be_between",
                               "kwargs": {"column": "amount", "min_value": 10, "max_value": 5000}}}  # fmt: skip
    amount = {"name": "amount", "logicalType": "number", "logicalTypeOptions": {"minimum": 0}}
    table: dict[str, Any] = {"name": "orders", "quality": [warn], "properties": [amount]}
    suite = expectations_of(table, layer="silver")
    engine = DuckDBEngine()
    try:
        engine.register("t.orders", pa.table({"amount": [-5, 20]}))
        results = run_suite(engine, REL, suite, "t.orders").results
    finally:
        engine.close()
    by_status = {(r.severity, r.status): r for r in results}
    assert by_status[("error", CheckStatus.FAILED)].unexpected_count == 1  # -5 < 0: the schema's minimum
    assert by_status[("warning", CheckStatus.WARNING)].unexpected_count == 1  # -5 outside [10, 5000]
    # the same rule as strict as the schema's (quarantine, same bounds) does stand in for it
    table["quality"] = [{**warn, "severity": "quarantine",
                         "implementation": {"type": "expect_column_values_to_be_between",
                                            "kwargs": {"column": "amount", "min_value": 0}}}]  # fmt: skip
    assert [e.implicit for e in expectations_of(table, layer="silver").expectations] == [False]
    # beside a declared rule with the same label, the schema's is named apart
    kwargs = {"column": "amount", "min_value": 0, "mostly": 0.9}
    loose = {"type": "expect_column_values_to_be_between", "kwargs": kwargs}
    table["quality"] = [{**warn, "implementation": loose}]
    names = [e.name for e in expectations_of(table, layer="silver").expectations]
    assert names == ["between(amount)", "between(amount) (schema)"]


class LesserDuckDB(DuckDBEngine):
    """DuckDB declaring neither TRY_STRPTIME, JSON_VALID nor struct lists: how a lesser engine looks to the
    compiler, which must take the other way (or say it cannot) by the capabilities alone."""

    capabilities = replace(DuckDBEngine.capabilities, strptime=False, json_valid=False, struct_lists=False)


def test_plans_follow_the_engines_capabilities_not_its_name(engine: DuckDBEngine) -> None:
    lesser = LesserDuckDB()
    lesser.register("t.orders", pa.Table.from_pylist(ROWS))
    suite = Suite(
        "t",
        [
            Expectation("expect_column_values_to_be_unique", {"column": "id"}, "u", CheckSeverity.ERROR),
            Expectation(
                "expect_column_values_to_match_strftime_format",
                {"column": "code", "strftime_format": "%Y"},
                "s",
                CheckSeverity.ERROR,
            ),
            Expectation("expect_column_values_to_be_json_parseable", {"column": "code"}, "j", CheckSeverity.ERROR),
        ],
    )
    full = {r.name: r for r in run_suite(engine, REL, suite, "t.orders").results}
    less = {r.name: r for r in run_suite(lesser, REL, suite, "t.orders").results}
    lesser.close()
    assert full["s"].status == full["j"].status == CheckStatus.FAILED
    assert less["s"].status == less["j"].status == CheckStatus.ERROR
    assert "cannot parse text by a strftime format" in less["s"].detail
    assert "cannot tell valid JSON" in less["j"].detail
    # uniqueness: the same counts and examples, found by a query of their own instead of in the scan
    assert (less["u"].status, less["u"].unexpected_count) == (full["u"].status, full["u"].unexpected_count)
    assert less["u"].examples and less["u"].examples == full["u"].examples
