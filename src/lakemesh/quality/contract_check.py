"""Checking records against a contract: every rule compiled into one vectorized scan of the engine.

Rules: presence of each column, type (the value casts to the contract type), required, allowed values,
pattern, numeric range, string length, column uniqueness and primary-key uniqueness.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import exp

from lakemesh.engines import Engine, EngineError, FileFormat, make_engine
from lakemesh.errors import DataFileError
from lakemesh.quality.csv_reading import ENCODING_HINT, csv_hint, csv_layout, located
from lakemesh.quality.results import CheckReport, CheckStatus, RuleResult
from lakemesh.spec.odcs import Column, Contract, Table
from lakemesh.spec.types import DEFAULT_DIALECT, sql_type
from lakemesh.sql import lit, q

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".parquet": "parquet",
}
ROW = "__lakemesh_row"
SOURCE = "__lakemesh_source"
_WARN_SEVERITIES = {"warning", "warn", "info"}


@dataclass(frozen=True)
class Rule:
    """One compiled rule: a row predicate (violating rows) or an aggregate that counts violations."""

    rule: str
    column: str | None
    detail: str
    predicate: str | None = None
    aggregate: str | None = None
    duplicates_of: tuple[str, ...] = ()
    warning: bool = False

    @property
    def count_sql(self) -> str:
        return self.aggregate or f"count(*) FILTER (WHERE {self.predicate})"


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return {"jsonl": "json", "ndjson": "json"}.get(given, given)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataFileError(
            f"{path}: cannot tell the format from the extension '{path.suffix}'",
            "pass --format csv|jsonl|parquet",
        )
    return fmt


def _reader(con: Engine, path: Path, fmt: str, table: Table | None, options: dict[str, Any]) -> str:
    """The engine's reader of the file, records numbered; CSV and JSON as text, so the type rule decides
    what fits (JSON: the keys of a sample of the records)."""
    known = {f.value for f in FileFormat}
    if fmt not in known:
        raise DataFileError(f"{path}: unknown format '{fmt}'", "use csv, jsonl or parquet")
    if FileFormat(fmt) not in con.capabilities.file_formats or not con.capabilities.numbered_reads:
        raise DataFileError(f"{path}: engine {con.name} cannot read {fmt} files", "check files with the duckdb engine")
    if fmt == "csv":
        layout = csv_layout(path, table, options, str(path)).options if table is not None else None  # as bronze
        return con.read_csv(str(path), layout, numbered=ROW)
    if fmt == "json":
        return con.read_json(str(path), numbered=ROW)
    return con.read_parquet([str(path)], numbered=ROW)


def load_source(
    con: Engine,
    path: Path,
    fmt: str,
    table: Table | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Materialize the file once, numbering records so examples can name them; a CSV is read by the
    `table`'s columns with the reader `options` when given."""
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    try:
        reader = _reader(con, path, fmt, table, options or {})
        con.execute(f"CREATE TEMP TABLE {SOURCE} AS SELECT * FROM {reader}")
    except EngineError as exc:
        where = located(exc.problem, str(path))
        if where is not None:
            raise DataFileError(where, csv_hint(exc.problem) if fmt == "csv" else "fix the file") from exc
        encoding = exc.problem.what if exc.problem is not None and exc.problem.encoding else None
        message = f"{exc.message}: {encoding}" if encoding else exc.message
        hint = ENCODING_HINT if encoding else "check the file's format, or pass --format"
        raise DataFileError(f"{path}: cannot be read as {fmt}: {message}", hint) from exc


