"""Expectations compiled into one SQL query: every metric an aggregate of a single SELECT, built as a sqlglot tree.

Row-level expectations count their unexpected rows with `COUNT_IF`; uniqueness counts the rows of
duplicated keys in a grouped scalar subquery; statistics are plain aggregates; schema expectations need
no scan at all. The tree is rendered for the engine's dialect, so Spark or PostgreSQL run the same checks.

Counting follows Great Expectations, so results agree with it exactly: column-map expectations ignore
NULLs (the domain is the non-null values, `mostly` is a share of it), uniqueness counts every row
whose value occurs more than once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from lakemesh.spec.expectations import Expectation, parse_duration, render_query

Evaluator = Callable[[list[Any]], "Outcome"]


@dataclass
class Outcome:
    """What one expectation observed."""

    success: bool
    observed: Any = None
    unexpected: int | None = None
    domain: int | None = None  # the rows the expectation judged (non-null values for column maps)
    detail: str = ""
    examples: tuple[dict[str, Any], ...] | None = None  # found by the scan itself (duplicated keys)

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected is None or not self.domain:
            return None if self.unexpected is None else 0.0
        return 100.0 * self.unexpected / self.domain


@dataclass
class Plan:
    """One compiled expectation: its aggregates in the shared SELECT and how to read them."""

    expectation: Expectation
    aggregates: list[exp.Expr] = field(default_factory=list)
    evaluate: Evaluator = field(default=lambda values: Outcome(True))
    unexpected: exp.Expr | None = None  # row predicate: examples and quarantine
    error: str | None = None  # could not be compiled against this table
    ctes: dict[str, exp.Select] = field(default_factory=dict)  # shared by plans grouping the same keys


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def lit(value: Any) -> exp.Expr:
    if isinstance(value, datetime | date):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIMESTAMP" if isinstance(value, datetime) else "DATE")
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    return exp.convert(value)


def _count_if(condition: exp.Expr) -> exp.Expr:
    return exp.CountIf(this=condition)


def _count(expression: exp.Expr | None = None) -> exp.Expr:
    return exp.Count(this=expression if expression is not None else exp.Star())


def _not_null(c: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null()))


def _is_null(c: exp.Expr) -> exp.Expr:
    return exp.Is(this=c.copy(), expression=exp.Null())


def _and(*parts: exp.Expr) -> exp.Expr:
    return exp.and_(*[exp.paren(p, copy=False) if isinstance(p, exp.Or) else p for p in parts])


def _text(c: exp.Expr) -> exp.Expr:
    return exp.cast(c.copy(), "VARCHAR")


def _regex(c: exp.Expr, pattern: str) -> exp.Expr:
    return exp.RegexpLike(this=_text(c), expression=exp.Literal.string(pattern))


def _in(c: exp.Expr, values: list[Any]) -> exp.Expr:
    return exp.In(this=c.copy(), expressions=[lit(v) for v in values if v is not None])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


# --- comparisons of an observed value ----------------------------------------------------------------


def between(value: Any, kw: dict[str, Any]) -> bool:
    """GE's min_value/max_value/strict_min/strict_max test; a missing value fails."""
    if value is None:
        return False
    lo, hi = kw.get("min_value"), kw.get("max_value")
    lo, hi, value = _comparable(lo, value), _comparable(hi, value), _comparable(value, value)
    if lo is not None and (value <= lo if kw.get("strict_min") else value < lo):
        return False
    return not (hi is not None and (value >= hi if kw.get("strict_max") else value > hi))


def _comparable(bound: Any, like: Any) -> Any:
    if bound is None:
        return None
    if isinstance(like, Decimal | float | int) and not isinstance(like, bool):
        return float(bound)
    if isinstance(like, datetime) and isinstance(bound, str):
        return datetime.fromisoformat(bound)
    if isinstance(like, date) and isinstance(bound, str):
        return date.fromisoformat(bound)
    return bound


