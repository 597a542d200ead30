"""Quality gates: a product's expectations run on the rows a run is about to commit.

- severity `error` failing: the run of that product stops and nothing is committed;
- severity `quarantine`: every row a quarantine rule judges bad moves to the product's quarantine table
  (`<domain>.<name>__quarantine`) with the rules it fails and why; the other rows proceed;
- severity `warning`: recorded, the run proceeds.

A quarantine rule moves its bad rows whatever its threshold (`mostly`, `mustBeLessThan`) says: the
threshold only decides the rule's reported status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from lakemesh.engines import DEFAULT_ENGINE, Engine, make_engine
from lakemesh.errors import LakemeshError
from lakemesh.quality.results import QualityReport
from lakemesh.quality.suite import quarantine_plans, run_suite, split_quarantine
from lakemesh.spec.expectations import Scope, Suite

QUARANTINE_SUFFIX = "__quarantine"
RUN = "_quarantine_run"
AT = "_quarantined_at"
BATCH = "lakemesh_gate.batch"


class QualityGateError(LakemeshError):
    """Expectations of severity error failed on the rows a run was about to commit."""

    def __init__(self, message: str, hint: str, report: QualityReport) -> None:
        super().__init__(message, hint)
        self.report = report


def quarantine_id(product_id: str) -> str:
    return product_id + QUARANTINE_SUFFIX


@dataclass
class GateOutcome:
    passing: pa.Table
    quarantined: pa.Table | None
    report: QualityReport


def batch_suite(suite: Suite) -> Suite:
    """The expectations that judge a partial batch fairly: statistics of the whole table (row count, mean,
    distinct values) are left to `quality check`, listed as skipped rather than judged on a slice."""
    kept = [e for e in suite.expectations if e.scope is not Scope.AGGREGATE]
    why = "a statistic of the whole table: `quality check` runs it"
    skipped = [(e.name, why) for e in suite.expectations if e.scope is Scope.AGGREGATE]
    return Suite(suite.table, kept, [*suite.unsupported, *skipped])


def gate(
    product_id: str,
    data: pa.Table,
    suite: Suite,
    run_id: str,
    engine_name: str = DEFAULT_ENGINE,
    partial: bool = False,
    engine: Engine | None = None,
) -> GateOutcome:
    """Check `data` against `suite`; raise QualityGateError on a blocking failure, else split off quarantine.

    `partial`: the rows are an increment merged into a larger table, not the whole of it. `engine`: one
    to use (the transform's, say) instead of starting another; it is left open.
    """
    if partial:
        suite = batch_suite(suite)
    own = engine is None
    engine = make_engine(engine_name) if engine is None else engine
    try:
        engine.register(BATCH, data)
        relation = '"lakemesh_gate"."batch"'
        nulls = {name: data.column(name).null_count for name in data.column_names}
        report = run_suite(engine, relation, suite, product_id, null_counts=nulls)
        blocking = report.blocking()
        if blocking:
            shown = "; ".join(_describe(r.name, r.unexpected_count, r.detail) for r in blocking[:5])
            more = f" (+{len(blocking) - 5} more)" if len(blocking) > 5 else ""
            raise QualityGateError(
                f"{product_id}: quality gate failed, nothing was committed: {shown}{more}",
                f"see `lakemesh quality check {product_id}` for examples; fix the data or the transform, "
                "or lower the rule's severity to quarantine or warning",
                report,
            )
        plans = quarantine_plans(suite, engine, relation)
        if not plans or not any(r.unexpected_count for r in report.results if r.severity == "quarantine"):
            return GateOutcome(data, None, report)
        passing, failing = split_quarantine(engine, relation, plans)
    finally:
        if own:
            engine.close()
    now = datetime.now(UTC)
    failing = failing.append_column(RUN, pa.array([run_id] * failing.num_rows, pa.string()))
    failing = failing.append_column(AT, pa.array([now] * failing.num_rows, pa.timestamp("us", tz="UTC")))
    report.quarantined = failing.num_rows
    return GateOutcome(passing, failing, report)


def _describe(name: str, count: int | None, detail: str) -> str:
    if count:
        return f"{name} ({count:,} rows)"
    return f"{name} ({detail})" if detail else name