def compile_rules(table: Table, present: set[str], dialect: str = DEFAULT_DIALECT) -> list[Rule]:
    """The rules of a contract table, for a source holding the columns in `present`, in the engine's SQL."""
    rules: list[Rule] = []
    for col in table.columns:
        if col.name not in present:
            if col.required or col.primary_key:
                rules.append(
                    Rule(
                        "missing_column",
                        col.name,
                        "required column is absent from the data",
                        aggregate="count(*)",
                    )
                )
            continue
        rules.extend(_column_rules(col, dialect))
    pk = [c for c in table.primary_key if c in present]
    if pk:
        keys = ", ".join(q(c) for c in pk)
        agg = f"count(*) - count(DISTINCT ({keys}))" if len(pk) > 1 else f"count({keys}) - count(DISTINCT {keys})"
        rules.append(
            Rule(
                "primary_key_unique",
                "+".join(pk),
                "primary key values must be unique",
                aggregate=agg,
                duplicates_of=tuple(pk),
            )
        )
    return rules


def does_not_fit(col: Column, value: str | None = None, dialect: str = DEFAULT_DIALECT) -> str:
    """SQL true when a present value does not fit the column's contract type exactly (needs TRY_CAST)."""
    c = value or q(col.name)
    dtype = sql_type(col.logical_type, col.physical_type)
    typed = f"TRY_CAST({c} AS {dtype.sql(dialect)})"
    bad = f"{typed} IS NULL"
    if dtype.is_type(*exp.DataType.INTEGER_TYPES, exp.DataType.Type.DECIMAL):
        # DuckDB rounds '2.5' to an INTEGER and '1.005' to DECIMAL(10,2): a value must fit exactly
        bad += f" OR TRY_CAST({c} AS DOUBLE) <> {typed}"
    return f"{c} IS NOT NULL AND ({bad})"


def _column_rules(col: Column, dialect: str) -> list[Rule]:
    c = q(col.name)
    dtype = sql_type(col.logical_type, col.physical_type)
    target = dtype.sql(dialect)
    typed = f"TRY_CAST({c} AS {target})"
    text = f"CAST({c} AS VARCHAR)"
    rules = [Rule("type", col.name, f"values must fit {target}", predicate=does_not_fit(col, dialect=dialect))]
    if col.required or col.primary_key:
        rules.append(Rule("required", col.name, "value is required", predicate=f"{c} IS NULL"))
    if col.valid_values is not None:
        allowed = ", ".join(lit(str(v)) for v in col.valid_values)
        rules.append(
            Rule(
                "allowed_values",
                col.name,
                f"must be one of {list(col.valid_values)}",
                predicate=f"{c} IS NOT NULL AND {text} NOT IN ({allowed})",
                warning=_is_warning(col),
            )
        )
    if col.pattern:
        rules.append(
            Rule(
                "pattern",
                col.name,
                f"must match /{col.pattern}/",
                predicate=f"{c} IS NOT NULL AND NOT regexp_full_match({text}, {lit(col.pattern)})",
            )
        )
    rules.extend(_range_rules(col, typed, text))
    if col.unique and not col.primary_key:
        rules.append(
            Rule(
                "unique",
                col.name,
                "values must be unique",
                aggregate=f"count({c}) - count(DISTINCT {c})",
                duplicates_of=(col.name,),
            )
        )
    return rules


def _range_rules(col: Column, typed: str, text: str) -> list[Rule]:
    opts = col.options
    bounds = []
    for key, op in (
        ("minimum", "<"),
        ("exclusiveMinimum", "<="),
        ("maximum", ">"),
        ("exclusiveMaximum", ">="),
    ):
        value = opts.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            bounds.append((f"{typed} {op} {lit(value)}", f"{key} {value}"))
    for key, op in (("minLength", "<"), ("maxLength", ">")):
        value = opts.get(key)
        if isinstance(value, int):
            bounds.append((f"length({text}) {op} {value}", f"{key} {value}"))
    if not bounds:
        return []
    predicate = " OR ".join(f"({b})" for b, _ in bounds)
    return [Rule("range", col.name, "within " + ", ".join(d for _, d in bounds), predicate=predicate)]


def _is_warning(col: Column) -> bool:
    for rule in col.raw.get("quality") or []:
        if isinstance(rule, dict) and (rule.get("metric") or rule.get("rule")) in (
            "invalidValues",
            "validValues",
        ):
            return str(rule.get("severity", "")).lower() in _WARN_SEVERITIES
    return False