def odcs_compare(value: float, operator: list[Any] | None) -> bool:
    """The ODCS operators (mustBe, mustBeLessThan, mustBeBetween, ...) applied to a metric."""
    if not operator:
        return value == 0
    op, bound = operator
    if op == "mustBe":
        return bool(value == bound)
    if op == "mustNotBe":
        return bool(value != bound)
    if op in ("mustBeBetween", "mustNotBeBetween"):
        inside = float(bound[0]) <= value <= float(bound[1])
        return inside if op == "mustBeBetween" else not inside
    limit = float(bound)
    return {
        "mustBeGreaterThan": value > limit,
        "mustBeGreaterOrEqualTo": value >= limit,
        "mustBeLessThan": value < limit,
        "mustBeLessOrEqualTo": value <= limit,
    }[op]


def _describe_operator(operator: list[Any] | None, unit: str) -> str:
    if not operator:
        return "must be 0"
    op, bound = operator
    words = re.sub(r"([A-Z])", r" \1", op).lower()
    suffix = "%" if unit == "percent" else ""
    if isinstance(bound, list):
        return f"{words} {bound[0]}{suffix} and {bound[1]}{suffix}"
    return f"{words} {bound}{suffix}"


def mostly_outcome(unexpected: int, domain: int, mostly: float) -> Outcome:
    ok = domain == 0 or (domain - unexpected) / domain >= mostly
    return Outcome(ok, unexpected, unexpected, domain)


# --- compiling one expectation --------------------------------------------------------------------------


@dataclass
class Context:
    """What compiling needs to know: the relation's SQL name, its columns and the dialect."""

    relation: exp.Expr
    columns: dict[str, str]  # name -> engine type
    dialect: str = "duckdb"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def source(self) -> exp.Expr:
        return self.relation.copy()


def compile_expectation(e: Expectation, ctx: Context) -> Plan:
    missing = [c for c in e.columns if c not in ctx.columns]
    if missing and e.type != "expect_column_to_exist":
        return Plan(e, error=f"no column {', '.join(repr(m) for m in missing)} in the table")
    handler = _HANDLERS.get(e.type)
    if handler is None:
        return Plan(e, error=f"{e.type} is not an expectation lakemesh can run")
    try:
        return handler(e, ctx)
    except (ValueError, TypeError, KeyError, sqlglot.errors.ParseError) as exc:
        return Plan(e, error=f"cannot compile: {exc}")


def _row(e: Expectation, unexpected: exp.Expr, domain: exp.Expr) -> Plan:
    mostly = e.mostly
    return Plan(
        e,
        [_count_if(unexpected), domain],
        lambda v: mostly_outcome(int(v[0] or 0), int(v[1] or 0), mostly),
        unexpected,
    )


def _column_map(e: Expectation, ctx: Context, bad: Callable[[exp.Expr], exp.Expr]) -> Plan:
    """A column-map expectation: NULLs are outside its domain, as in Great Expectations."""
    c = col(e.kwargs["column"])
    return _row(e, _and(_not_null(c), bad(c)), _count(c))


def _not_null_plan(e: Expectation, ctx: Context) -> Plan:
    return _row(e, _is_null(col(e.kwargs["column"])), _count())


def _null_plan(e: Expectation, ctx: Context) -> Plan:
    return _row(e, _not_null(col(e.kwargs["column"])), _count())


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


def _between_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _bounds(c, e.kwargs))


def _in_set_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.Not(this=_in(c, e.kwargs["value_set"])))


def _not_in_set_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _in(c, e.kwargs["value_set"]))


def _regex_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.Not(this=_regex(c, e.kwargs["regex"])))


def _not_regex_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _regex(c, e.kwargs["regex"]))


