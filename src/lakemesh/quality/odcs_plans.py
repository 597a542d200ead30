"""Plans of schema expectations (no scan), ODCS library metrics, SQL rules and freshness."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import sqlglot
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
    describe_operator,
    duplicate_examples,
    duplicated_keys,
    duplicates,
    extra,
    in_list,
    is_null,
    missing,
    not_null,
    number,
    odcs_compare,
    regex_match,
    structs,
    unique_predicate,
)
from lakemesh.spec.expectations import Expectation, parse_duration, render_query
from lakemesh.spec.types import DEFAULT_DIALECT

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


def schema_plan(e: Expectation, ctx: Context) -> Plan:
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
        outcome = Outcome(ok, cols, detail=extra(have - want) + missing(want - have))
    elif t == "expect_table_columns_to_match_ordered_list":
        outcome = Outcome(list(kw["column_list"]) == cols, cols)
    else:
        actual = ctx.columns[kw["column"]]
        wanted = [kw["type_"]] if t == "expect_column_values_to_be_of_type" else list(kw["type_list"] or [])
        outcome = Outcome(type_family(actual) in {type_family(str(w)) for w in wanted}, actual)
    return Plan(e, [], lambda v: outcome)


# --- ODCS metrics, SQL rules and freshness ------------------------------------------------------------------


def odcs_plan(e: Expectation, ctx: Context) -> Plan:
    metric = e.type.removeprefix("odcs.")
    args = e.kwargs.get("arguments") or {}
    operator = e.kwargs.get("operator")
    unit = str(e.kwargs.get("unit") or "rows")
    column = e.kwargs.get("column")
    c = col(column) if column else None
    unexpected: exp.Expr | None = None
    if metric == "rowCount":
        return Plan(e, [count_all()], lambda v: Outcome(odcs_compare(int(v[0]), operator), int(v[0])))
    if metric == "sql":
        # the rule is written in the workspace's dialect; the tree renders in the engine's with the rest
        query = render_query(str(e.kwargs["query"]), ctx.relation.sql(DEFAULT_DIALECT), column)
        tree = sqlglot.parse_one(query, read=DEFAULT_DIALECT)

        def sql_outcome(v: list[Any]) -> Outcome:
            value = number(v[0])
            return Outcome(value is not None and odcs_compare(value, operator), v[0])

        return Plan(e, [exp.Subquery(this=tree)], sql_outcome)
    ctes: dict[str, exp.Select] = {}
    examples: exp.Expr | None = None
    if metric == "duplicateValues":
        keys = [column] if column else [str(k) for k in args.get("properties") or []]
        name, grouped = duplicated_keys(ctx, keys)
        ctes[name] = grouped
        aggs = [duplicates(name, extra=True), count_all()]
        examples = duplicate_examples(name, keys) if structs(ctx) else None
        unexpected = unique_predicate(keys)
    else:
        assert c is not None
        if metric == "nullValues":
            unexpected = is_null(c)
        elif metric == "missingValues":
            listed = [v for v in args.get("missingValues") or [] if v is not None]
            unexpected = exp.or_(is_null(c), in_list(as_text(c), [str(v) for v in listed])) if listed else is_null(c)
        elif metric == "invalidValues":
            checks: list[exp.Expr] = []
            if isinstance(args.get("validValues"), list):
                checks.append(exp.Not(this=in_list(c, args["validValues"])))
            if isinstance(args.get("pattern"), str):
                checks.append(exp.Not(this=regex_match(c, args["pattern"])))
            unexpected = and_(not_null(c), exp.paren(exp.or_(*checks)))
        else:
            raise ValueError(f"unknown metric {metric}")
        aggs = [count_if(unexpected), count_all()]

    def evaluate(v: list[Any]) -> Outcome:
        count, rows = int(v[0] or 0), int(v[1] or 0)
        value = 100.0 * count / rows if unit == "percent" and rows else float(count)
        shown = round(value, 4) if unit == "percent" else count
        found = tuple(v[2] or ()) if examples is not None else None
        return Outcome(odcs_compare(value, operator), shown, count, rows, describe_operator(operator, unit), found)

    if examples is not None:
        aggs.append(examples)
    return Plan(e, aggs, evaluate, unexpected, ctes=ctes)


def freshness_plan(e: Expectation, ctx: Context) -> Plan:
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
