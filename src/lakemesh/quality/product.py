"""Quality of a built product: check its table, compute freshness against the SLA, list and re-process quarantine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from lakemesh.engines import DEFAULT_ENGINE, Protector, make_engine, register_revealed
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.quality.gate import AT, RUN, gate, quarantine_id
from lakemesh.quality.results import QualityReport
from lakemesh.quality.suite import CHECKS, REASON, run_suite
from lakemesh.spec.expectation_checks import sql_tables
from lakemesh.spec.expectations import Suite, expectations_of, parse_duration, render_query
from lakemesh.spec.models import RefreshMode
from lakemesh.spec.types import DEFAULT_DIALECT
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import REPROCESS_APP, REPROCESS_KEPT_APP, q, relation

QUARANTINE_COLUMNS = (REASON, CHECKS, RUN, AT)
SLA_FRESHNESS = ("freshness", "latency", "frequency")


def product_suite(entry: ProductEntry) -> Suite:
    if entry.contract is None:
        raise LakemeshError(f"{entry.id} has no contract", "fix `lakemesh validate` first")
    return expectations_of(entry.contract.table().raw, entry.spec.layer.value)


def check_product(
    workspace: Workspace,
    lakehouse: Lakehouse,
    product_id: str,
    as_of: int | datetime | None = None,
    examples: int = 3,
    engine_name: str = DEFAULT_ENGINE,
    protector: Protector | None = None,
) -> QualityReport:
    """Every expectation of the product's contract over its table (at `as_of`), in one scan; encrypted
    columns are judged on their clear values."""
    entry = workspace.product(product_id)
    suite = product_suite(entry)
    table = lakehouse.table(entry.id, as_of)
    engine = make_engine(engine_name)
    try:
        register_revealed(engine, entry.id, lakehouse.scan(entry.id, as_of), protector)
        for other in _sql_products(suite, workspace) - {entry.id}:
            register_revealed(engine, other, lakehouse.scan(other), protector)
        report = run_suite(engine, relation(entry.id), suite, entry.id, examples, null_counts=delta_null_counts(table))
    finally:
        engine.close()
    report.table_version = table.version()
    report.metrics.update(freshness(entry, table, latest=as_of is None))
    return report


def delta_null_counts(table: Any) -> dict[str, int] | None:
    """Null counts per column from the Delta log's file statistics; None when any file lacks them."""
    try:
        actions = pa.table(table.get_add_actions(flatten=True))
    except Exception:  # noqa: BLE001 - statistics are an optimization: without them, count in the scan
        return None
    out: dict[str, int] = {}
    for name in actions.column_names:
        if name.startswith("null_count."):
            column = actions[name]
            if column.null_count:
                return None
            out[name.removeprefix("null_count.")] = int(pc.sum(column).as_py() or 0)
    return out or None


def _sql_products(suite: Suite, workspace: Workspace) -> set[str]:
    import sqlglot

    out: set[str] = set()
    for e in suite.expectations:
        if e.type == "odcs.sql" and isinstance(e.kwargs.get("query"), str):
            tree = sqlglot.parse_one(render_query(e.kwargs["query"], "__lakemesh_table", None), read=DEFAULT_DIALECT)
            out |= {t for t in sql_tables(tree) if t in workspace.products}
    return out


def sla_seconds(entry: ProductEntry) -> float | None:
    """The freshness promised: the contract's `freshness`, `latency` or `frequency` SLA property, else the
    product's `sla.freshness`."""
    sla = entry.contract.sla if entry.contract is not None else {}
    for name in SLA_FRESHNESS:
        if name in sla:
            value, unit = sla[name]
            return parse_duration(f"{value}{unit or ''}".replace(" ", "") if unit else value)
    return entry.spec.sla.freshness_seconds


def freshness(entry: ProductEntry, table: Any, latest: bool = True) -> dict[str, float | None]:
    """Seconds since the table's last commit and, against the SLA, a score: 1 within it, sla/age beyond.

    `latest`: the table is at its newest version, whose commit is the first of the history.
    """
    version = table.version()
    commit = next((h for h in table.history(1 if latest else None) if h.get("version") == version), None)
    if commit is None or "timestamp" not in commit:
        return {}
    age = max(0.0, datetime.now(UTC).timestamp() - commit["timestamp"] / 1000)
    sla = sla_seconds(entry)
    out: dict[str, float | None] = {"freshness_seconds": round(age, 1), "freshness_sla_seconds": sla}
    out["freshness"] = None if sla is None else (1.0 if age <= sla else round(sla / age, 4))
    return out