def _regex_list_plan(e: Expectation, ctx: Context) -> Plan:
    def bad(c: exp.Expr) -> exp.Expr:
        matches = [_regex(c, str(r)) for r in e.kwargs["regex_list"]]
        combined = exp.and_(*matches) if e.kwargs.get("match_on") == "all" else exp.or_(*matches)
        return exp.Not(this=exp.paren(combined, copy=False))

    return _column_map(e, ctx, bad)


def _not_regex_list_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.paren(exp.or_(*[_regex(c, str(r)) for r in e.kwargs["regex_list"]])))


def _lengths_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _bounds(exp.Length(this=_text(c)), e.kwargs))


def _length_equal_plan(e: Expectation, ctx: Context) -> Plan:
    value = lit(e.kwargs["value"])
    return _column_map(e, ctx, lambda c: exp.NEQ(this=exp.Length(this=_text(c)), expression=value))


def _strftime_plan(e: Expectation, ctx: Context) -> Plan:
    fmt = exp.Literal.string(str(e.kwargs["strftime_format"]))
    return _column_map(e, ctx, lambda c: _is_null(exp.func("TRY_STRPTIME", _text(c), fmt, dialect="duckdb")))


def _json_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: exp.Not(this=exp.func("JSON_VALID", _text(c), dialect="duckdb")))


def _dateutil_plan(e: Expectation, ctx: Context) -> Plan:
    return _column_map(e, ctx, lambda c: _is_null(exp.TryCast(this=_text(c), to=exp.DataType.build("TIMESTAMP"))))


def _pair_equal_plan(e: Expectation, ctx: Context) -> Plan:
    a, b = col(e.kwargs["column_A"]), col(e.kwargs["column_B"])
    judged = exp.Not(this=exp.paren(_and(_is_null(a), _is_null(b))))
    differs = exp.Not(this=exp.NullSafeEQ(this=a.copy(), expression=b.copy()))
    return _row(e, _and(judged, differs), _count_if(judged.copy()))


def _pair_greater_plan(e: Expectation, ctx: Context) -> Plan:
    a, b = col(e.kwargs["column_A"]), col(e.kwargs["column_B"])
    judged = exp.Not(this=exp.paren(_and(_is_null(a), _is_null(b))))
    cmp = exp.GTE if e.kwargs.get("or_equal") else exp.GT
    holds = exp.Coalesce(this=cmp(this=a.copy(), expression=b.copy()), expressions=[exp.false()])
    return _row(e, _and(judged, exp.Not(this=holds)), _count_if(judged.copy()))


def _multisum_plan(e: Expectation, ctx: Context) -> Plan:
    cols = [col(c) for c in e.kwargs["column_list"]]
    judged = exp.Not(this=exp.paren(_and(*[_is_null(c) for c in cols])))
    # as pandas sums a row: missing values count as 0
    terms = [exp.Coalesce(this=c.copy(), expressions=[exp.Literal.number(0)]) for c in cols]
    total: exp.Expr = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    differs = exp.NEQ(this=exp.paren(total), expression=lit(e.kwargs["sum_total"]))
    return _row(e, _and(judged, differs), _count_if(judged.copy()))


COPIES = "__lakemesh_copies"


def _duplicated_keys(ctx: Context, keys: list[str]) -> tuple[str, exp.Select]:
    """A CTE of the keys occurring more than once and how often: one GROUP BY however many rules need it."""
    cols = [col(k) for k in keys]
    name = "__lakemesh_dup_" + "_".join(f"{len(k)}{re.sub(r'[^A-Za-z0-9]', '_', k)}" for k in keys)
    grouped = (
        exp.select(*cols, exp.alias_(_count(), COPIES))
        .from_(ctx.source())
        .where(_judged(keys))
        .group_by(*[c.copy() for c in cols])
        .having(exp.GT(this=_count(), expression=exp.Literal.number(1)))
    )
    return name, grouped


