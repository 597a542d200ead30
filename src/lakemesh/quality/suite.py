"""Running a contract's expectations on a relation an engine can read: one scan, results, examples, quarantine.

`run_suite` is what `lakemesh quality check` and the pipeline's gates share: compile every expectation
(`compiler.py`), run the one query, read each plan's slice of the result row, then fetch a few example
rows for what failed. `split_quarantine` flags each row with the quarantine checks it fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from lakemesh.engines import Engine
from lakemesh.errors import LakemeshError
from lakemesh.quality.compiler import compile_expectation, one_query
from lakemesh.quality.results import CheckStatus, ExpectationResult, QualityReport
from lakemesh.quality.sql_terms import Context, Outcome, Plan, col
from lakemesh.spec.expectations import CheckSeverity, Expectation, Scope, Suite

REASON = "_quarantine_reason"
CHECKS = "_quarantine_checks"


def relation_columns(engine: Engine, relation: str) -> dict[str, str]:
    """Column name -> Arrow type name of a relation, without reading a row."""
    schema = engine.query(f"SELECT * FROM {relation} LIMIT 0").schema
    return {f.name: str(f.type) for f in schema}


def run_suite(
    engine: Engine,
    relation: str,
    suite: Suite,
    product_id: str,
    examples: int = 3,
    now: datetime | None = None,
    null_counts: dict[str, int] | None = None,
) -> QualityReport:
    """Every expectation of `suite` over `relation` (a name the engine resolves) in one query.

    `null_counts` (per column, from Delta statistics or Arrow metadata) spare the scan the columns no
    expectation reads; without them completeness is counted in the same scan.
    """
    started = time.perf_counter()
    columns = relation_columns(engine, relation)
    ctx = Context(
        exp.to_table(relation, dialect=engine.dialect), columns, engine.capabilities, now or datetime.now(UTC)
    )
    plans = [compile_expectation(e, ctx) for e in suite.expectations]
    runnable = [p for p in plans if p.error is None]
    known = null_counts or {}
    counted = [c for c in columns if c not in known]  # columns without statistics: counted in the scan
    extras = _metric_aggregates(runnable, counted)
    select, slices = one_query([*runnable, extras], ctx)
    outcomes: dict[int, Outcome | str] = {}
    values: list[Any] = []
    if select is not None:
        try:
            row = engine.query(select.sql(engine.dialect))
            values = [row.column(i)[0].as_py() for i in range(row.num_columns)]
        except LakemeshError:
            values = []  # one broken rule (a regex the engine rejects, say) must not hide the others
        if not values and runnable:
            outcomes = _one_by_one(engine, runnable, ctx)
    results = []
    for plan in plans:
        if plan.error is not None:
            results.append(_result(plan, plan.error))
            continue
        k = runnable.index(plan)
        if values:
            first, n = slices[k]
            outcome: Outcome | str = plan.evaluate(values[first : first + n])
        else:
            outcome = outcomes.get(k) or plan.evaluate([])
        results.append(_result(plan, outcome, engine, relation, examples))
    rows, metrics = _metrics(values[slices[-1][0] :] if values else [], columns, counted, known, results)
    unsupported = list(suite.unsupported)
    report = QualityReport(product_id=product_id, rows=rows, seconds=0.0, results=results, unsupported=unsupported)
    report.metrics = metrics
    report.checked_at = datetime.now(UTC)
    report.seconds = time.perf_counter() - started
    return report


def _one_by_one(engine: Engine, plans: list[Plan], ctx: Context) -> dict[int, Outcome | str]:
    out: dict[int, Outcome | str] = {}
    for k, plan in enumerate(plans):
        select, _ = one_query([plan], ctx)
        if select is None:
            out[k] = plan.evaluate([])
            continue
        try:
            row = engine.query(select.sql(engine.dialect))
            out[k] = plan.evaluate([row.column(i)[0].as_py() for i in range(row.num_columns)])
        except LakemeshError as exc:
            out[k] = exc.message
    return out


def _result(
    plan: Plan, outcome: Outcome | str, engine: Engine | None = None, relation: str = "", examples: int = 0
) -> ExpectationResult:
    e = plan.expectation
    if isinstance(outcome, str):
        broken = CheckStatus.ERROR
        return ExpectationResult(
            name=e.name, type=e.type, columns=tuple(e.columns), severity=e.severity, status=broken, detail=outcome
        )
    if outcome.success:
        status = CheckStatus.PASSED
    else:
        status = CheckStatus.WARNING if e.severity is CheckSeverity.WARNING else CheckStatus.FAILED
    found: tuple[dict[str, Any], ...] = ()
    if outcome.examples is not None:
        found = outcome.examples[:examples]
    elif engine is not None and examples and outcome.unexpected:
        found = failing_examples(engine, relation, plan, examples)
    return ExpectationResult(
        name=e.name,
        type=e.type,
        columns=tuple(e.columns),
        severity=e.severity,
        status=status,
        observed=outcome.observed,
        unexpected_count=outcome.unexpected,
        unexpected_percent=outcome.unexpected_percent,
        element_count=outcome.domain,
        detail=outcome.detail or (e.description or ""),
        examples=found,
    )


def failing_examples(engine: Engine, relation: str, plan: Plan, limit: int) -> tuple[dict[str, Any], ...]:
    """A few rows that fail a row-level or uniqueness expectation, showing the columns it reads."""
    e = plan.expectation
    if plan.unexpected is None:
        return ()
    shown: list[exp.Expr] = [col(c) for c in e.columns] or [exp.Star()]
    if e.scope is Scope.UNIQUE or e.type == "odcs.duplicateValues":
        keys = [col(c) for c in e.columns]
        query = (
            exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "copies"))
            .from_(exp.to_table(relation, dialect=engine.dialect))
            .where(exp.and_(*[exp.Not(this=exp.Is(this=k.copy(), expression=exp.Null())) for k in keys]))
            .group_by(*[k.copy() for k in keys])
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
            .order_by(exp.Ordered(this=exp.column("copies"), desc=True))
            .limit(limit)
        )
    else:
        query = exp.select(*shown).from_(exp.to_table(relation, dialect=engine.dialect)).where(plan.unexpected.copy())
        query = query.limit(limit)
    try:
        table = engine.query(query.sql(engine.dialect))
    except LakemeshError:
        return ()
    return tuple(table.to_pylist())


# --- computed metrics: completeness, validity, uniqueness --------------------------------------------------


def _metric_aggregates(plans: list[Plan], counted: list[str]) -> Plan:
    """Extra aggregates in the same scan: rows, non-null cells of `counted`, rows failing any row rule."""
    aggregates: list[exp.Expr] = [exp.Count(this=exp.Star())]
    aggregates.extend(exp.Count(this=col(c)) for c in counted)
    row_rules = [p.unexpected for p in plans if p.unexpected is not None and p.expectation.scope is Scope.ROW]
    if row_rules:
        aggregates.append(exp.CountIf(this=exp.or_(*[r.copy() for r in row_rules])))
    marker = Expectation("lakemesh.metrics", {}, "metrics")
    return Plan(marker, aggregates)


def _metrics(
    values: list[Any],
    columns: dict[str, str],
    counted: list[str],
    known: dict[str, int],
    results: list[ExpectationResult],
) -> tuple[int, dict[str, float | None]]:
    """Completeness: non-null share of all cells; validity: share of rows passing every row rule;
    uniqueness: share of rows whose key is not duplicated."""
    if not values:
        return 0, {}
    rows = int(values[0] or 0)
    n_cols = len(counted)
    cells = rows * len(columns)
    non_null = sum(int(v or 0) for v in values[1 : 1 + n_cols])
    non_null += sum(rows - int(known[c]) for c in columns if c in known)
    metrics: dict[str, float | None] = {"completeness": non_null / cells if cells else None}
    failing = int(values[1 + n_cols] or 0) if len(values) > 1 + n_cols else 0
    metrics["validity"] = 1 - failing / rows if rows else None
    key = next((r for r in results if r.type.endswith("_to_be_unique") and r.unexpected_count is not None), None)
    metrics["uniqueness"] = (1 - (key.unexpected_count or 0) / rows) if key and rows else None
    return rows, metrics


# --- quarantine ---------------------------------------------------------------------------------------------


def quarantine_plans(suite: Suite, engine: Engine, relation: str) -> list[Plan]:
    """Compiled expectations whose failing rows are quarantined rather than stopping the run."""
    chosen = [e for e in suite.expectations if e.severity is CheckSeverity.QUARANTINE and e.quarantinable]
    if not chosen:
        return []
    ctx = Context(
        exp.to_table(relation, dialect=engine.dialect), relation_columns(engine, relation), engine.capabilities
    )
    return [p for p in (compile_expectation(e, ctx) for e in chosen) if p.error is None and p.unexpected is not None]


def split_quarantine(engine: Engine, relation: str, plans: list[Plan]) -> tuple[pa.Table, pa.Table]:
    """(passing rows, failing rows with the checks they fail and why) of a relation."""

    def joined(label: Callable[[Plan], str], sep: str) -> exp.Expr:
        """Each failed plan's label, separator first (engines differ on CONCAT_WS with NULLs; `||` does not)."""
        pieces: list[exp.Expr] = []
        for p in plans:
            assert p.unexpected is not None
            case = exp.Case(ifs=[exp.If(this=p.unexpected.copy(), true=exp.Literal.string(sep + label(p)))])
            pieces.append(exp.Coalesce(this=case, expressions=[exp.Literal.string("")]))
        out = pieces[0]
        for piece in pieces[1:]:
            out = exp.DPipe(this=out, expression=piece)
        return out

    query = exp.select(
        exp.Star(),
        exp.alias_(joined(lambda p: f"{p.expectation.name}: {_why(p.expectation)}", "; "), REASON),
        exp.alias_(joined(lambda p: p.expectation.name, ","), CHECKS),
    ).from_(exp.to_table(relation, dialect=engine.dialect))
    flagged = engine.query(query.sql(engine.dialect))
    reasons = pc.utf8_ltrim(flagged[REASON], characters="; ")
    checks = pc.utf8_ltrim(flagged[CHECKS], characters=",")
    flagged = flagged.set_column(flagged.schema.get_field_index(REASON), REASON, reasons)
    flagged = flagged.set_column(flagged.schema.get_field_index(CHECKS), CHECKS, checks)
    bad = pc.fill_null(pc.not_equal(checks, ""), False)
    passing = flagged.filter(pc.invert(bad)).drop_columns([REASON, CHECKS])
    failing = flagged.filter(bad)
    return passing, failing


def _why(e: Expectation) -> str:
    kw = e.kwargs
    t = e.type
    if t.endswith("not_be_null") or t == "odcs.nullValues":
        return "value is missing"
    if "between" in t:
        lo, hi = kw.get("min_value"), kw.get("max_value")
        what = "length" if "lengths" in t else "value"
        return f"{what} outside [{'' if lo is None else lo}, {'' if hi is None else hi}]"
    if t.endswith("in_set"):
        return f"value not in {kw.get('value_set')}"
    if "regex" in t:
        return f"value does not match /{kw.get('regex') or kw.get('regex_list')}/"
    if e.scope is Scope.UNIQUE:
        return f"{'+'.join(e.columns)} occurs more than once"
    if t == "odcs.invalidValues":
        args = kw.get("arguments") or {}
        return (
            f"value not in {args['validValues']}"
            if "validValues" in args
            else f"does not match /{args.get('pattern')}/"
        )
    return e.description or t