# --- quarantine -----------------------------------------------------------------------------------------------


def quarantine_rows(
    lakehouse: Lakehouse, product_id: str, limit: int | None = None, protector: Protector | None = None
) -> pa.Table:
    """The rows in a product's quarantine, newest first, encrypted columns in clear."""
    qid = quarantine_id(product_id)
    if not lakehouse.exists(qid):
        return pa.table({})
    engine = make_engine()
    try:
        register_revealed(engine, qid, lakehouse.scan(qid), protector)
        cap = f" LIMIT {int(limit)}" if limit else ""
        return engine.query(f"SELECT * FROM {relation(qid)} ORDER BY {q(AT)} DESC{cap}")
    finally:
        engine.close()


class ReprocessResult(BaseModel):
    """What `quality reprocess` did: rows released into the product, rows kept, the product's version."""

    product_id: str
    released: int
    still_quarantined: int
    product_version: int | None
    report: QualityReport | None = None  # the checks of the quarantined rows; None when there were none


def reprocess(
    workspace: Workspace,
    lakehouse: Lakehouse,
    product_id: str,
    run_id: str,
    engine_name: str = DEFAULT_ENGINE,
    protector: Protector | None = None,
) -> ReprocessResult:
    """Re-check quarantined rows against the contract as it is now; release those that pass into the product.

    The product's commit carries the quarantine version it released from (app transaction
    `lakemesh:quarantine`): after a crash between that commit and the quarantine's rewrite, a rerun sees
    the rows were released already and only rewrites the quarantine. Merge products upsert on their key
    (newer by sequenceBy wins), append products append; others are rebuilt with `lakemesh run` instead.
    """
    entry = workspace.product(product_id)
    qid = quarantine_id(entry.id)
    mode = entry.spec.build.refresh_mode(entry.spec.layer)

    def seal(table_id: str, data: pa.Table) -> pa.Table:
        return protector.encrypt(table_id, data) if protector else data

    if mode not in (RefreshMode.MERGE, RefreshMode.APPEND):
        raise LakemeshError(
            f"{entry.id} is rebuilt by {mode.value} refresh: quarantined rows cannot be merged back one by one",
            f"fix the cause, then `lakemesh run {entry.id}` recomputes it",
        )
    if not lakehouse.exists(qid):
        return ReprocessResult(
            product_id=entry.id, released=0, still_quarantined=0, product_version=lakehouse.version(entry.id)
        )
    q_version = lakehouse.version(qid)
    assert q_version is not None
    rows = quarantine_rows(lakehouse, entry.id, None, protector)  # judged on clear values
    if rows.num_rows == 0:
        return ReprocessResult(
            product_id=entry.id, released=0, still_quarantined=0, product_version=lakehouse.version(entry.id)
        )
    data = rows.drop_columns([c for c in QUARANTINE_COLUMNS if c in rows.column_names])
    # raises on an error-severity failure; the rows are a slice of the product, so table statistics wait
    outcome = gate(entry.id, data, product_suite(entry), run_id, engine_name, partial=True)
    still = outcome.quarantined
    released = outcome.passing
    already = lakehouse.checkpoint(entry.id, REPROCESS_APP) == q_version
    meta = {"lakemesh.run": run_id, "lakemesh.reprocess": qid}
    version = lakehouse.version(entry.id)
    if released.num_rows and not already:
        checkpoint = {REPROCESS_APP: q_version}
        if mode is RefreshMode.MERGE:
            table = entry.contract.table() if entry.contract else None
            keys = table.primary_key if table else []
            sealed = seal(entry.id, released)
            result = lakehouse.merge(entry.id, sealed, keys, checkpoint, meta, entry.spec.build.refresh.sequence_by)
        else:
            result = lakehouse.append(entry.id, seal(entry.id, released), checkpoint, meta)
        version = result.version
    kept = still if still is not None else rows.slice(0, 0)
    lakehouse.replace(qid, seal(qid, kept), None, {REPROCESS_KEPT_APP: q_version}, meta, evolve=False)
    return ReprocessResult(
        product_id=entry.id,
        released=released.num_rows,
        still_quarantined=kept.num_rows,
        product_version=version,
        report=outcome.report,
    )