def _examples(con: Engine, rule: Rule, limit: int) -> tuple[dict[str, Any], ...]:
    if rule.duplicates_of:
        keys = ", ".join(q(k) for k in rule.duplicates_of)
        sql = (
            f"SELECT {keys}, count(*) AS copies, min({ROW}) AS first_record FROM {SOURCE}"
            f" WHERE {' AND '.join(f'{q(k)} IS NOT NULL' for k in rule.duplicates_of)}"
            f" GROUP BY {keys} HAVING count(*) > 1 ORDER BY first_record LIMIT {limit}"
        )
    elif rule.predicate:
        shown = f"{ROW} AS record" + (f", {q(rule.column)} AS value" if rule.column else "")
        sql = f"SELECT {shown} FROM {SOURCE} WHERE {rule.predicate} ORDER BY {ROW} LIMIT {limit}"
    else:
        return ()
    return tuple(con.records(sql))


def check_file(
    contract: Contract,
    path: Path,
    table: str | None = None,
    fmt: str | None = None,
    examples: int = 3,
    options: dict[str, Any] | None = None,
) -> CheckReport:
    """Check every record of a CSV, JSON lines or Parquet file against a contract table (a CSV read
    with the reader `options`, as a bronze source's `build.source.options`)."""
    started = time.perf_counter()
    spec = contract.table(table)
    con = make_engine()
    try:
        if not con.capabilities.try_cast:
            raise DataFileError(f"engine {con.name} cannot check types: it has no TRY_CAST", "use the duckdb engine")
        load_source(con, path, detect_format(path, fmt), spec, options)
        present = set(con.describe(f"SELECT * FROM {SOURCE}")) - {ROW}
        rules = compile_rules(spec, present, con.dialect)
        results = _run(con, rules, examples)
        rows = int(con.rows(f"SELECT count(*) FROM {SOURCE}")[0][0])
    finally:
        con.close()
    extra = sorted(present - {c.name for c in spec.columns})
    if extra:
        results.append(
            RuleResult(
                rule="unknown_columns",
                column=None,
                status=CheckStatus.WARNING,
                violations=len(extra),
                detail=f"not in the contract: {', '.join(extra)}",
            )
        )
    seconds = time.perf_counter() - started
    return CheckReport(
        contract_id=contract.id, table=spec.name, source=str(path), rows=rows, seconds=seconds, results=results
    )


def _run(con: Engine, rules: list[Rule], examples: int) -> list[RuleResult]:
    if not rules:
        return []
    select = ", ".join(f"{r.count_sql} AS {q(f'r{i}')}" for i, r in enumerate(rules))
    try:
        counts = con.rows(f"SELECT {select} FROM {SOURCE}")[0]
    except EngineError:
        # one broken rule (a regex DuckDB rejects, say) must not hide the others: run them one by one
        return [_run_one(con, r, examples) for r in rules]
    return [_result(con, r, int(n or 0), examples) for r, n in zip(rules, counts, strict=True)]


def _run_one(con: Engine, rule: Rule, examples: int) -> RuleResult:
    try:
        n = con.rows(f"SELECT {rule.count_sql} FROM {SOURCE}")[0][0]
    except EngineError as exc:
        detail = f"{rule.detail}: {exc.message}"
        return RuleResult(rule=rule.rule, column=rule.column, status=CheckStatus.ERROR, violations=0, detail=detail)
    return _result(con, rule, int(n or 0), examples)


def _result(con: Engine, rule: Rule, violations: int, examples: int) -> RuleResult:
    if violations == 0:
        return RuleResult(
            rule=rule.rule, column=rule.column, status=CheckStatus.PASSED, violations=0, detail=rule.detail
        )
    status = CheckStatus.WARNING if rule.warning else CheckStatus.FAILED
    found = _examples(con, rule, examples) if examples else ()
    return RuleResult(
        rule=rule.rule, column=rule.column, status=status, violations=violations, detail=rule.detail, examples=found
    )
