"""Plans of the Great Expectations expectations: column maps, pairs, uniqueness and column statistics.

Counting follows Great Expectations, so results agree with it exactly: column-map expectations ignore
NULLs (the domain is the non-null values, `mostly` is a share of it), uniqueness counts every row
whose value occurs more than once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from lakemesh.quality.sql_terms import (
    Context,
    Outcome,
    Plan,
    and_,
    as_text,
    between,
    col,
    count_all,
    count_if,
    duplicate_examples,
    duplicated_keys,
    duplicates,
    extra,
    in_list,
    is_null,
    judged,
    lit,
    missing,
    mostly_outcome,
    not_null,
    plain,
    regex_match,
    structs,
    unique_predicate,
)
from lakemesh.spec.expectations import Expectation


def _row(e: Expectation, unexpected: exp.Expr, domain: exp.Expr) -> Plan:
    mostly = e.mostly
    return Plan(
        e,
        [count_if(unexpected), domain],
        lambda v: mostly_outcome(int(v[0] or 0), int(v[1] or 0), mostly),
        unexpected,
    )


def _column_map(e: Expectation, ctx: Context, bad: Callable[[exp.Expr], exp.Expr]) -> Plan:
    """A column-map expectation: NULLs are outside its domain, as in Great Expectations."""
    c = col(e.kwargs["column"])
    return _row(e, and_(not_null(c), bad(c)), count_all(c))


def not_null_plan(e: Expectation, ctx: Context) -> Plan:
    return _row(e, is_null(col(e.kwargs["column"])), count_all())


def null_plan(e: Expectation, ctx: Context) -> Plan:
    return _row(e, not_null(col(e.kwargs["column"])), count_all())


def _bounds(c: exp.Expr, kw: dict[str, Any]) -> exp.Expr:
    parts: list[exp.Expr] = []
    if kw.get("min_value") is not None:
        lo = lit(kw["min_value"])
        parts.append(
            exp.LTE(this=c.copy(), expression=lo) if kw.get("strict_min") else exp.LT(this=c.copy(), expression=lo)
        )
    if kw.get("max_value") is not None:
        hi = lit(kw["max_value"])
        parts.append(
            exp.GTE(this=c.copy(), expression=hi) if kw.get("strict_max") else exp.GT(this=c.copy(), expression=hi)
        )
    if not parts:
        raise ValueError("give min_value or max_value")
    return exp.paren(exp.or_(*parts), copy=False) if len(parts) > 1 else parts[0]


def between_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _bounds(c, e.kwargs))


def in_set_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.Not(this=in_list(c, e.kwargs["value_set"])))


def not_in_set_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: in_list(c, e.kwargs["value_set"]))


def regex_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.Not(this=regex_match(c, e.kwargs["regex"])))


def not_regex_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: regex_match(c, e.kwargs["regex"]))


def regex_list_plan(e: Expectation, ctx: Context) -> Plan:
    def bad(c: exp.Expr) -> exp.Expr:
        matches = [regex_match(c, str(r)) for r in e.kwargs["regex_list"]]
        combined = exp.and_(*matches) if e.kwargs.get("match_on") == "all" else exp.or_(*matches)
        return exp.Not(this=exp.paren(combined, copy=False))

    return _column_map(e, ctx, bad)


def not_regex_list_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.paren(exp.or_(*[regex_match(c, str(r)) for r in e.kwargs["regex_list"]])))


def lengths_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _bounds(exp.Length(this=as_text(c)), e.kwargs))


def length_equal_plan(e: Expectation, ctx: Context) -> Plan:
    value = lit(e.kwargs["value"])
    return _column_map(e, ctx, lambda c: exp.NEQ(this=exp.Length(this=as_text(c)), expression=value))


def strftime_plan(e: Expectation, ctx: Context) -> Plan:
    if not ctx.capabilities.strptime:
        return Plan(e, error=f"the {ctx.dialect} engine cannot parse text by a strftime format")
    fmt = exp.Literal.string(str(e.kwargs["strftime_format"]))
    return _column_map(e, ctx, lambda c: is_null(exp.Anonymous(this="TRY_STRPTIME", expressions=[as_text(c), fmt])))


def json_plan(e: Expectation, ctx: Context) -> Plan:
    if not ctx.capabilities.json_valid:
        return Plan(e, error=f"the {ctx.dialect} engine cannot tell valid JSON text")
    return _column_map(e, ctx, lambda c: exp.Not(this=exp.Anonymous(this="JSON_VALID", expressions=[as_text(c)])))


def dateutil_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: is_null(exp.TryCast(this=as_text(c), to=exp.DataType.build("TIMESTAMP"))))


def pair_equal_plan(e: Expectation, ctx: Context) -> Plan:
    a, b = col(e.kwargs["column_A"]), col(e.kwargs["column_B"])
    judged = exp.Not(this=exp.paren(and_(is_null(a), is_null(b))))
    differs = exp.Not(this=exp.NullSafeEQ(this=a.copy(), expression=b.copy()))
    return _row(e, and_(judged, differs), count_if(judged.copy()))


def pair_greater_plan(e: Expectation, ctx: Context) -> Plan:
    a, b = col(e.kwargs["column_A"]), col(e.kwargs["column_B"])
    judged = exp.Not(this=exp.paren(and_(is_null(a), is_null(b))))
    cmp = exp.GTE if e.kwargs.get("or_equal") else exp.GT
    holds = exp.Coalesce(this=cmp(this=a.copy(), expression=b.copy()), expressions=[exp.false()])
    return _row(e, and_(judged, exp.Not(this=holds)), count_if(judged.copy()))


def multisum_plan(e: Expectation, ctx: Context) -> Plan:
    cols = [col(c) for c in e.kwargs["column_list"]]
    judged = exp.Not(this=exp.paren(and_(*[is_null(c) for c in cols])))
    # as pandas sums a row: missing values count as 0
    terms = [exp.Coalesce(this=c.copy(), expressions=[exp.Literal.number(0)]) for c in cols]
    total: exp.Expr = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    differs = exp.NEQ(this=exp.paren(total), expression=lit(e.kwargs["sum_total"]))
    return _row(e, and_(judged, differs), count_if(judged.copy()))


def unique_plan(e: Expectation, ctx: Context) -> Plan:
    keys = [e.kwargs["column"]] if "column" in e.kwargs else list(e.kwargs["column_list"])
    mostly = e.mostly
    name, grouped = duplicated_keys(ctx, keys)

    in_scan = structs(ctx)

    def evaluate(v: list[Any]) -> Outcome:
        outcome = mostly_outcome(int(v[0] or 0), int(v[1] or 0), mostly)
        if in_scan:
            outcome.examples = tuple(v[2] or ())
        return outcome

    aggregates = [duplicates(name, extra=False), count_if(judged(keys))]
    if in_scan:
        aggregates.append(duplicate_examples(name, keys))
    return Plan(e, aggregates, evaluate, unique_predicate(keys), ctes={name: grouped})


def stat_plan(function: str) -> Callable[[Expectation, Context], Plan]:
    def plan(e: Expectation, ctx: Context) -> Plan:
        c = col(e.kwargs["column"])
        aggregate = exp.func(function, c, dialect=ctx.dialect)

        def evaluate(v: list[Any]) -> Outcome:
            value = v[0]
            if isinstance(value, float) and math.isnan(value):
                value = None
            return Outcome(between(value, e.kwargs), value)

        return Plan(e, [aggregate], evaluate)

    return plan


def row_count_plan(e: Expectation, ctx: Context) -> Plan:
    if e.type == "expect_table_row_count_to_equal":
        return Plan(e, [count_all()], lambda v: Outcome(int(v[0]) == int(e.kwargs["value"]), int(v[0])))
    return Plan(e, [count_all()], lambda v: Outcome(between(int(v[0]), e.kwargs), int(v[0])))


def distinct_count_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    aggs = [count_all(exp.Distinct(expressions=[c])), count_all(c.copy())]
    if e.type == "expect_column_unique_value_count_to_be_between":
        return Plan(e, aggs, lambda v: Outcome(between(int(v[0]), e.kwargs), int(v[0])))

    def proportion(v: list[Any]) -> Outcome:
        share = int(v[0]) / int(v[1]) if v[1] else None
        return Outcome(share is not None and between(share, e.kwargs), share)

    return Plan(e, aggs, proportion)


def distinct_set_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    aggregate = exp.ArrayAgg(this=exp.Distinct(expressions=[c]))
    expected = {plain(v) for v in e.kwargs["value_set"]}

    def evaluate(v: list[Any]) -> Outcome:
        seen = {plain(x) for x in (v[0] or []) if x is not None}
        observed = sorted(seen, key=str)
        if e.type.endswith("_to_be_in_set"):
            return Outcome(seen <= expected, observed, detail=extra(seen - expected))
        if e.type.endswith("_to_contain_set"):
            return Outcome(expected <= seen, observed, detail=missing(expected - seen))
        return Outcome(seen == expected, observed, detail=extra(seen - expected) + missing(expected - seen))

    return Plan(e, [aggregate], evaluate)


def most_common_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    counts = (
        exp.select(
            c.copy(), exp.alias_(count_all(), "n"), exp.alias_(exp.Window(this=exp.Max(this=count_all())), "top")
        )
        .from_(ctx.source())
        .where(not_null(c))
        .group_by(c.copy())
    )
    modes = (
        exp.select(exp.ArrayAgg(this=c.copy()))
        .from_(exp.Subquery(this=counts, alias="m"))
        .where(exp.EQ(this=exp.column("n"), expression=exp.column("top")))
    )
    expected = {plain(v) for v in e.kwargs["value_set"]}

    def evaluate(v: list[Any]) -> Outcome:
        found = [plain(x) for x in v[0] or []]
        hits = [x in expected for x in found]
        ok = bool(found) and (any(hits) if e.kwargs.get("ties_okay") else all(hits))
        return Outcome(ok, sorted(found, key=str))

    return Plan(e, [exp.Subquery(this=modes)], evaluate)