def _duplicates(name: str, extra: bool) -> exp.Expr:
    """A scalar subquery: rows whose key occurs more than once (or, `extra`, the copies beyond the first)."""
    n = exp.column(COPIES)
    measure = exp.Sub(this=n, expression=exp.Literal.number(1)) if extra else n
    return exp.Subquery(this=exp.select(exp.Sum(this=measure)).from_(name))


def _duplicate_examples(name: str, keys: list[str], limit: int = 3) -> exp.Expr:
    """A scalar subquery: the most repeated keys with their copies, as a list of structs."""
    fields = [exp.PropertyEQ(this=exp.to_identifier(k), expression=col(k)) for k in keys]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("copies"), expression=exp.column(COPIES)))
    top = (
        exp.select(exp.alias_(exp.Struct(expressions=fields), "x"))
        .from_(name)
        .order_by(exp.Ordered(this=exp.column(COPIES), desc=True))
        .limit(limit)
    )
    return exp.Subquery(this=exp.select(exp.ArrayAgg(this=exp.column("x"))).from_(exp.Subquery(this=top)))


def _judged(keys: list[str]) -> exp.Expr:
    cols = [col(k) for k in keys]
    return _not_null(cols[0]) if len(cols) == 1 else exp.Not(this=exp.paren(_and(*[_is_null(c) for c in cols])))


def unique_predicate(keys: list[str]) -> exp.Expr:
    """Row predicate: this row's key occurs more than once (a window count; only for examples and quarantine)."""
    window = exp.Window(this=_count(), partition_by=[col(k) for k in keys])
    return _and(_judged(keys), exp.GT(this=window, expression=exp.Literal.number(1)))


def _unique_plan(e: Expectation, ctx: Context) -> Plan:
    keys = [e.kwargs["column"]] if "column" in e.kwargs else list(e.kwargs["column_list"])
    mostly = e.mostly
    name, grouped = _duplicated_keys(ctx, keys)

    in_scan = _structs(ctx)

    def evaluate(v: list[Any]) -> Outcome:
        outcome = mostly_outcome(int(v[0] or 0), int(v[1] or 0), mostly)
        if in_scan:
            outcome.examples = tuple(v[2] or ())
        return outcome

    aggregates = [_duplicates(name, extra=False), _count_if(_judged(keys))]
    if in_scan:
        aggregates.append(_duplicate_examples(name, keys))
    return Plan(e, aggregates, evaluate, unique_predicate(keys), ctes={name: grouped})


def _structs(ctx: Context) -> bool:
    """Whether the engine returns a list of structs from a scalar subquery (examples found in the scan);
    elsewhere examples of repeated keys come from a query of their own."""
    return ctx.dialect in ("duckdb", "spark", "databricks")


def _stat_plan(function: str) -> Callable[[Expectation, Context], Plan]:
    def plan(e: Expectation, ctx: Context) -> Plan:
        c = col(e.kwargs["column"])
        aggregate = exp.func(function, c, dialect="duckdb")

        def evaluate(v: list[Any]) -> Outcome:
            value = v[0]
            if isinstance(value, float) and math.isnan(value):
                value = None
            return Outcome(between(value, e.kwargs), value)

        return Plan(e, [aggregate], evaluate)

    return plan


def _row_count_plan(e: Expectation, ctx: Context) -> Plan:
    if e.type == "expect_table_row_count_to_equal":
        return Plan(e, [_count()], lambda v: Outcome(int(v[0]) == int(e.kwargs["value"]), int(v[0])))
    return Plan(e, [_count()], lambda v: Outcome(between(int(v[0]), e.kwargs), int(v[0])))


def _distinct_count_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    aggs = [_count(exp.Distinct(expressions=[c])), _count(c.copy())]
    if e.type == "expect_column_unique_value_count_to_be_between":
        return Plan(e, aggs, lambda v: Outcome(between(int(v[0]), e.kwargs), int(v[0])))

    def proportion(v: list[Any]) -> Outcome:
        share = int(v[0]) / int(v[1]) if v[1] else None
        return Outcome(share is not None and between(share, e.kwargs), share)

    return Plan(e, aggs, proportion)


