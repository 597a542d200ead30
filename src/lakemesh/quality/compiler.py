"""Expectations compiled into one SQL query: every metric an aggregate of a single SELECT, built as a sqlglot tree.

Row-level expectations count their unexpected rows with `COUNT_IF`; uniqueness counts the rows of
duplicated keys in a grouped scalar subquery; statistics are plain aggregates; schema expectations need
no scan at all. The tree is rendered for the engine's dialect, so Spark or PostgreSQL run the same checks.

Counting follows Great Expectations, so results agree with it exactly: column-map expectations ignore
NULLs (the domain is the non-null values, `mostly` is a share of it), uniqueness counts every row
whose value occurs more than once.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from lakemesh.quality import gx_plans as gx
from lakemesh.quality import odcs_plans as odcs
from lakemesh.quality.sql_terms import Context, Plan
from lakemesh.spec.expectations import Expectation


def compile_expectation(e: Expectation, ctx: Context) -> Plan:
    missing = [c for c in e.columns if c not in ctx.columns]
    if missing and e.type != "expect_column_to_exist":
        return Plan(e, error=f"no column {', '.join(repr(m) for m in missing)} in the table")
    handler = HANDLERS.get(e.type)
    if handler is None:
        return Plan(e, error=f"{e.type} is not an expectation lakemesh can run")
    try:
        return handler(e, ctx)
    except (ValueError, TypeError, KeyError, sqlglot.errors.ParseError) as exc:
        return Plan(e, error=f"cannot compile: {exc}")


HANDLERS: dict[str, Callable[[Expectation, Context], Plan]] = {
    "expect_column_values_to_not_be_null": gx.not_null_plan,
    "expect_column_values_to_be_null": gx.null_plan,
    "expect_column_values_to_be_between": gx.between_plan,
    "expect_column_values_to_be_in_set": gx.in_set_plan,
    "expect_column_values_to_not_be_in_set": gx.not_in_set_plan,
    "expect_column_values_to_match_regex": gx.regex_plan,
    "expect_column_values_to_not_match_regex": gx.not_regex_plan,
    "expect_column_values_to_match_regex_list": gx.regex_list_plan,
    "expect_column_values_to_not_match_regex_list": gx.not_regex_list_plan,
    "expect_column_value_lengths_to_be_between": gx.lengths_plan,
    "expect_column_value_lengths_to_equal": gx.length_equal_plan,
    "expect_column_values_to_match_strftime_format": gx.strftime_plan,
    "expect_column_values_to_be_json_parseable": gx.json_plan,
    "expect_column_values_to_be_dateutil_parseable": gx.dateutil_plan,
    "expect_column_pair_values_to_be_equal": gx.pair_equal_plan,
    "expect_column_pair_values_a_to_be_greater_than_b": gx.pair_greater_plan,
    "expect_multicolumn_sum_to_equal": gx.multisum_plan,
    "expect_column_values_to_be_unique": gx.unique_plan,
    "expect_compound_columns_to_be_unique": gx.unique_plan,
    "expect_table_row_count_to_be_between": gx.row_count_plan,
    "expect_table_row_count_to_equal": gx.row_count_plan,
    "expect_column_mean_to_be_between": gx.stat_plan("AVG"),
    "expect_column_median_to_be_between": gx.stat_plan("MEDIAN"),
    "expect_column_stdev_to_be_between": gx.stat_plan("STDDEV_SAMP"),
    "expect_column_sum_to_be_between": gx.stat_plan("SUM"),
    "expect_column_min_to_be_between": gx.stat_plan("MIN"),
    "expect_column_max_to_be_between": gx.stat_plan("MAX"),
    "expect_column_unique_value_count_to_be_between": gx.distinct_count_plan,
    "expect_column_proportion_of_unique_values_to_be_between": gx.distinct_count_plan,
    "expect_column_distinct_values_to_be_in_set": gx.distinct_set_plan,
    "expect_column_distinct_values_to_contain_set": gx.distinct_set_plan,
    "expect_column_distinct_values_to_equal_set": gx.distinct_set_plan,
    "expect_column_most_common_value_to_be_in_set": gx.most_common_plan,
    "expect_column_to_exist": odcs.schema_plan,
    "expect_table_column_count_to_equal": odcs.schema_plan,
    "expect_table_column_count_to_be_between": odcs.schema_plan,
    "expect_table_columns_to_match_set": odcs.schema_plan,
    "expect_table_columns_to_match_ordered_list": odcs.schema_plan,
    "expect_column_values_to_be_of_type": odcs.schema_plan,
    "expect_column_values_to_be_in_type_list": odcs.schema_plan,
    "odcs.nullValues": odcs.odcs_plan,
    "odcs.missingValues": odcs.odcs_plan,
    "odcs.invalidValues": odcs.odcs_plan,
    "odcs.duplicateValues": odcs.odcs_plan,
    "odcs.rowCount": odcs.odcs_plan,
    "odcs.sql": odcs.odcs_plan,
    "lakemesh.freshness": odcs.freshness_plan,
}


def one_query(plans: list[Plan], ctx: Context) -> tuple[exp.Select | None, list[tuple[int, int]]]:
    """Every plan's aggregates in one SELECT over the relation; each plan's (first, count) slice of its columns."""
    select: list[exp.Expr] = []
    slices = []
    ctes: dict[str, exp.Select] = {}
    for plan in plans:
        base = len(select)
        slices.append((base, len(plan.aggregates)))
        select.extend([exp.alias_(a, f"m{base + i}") for i, a in enumerate(plan.aggregates)])
        ctes.update(plan.ctes)
    if not select:
        return None, slices
    query = exp.select(*select).from_(ctx.source())
    for name, body in ctes.items():
        query = query.with_(name, as_=body)
    return query, slices
