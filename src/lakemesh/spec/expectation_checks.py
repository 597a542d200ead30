"""Everything wrong with a contract's expectations, found at `lakemesh validate` time with file and field.

A missing column (with "did you mean"), a malformed regex, an unknown or missing Great Expectations
argument, a bad `mostly` or severity, `quarantine` on a rule that cannot judge single rows, and SQL
rules that do not parse, write, call table functions or read a table that is not a product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lakemesh.spec.expectations import (
    COMMON_KWARGS,
    ODCS_METRICS,
    UNSUPPORTED_KWARGS,
    CheckSeverity,
    Expectation,
    expectations_of,
    parse_duration,
    parse_severity,
    render_query,
)
from lakemesh.spec.problems import Problem, Severity, did_you_mean
from lakemesh.spec.types import DEFAULT_DIALECT
from lakemesh.spec.variables import placeholders

WRITES = (
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Create",
    "Drop",
    "Alter",
    "Command",
    "Copy",
    "Set",
    "Pragma",
    "Use",
    "Attach",
    "Detach",
    "TruncateTable",
    "Grant",
)


def expectation_problems(raw: dict[str, Any], file: str, products: Iterable[str] | None = None) -> list[Problem]:
    """Problems with the quality rules of every schema object of an ODCS document."""
    problems: list[Problem] = []
    for i, obj in enumerate(raw.get("schema") or []):
        if not isinstance(obj, dict):
            continue
        suite = expectations_of(obj)
        columns = [str(p.get("name")) for p in obj.get("properties") or [] if isinstance(p, dict)]
        base = f"schema[{i}]"
        for e in suite.expectations:
            if not e.implicit:
                problems.extend(_problems(e, columns, file, f"{base}.{e.where}", products))
        for name, why in suite.unsupported:
            problems.append(Problem(file, base, f"quality rule '{name}' cannot run: {why}", Severity.WARNING))
        problems.extend(_severity_problems(obj, file, base))
    return problems


def _severity_problems(obj: dict[str, Any], file: str, base: str) -> list[Problem]:
    out = []
    rules: list[tuple[str, Any]] = [(f"quality[{k}]", r) for k, r in enumerate(obj.get("quality") or [])]
    for j, prop in enumerate(obj.get("properties") or []):
        if isinstance(prop, dict):
            rules.extend((f"properties[{j}].quality[{k}]", r) for k, r in enumerate(prop.get("quality") or []))
    for where, rule in rules:
        if isinstance(rule, dict) and rule.get("severity") is not None and parse_severity(rule["severity"]) is None:
            msg = f"unknown severity '{rule['severity']}': use error, quarantine or warning"
            out.append(Problem(file, f"{base}.{where}.severity", msg))
    return out


def _problems(e: Expectation, columns: list[str], file: str, at: str, products: Iterable[str] | None) -> list[Problem]:
    out: list[Problem] = []

    def bad(msg: str, where: str = "", severity: Severity = Severity.ERROR) -> None:
        out.append(Problem(file, f"{at}{where}", f"{e.name}: {msg}", severity))

    if e.kind is not None:
        kw = e.kwargs
        for key in e.kind.required:
            if key not in kw:
                bad(f"{e.type} needs the argument '{key}'", ".implementation")
        known = set(e.kind.required) | set(e.kind.optional) | set(COMMON_KWARGS)
        for key in kw:
            if key in UNSUPPORTED_KWARGS:
                bad(f"'{key}' is not supported by lakemesh: declare a separate product or SQL rule", ".implementation")
            elif key not in known:
                hint = did_you_mean(key, sorted(known))
                bad(f"unknown argument '{key}' for {e.type}{hint}", ".implementation")
        mostly = kw.get("mostly")
        if mostly is not None and (not isinstance(mostly, int | float) or not 0 <= mostly <= 1):
            bad(f"mostly must be a number between 0 and 1, not {mostly!r}", ".implementation")
        for key in ("regex",):
            if isinstance(kw.get(key), str):
                out.extend(_regex_problem(e, kw[key], file, at))
        for regex in kw.get("regex_list") or []:
            out.extend(_regex_problem(e, str(regex), file, at))
        if "value_set" in kw and not isinstance(kw["value_set"], list):
            bad("value_set must be a list", ".implementation")
        if "min_value" in e.kind.optional and e.type.endswith("_between") and "value" not in e.kind.required:
            lo, hi = kw.get("min_value"), kw.get("max_value")
            if lo is None and hi is None:
                bad("give min_value, max_value or both", ".implementation")
            elif isinstance(lo, int | float) and isinstance(hi, int | float) and _is_number(lo) and lo > hi:
                bad(f"min_value {lo} is greater than max_value {hi}", ".implementation")
    elif e.type.startswith("odcs."):
        out.extend(_odcs_problems(e, file, at, products))
    elif e.type == "lakemesh.freshness" and parse_duration(e.kwargs.get("maxAge")) is None:
        bad(f"maxAge must be a duration such as 30m, 2h or 1d, not {e.kwargs.get('maxAge')!r}", ".implementation")
    for column in e.columns:
        if column not in columns:
            bad(f"no column '{column}' in this table{did_you_mean(column, columns)}")
    if e.severity is CheckSeverity.QUARANTINE and not e.quarantinable:
        bad("severity quarantine needs a rule that judges single rows; use error or warning", ".severity")
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _regex_problem(e: Expectation, regex: str, file: str, at: str) -> list[Problem]:
    try:
        re.compile(regex)
    except re.error as exc:
        return [Problem(file, f"{at}.implementation", f"{e.name}: invalid regular expression /{regex}/: {exc}")]
    return []


def _odcs_problems(e: Expectation, file: str, at: str, products: Iterable[str] | None) -> list[Problem]:
    out: list[Problem] = []
    metric = e.type.removeprefix("odcs.")
    args = e.kwargs.get("arguments") or {}
    if metric != "sql" and metric not in ODCS_METRICS:
        hint = did_you_mean(metric, sorted(ODCS_METRICS))
        out.append(Problem(file, f"{at}.metric", f"{e.name}: unknown quality metric '{metric}'{hint}"))
        return out
    if "operator" not in e.kwargs:
        out.append(Problem(file, at, f"{e.name}: give an operator such as mustBe: 0 or mustBeLessThan: 10"))
    column = e.kwargs.get("column")
    if metric in ("nullValues", "missingValues", "invalidValues") and not column:
        out.append(Problem(file, at, f"{e.name}: {metric} belongs under a property (a column)"))
    if metric == "invalidValues":
        if not isinstance(args.get("validValues"), list) and not isinstance(args.get("pattern"), str):
            out.append(
                Problem(file, f"{at}.arguments", f"{e.name}: invalidValues needs validValues (a list) or pattern")
            )
        if isinstance(args.get("pattern"), str):
            try:
                re.compile(args["pattern"])
            except re.error as exc:
                msg = f"{e.name}: invalid regular expression /{args['pattern']}/: {exc}"
                out.append(Problem(file, f"{at}.arguments.pattern", msg))
    if metric == "duplicateValues" and not column and not args.get("properties"):
        msg = f"{e.name}: duplicateValues at table level needs arguments.properties (the key columns)"
        out.append(Problem(file, f"{at}.arguments", msg))
    if metric == "sql":
        out.extend(sql_problems(e.kwargs.get("query"), file, f"{at}.query", e.name, products))
    unit = str(e.kwargs.get("unit") or "rows")
    if unit not in ("rows", "percent"):
        out.append(Problem(file, f"{at}.unit", f"{e.name}: unit must be rows or percent, not '{unit}'"))
    return out


def sql_problems(query: Any, file: str, at: str, name: str, products: Iterable[str] | None) -> list[Problem]:
    """A custom SQL rule must be one read-only SELECT of the table itself (or other products) giving one value."""
    import sqlglot
    from sqlglot import exp

    if not isinstance(query, str) or not query.strip():
        return [Problem(file, at, f"{name}: a sql rule needs a query")]
    # variables are resolved when the rule runs; here they only need to parse
    text = render_query(placeholders(query), "__lakemesh_table", "__lakemesh_column")
    try:
        statements = [s for s in sqlglot.parse(text, read=DEFAULT_DIALECT) if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return [Problem(file, at, f"{name}: the query does not parse: {first}")]
    if len(statements) != 1:
        return [Problem(file, at, f"{name}: give exactly one SELECT statement, not {len(statements)}")]
    tree = statements[0]
    writes = [n for n in tree.walk() if type(n).__name__ in WRITES]
    if writes or not isinstance(tree, exp.Query):
        what = type(writes[0] if writes else tree).__name__.upper()
        return [Problem(file, at, f"{name}: only a read-only SELECT is allowed, not {what}")]
    if any(not t.name for t in tree.find_all(exp.Table)):
        return [Problem(file, at, f"{name}: table functions (read_parquet, delta_scan, ...) cannot be used here")]
    if products is not None:
        return sql_reference_problems(query, file, at, name, products)
    if isinstance(tree, exp.Select) and len(tree.expressions) != 1:
        return [Problem(file, at, f"{name}: the query must return one value (one column), not {len(tree.expressions)}")]
    return []


def sql_reference_problems(query: Any, file: str, at: str, name: str, products: Iterable[str]) -> list[Problem]:
    """A rule's query may read `${table}` and products of the workspace; other names are errors."""
    import sqlglot

    if not isinstance(query, str):
        return []
    try:
        tree = sqlglot.parse_one(
            render_query(placeholders(query), "__lakemesh_table", "__lakemesh_column"), read=DEFAULT_DIALECT
        )
    except sqlglot.errors.ParseError:
        return []  # reported by the contract's own lint
    allowed = {"__lakemesh_table", *products}
    for full in sorted(sql_tables(tree)):
        if full not in allowed and not full.startswith("__var_"):  # a table named by a variable: known at use
            hint = did_you_mean(full, sorted(allowed - {"__lakemesh_table"}))
            return [
                Problem(file, at, f"{name}: the query reads '{full}', which is neither ${{table}} nor a product{hint}")
            ]
    return []


def sql_tables(tree: Any) -> set[str]:
    """The tables a parsed query reads, CTE names left out, as `domain.name` or `name`."""
    from sqlglot import exp

    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out = set()
    for table in tree.find_all(exp.Table):
        full = ".".join(p for p in (table.db, table.name) if p)
        if table.name and full not in ctes and table.name not in ctes:
            out.add(full)
    return out