def _distinct_set_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    aggregate = exp.ArrayAgg(this=exp.Distinct(expressions=[c]))
    expected = {_plain(v) for v in e.kwargs["value_set"]}

    def evaluate(v: list[Any]) -> Outcome:
        seen = {_plain(x) for x in (v[0] or []) if x is not None}
        observed = sorted(seen, key=str)
        if e.type.endswith("_to_be_in_set"):
            return Outcome(seen <= expected, observed, detail=_extra(seen - expected))
        if e.type.endswith("_to_contain_set"):
            return Outcome(expected <= seen, observed, detail=_missing(expected - seen))
        return Outcome(seen == expected, observed, detail=_extra(seen - expected) + _missing(expected - seen))

    return Plan(e, [aggregate], evaluate)


def _extra(values: set[Any]) -> str:
    return f"unexpected {sorted(values, key=str)[:10]} " if values else ""


def _missing(values: set[Any]) -> str:
    return f"missing {sorted(values, key=str)[:10]}" if values else ""


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _most_common_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    counts = (
        exp.select(c.copy(), exp.alias_(_count(), "n"), exp.alias_(exp.Window(this=exp.Max(this=_count())), "top"))
        .from_(ctx.source())
        .where(_not_null(c))
        .group_by(c.copy())
    )
    modes = (
        exp.select(exp.ArrayAgg(this=c.copy()))
        .from_(exp.Subquery(this=counts, alias="m"))
        .where(exp.EQ(this=exp.column("n"), expression=exp.column("top")))
    )
    expected = {_plain(v) for v in e.kwargs["value_set"]}

    def evaluate(v: list[Any]) -> Outcome:
        found = [_plain(x) for x in v[0] or []]
        hits = [x in expected for x in found]
        ok = bool(found) and (any(hits) if e.kwargs.get("ties_okay") else all(hits))
        return Outcome(ok, sorted(found, key=str))

    return Plan(e, [exp.Subquery(this=modes)], evaluate)


# --- schema expectations: answered from the relation's columns, no scan --------------------------------

_FAMILIES = {
    "integer": ("int", "integer", "bigint", "smallint", "tinyint", "hugeint", "long", "short", "byte", "uint"),
    "float": ("float", "double", "real", "float64", "float32", "float16", "number"),
    "decimal": ("decimal", "numeric"),
    "string": ("str", "string", "varchar", "text", "char", "object", "utf8", "large_string", "string_view"),
    "boolean": ("bool", "boolean"),
    "timestamp": ("timestamp", "datetime", "datetime64", "timestamptz"),
    "date": ("date", "date32"),
    "time": ("time",),
    "binary": ("blob", "binary", "bytea", "bytes"),
}


def type_family(name: str) -> str:
    """int64/INTEGER/BIGINT -> integer, str/VARCHAR -> string, datetime64[ns] -> timestamp, ..."""
    text = re.sub(r"[\[(].*$", "", name.strip().lower())
    text = re.sub(r"\d+$", "", text) if text not in ("float64", "float32", "date32") else text
    for family, names in _FAMILIES.items():
        if text in names or text.rstrip("_") in names:
            return family
    if text.startswith("timestamp"):
        return "timestamp"
    if text.startswith("int") or text.startswith("uint"):
        return "integer"
    return text


def _schema_plan(e: Expectation, ctx: Context) -> Plan:
    cols = list(ctx.columns)
    kw = e.kwargs
    t = e.type
    if t == "expect_column_to_exist":
        ok = kw["column"] in cols and (kw.get("column_index") is None or cols.index(kw["column"]) == kw["column_index"])
        outcome = Outcome(ok, kw["column"] in cols)
    elif t == "expect_table_column_count_to_equal":
        outcome = Outcome(len(cols) == int(kw["value"]), len(cols))
    elif t == "expect_table_column_count_to_be_between":
        outcome = Outcome(between(len(cols), kw), len(cols))
    elif t == "expect_table_columns_to_match_set":
        want, have = set(kw["column_set"]), set(cols)
        ok = want == have if kw.get("exact_match", True) else want <= have
        outcome = Outcome(ok, cols, detail=_extra(have - want) + _missing(want - have))
    elif t == "expect_table_columns_to_match_ordered_list":
        outcome = Outcome(list(kw["column_list"]) == cols, cols)
    else:
        actual = ctx.columns[kw["column"]]
        wanted = [kw["type_"]] if t == "expect_column_values_to_be_of_type" else list(kw["type_list"] or [])
        outcome = Outcome(type_family(actual) in {type_family(str(w)) for w in wanted}, actual)
    return Plan(e, [], lambda v: outcome)


# --- ODCS metrics, SQL rules and freshness ------------------------------------------------------------------


def _odcs_plan(e: Expectation, ctx: Context) -> Plan:
    metric = e.type.removeprefix("odcs.")
    args = e.kwargs.get("arguments") or {}
    operator = e.kwargs.get("operator")
    unit = str(e.kwargs.get("unit") or "rows")
    column = e.kwargs.get("column")
    c = col(column) if column else None
    unexpected: exp.Expr | None = None
    if metric == "rowCount":
        return Plan(e, [_count()], lambda v: Outcome(odcs_compare(int(v[0]), operator), int(v[0])))
    if metric == "sql":
        query = render_query(str(e.kwargs["query"]), ctx.relation.sql(ctx.dialect), column)
        tree = sqlglot.parse_one(query, read="duckdb")

        def sql_outcome(v: list[Any]) -> Outcome:
            value = _number(v[0])
            return Outcome(value is not None and odcs_compare(value, operator), v[0])

        return Plan(e, [exp.Subquery(this=tree)], sql_outcome)
    ctes: dict[str, exp.Select] = {}
    examples: exp.Expr | None = None
    if metric == "duplicateValues":
        keys = [column] if column else [str(k) for k in args.get("properties") or []]
        name, grouped = _duplicated_keys(ctx, keys)
        ctes[name] = grouped
        aggs = [_duplicates(name, extra=True), _count()]
        examples = _duplicate_examples(name, keys) if _structs(ctx) else None
        unexpected = unique_predicate(keys)
    else:
        assert c is not None
        if metric == "nullValues":
            unexpected = _is_null(c)
        elif metric == "missingValues":
            listed = [v for v in args.get("missingValues") or [] if v is not None]
            unexpected = exp.or_(_is_null(c), _in(_text(c), [str(v) for v in listed])) if listed else _is_null(c)
        elif metric == "invalidValues":
            checks: list[exp.Expr] = []
            if isinstance(args.get("validValues"), list):
                checks.append(exp.Not(this=_in(c, args["validValues"])))
            if isinstance(args.get("pattern"), str):
                checks.append(exp.Not(this=_regex(c, args["pattern"])))
            unexpected = _and(_not_null(c), exp.paren(exp.or_(*checks)))
        else:
            raise ValueError(f"unknown metric {metric}")
        aggs = [_count_if(unexpected), _count()]

    def evaluate(v: list[Any]) -> Outcome:
        count, rows = int(v[0] or 0), int(v[1] or 0)
        value = 100.0 * count / rows if unit == "percent" and rows else float(count)
        shown = round(value, 4) if unit == "percent" else count
        found = tuple(v[2] or ()) if examples is not None else None
        return Outcome(odcs_compare(value, operator), shown, count, rows, _describe_operator(operator, unit), found)

    if examples is not None:
        aggs.append(examples)
    return Plan(e, aggs, evaluate, unexpected, ctes=ctes)


def _freshness_plan(e: Expectation, ctx: Context) -> Plan:
    c = col(e.kwargs["column"])
    limit = parse_duration(e.kwargs.get("maxAge"))
    if limit is None:
        raise ValueError(f"maxAge {e.kwargs.get('maxAge')!r} is not a duration")

    def evaluate(v: list[Any]) -> Outcome:
        newest = v[0]
        if newest is None:
            return Outcome(False, None, detail="no values")
        if isinstance(newest, date) and not isinstance(newest, datetime):
            newest = datetime(newest.year, newest.month, newest.day)
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        age = (ctx.now - newest).total_seconds()
        return Outcome(age <= limit, round(age, 1), detail=f"newest {newest.isoformat()}, max age {limit:.0f} s")

    return Plan(e, [exp.Max(this=c)], evaluate)


_HANDLERS: dict[str, Callable[[Expectation, Context], Plan]] = {
    "expect_column_values_to_not_be_null": _not_null_plan,
    "expect_column_values_to_be_null": _null_plan,
    "expect_column_values_to_be_between": _between_plan,
    "expect_column_values_to_be_in_set": _in_set_plan,
    "expect_column_values_to_not_be_in_set": _not_in_set_plan,
    "expect_column_values_to_match_regex": _regex_plan,
    "expect_column_values_to_not_match_regex": _not_regex_plan,
    "expect_column_values_to_match_regex_list": _regex_list_plan,
    "expect_column_values_to_not_match_regex_list": _not_regex_list_plan,
    "expect_column_value_lengths_to_be_between": _lengths_plan,
    "expect_column_value_lengths_to_equal": _length_equal_plan,
    "expect_column_values_to_match_strftime_format": _strftime_plan,
    "expect_column_values_to_be_json_parseable": _json_plan,
    "expect_column_values_to_be_dateutil_parseable": _dateutil_plan,
    "expect_column_pair_values_to_be_equal": _pair_equal_plan,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_greater_plan,
    "expect_multicolumn_sum_to_equal": _multisum_plan,
    "expect_column_values_to_be_unique": _unique_plan,
    "expect_compound_columns_to_be_unique": _unique_plan,
    "expect_table_row_count_to_be_between": _row_count_plan,
    "expect_table_row_count_to_equal": _row_count_plan,
    "expect_column_mean_to_be_between": _stat_plan("AVG"),
    "expect_column_median_to_be_between": _stat_plan("MEDIAN"),
    "expect_column_stdev_to_be_between": _stat_plan("STDDEV_SAMP"),
    "expect_column_sum_to_be_between": _stat_plan("SUM"),
    "expect_column_min_to_be_between": _stat_plan("MIN"),
    "expect_column_max_to_be_between": _stat_plan("MAX"),
    "expect_column_unique_value_count_to_be_between": _distinct_count_plan,
    "expect_column_proportion_of_unique_values_to_be_between": _distinct_count_plan,
    "expect_column_distinct_values_to_be_in_set": _distinct_set_plan,
    "expect_column_distinct_values_to_contain_set": _distinct_set_plan,
    "expect_column_distinct_values_to_equal_set": _distinct_set_plan,
    "expect_column_most_common_value_to_be_in_set": _most_common_plan,
    "expect_column_to_exist": _schema_plan,
    "expect_table_column_count_to_equal": _schema_plan,
    "expect_table_column_count_to_be_between": _schema_plan,
    "expect_table_columns_to_match_set": _schema_plan,
    "expect_table_columns_to_match_ordered_list": _schema_plan,
    "expect_column_values_to_be_of_type": _schema_plan,
    "expect_column_values_to_be_in_type_list": _schema_plan,
    "odcs.nullValues": _odcs_plan,
    "odcs.missingValues": _odcs_plan,
    "odcs.invalidValues": _odcs_plan,
    "odcs.duplicateValues": _odcs_plan,
    "odcs.rowCount": _odcs_plan,
    "odcs.sql": _odcs_plan,
    "lakemesh.freshness": _freshness_plan,
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
