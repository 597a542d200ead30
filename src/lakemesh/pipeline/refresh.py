"""Silver and gold: a product refreshed from its inputs by its refresh mode, in one commit.

merge, partitions, append and full run the product's transform over what `incremental` registered and
put the result through the batch steps; cdc folds its input's change events (`lakemesh.cdc.apply`),
screening the upserts through `CDC_STEPS`. Either way the commit carries the input versions read.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from lakemesh.engines import Engine, make_engine
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import WriteResult
from lakemesh.pipeline.columns import shape_output
from lakemesh.pipeline.incremental import InputPlan, change_events, input_versions, register_inputs
from lakemesh.pipeline.rebuild import REBUILD_KEY, fingerprint, rebuild_reason
from lakemesh.pipeline.results import RunStatus
from lakemesh.pipeline.steps import BATCH_STEPS, CDC_STEPS, Batch, apply_steps, quarantine, written
from lakemesh.pipeline.transform import TransformError, as_arrow, load_python, load_sql
from lakemesh.spec.models import RefreshMode
from lakemesh.spec.workspace import Workspace
from lakemesh.sql import BUILD_APP, input_app


def refresh(ws: Workspace, batch: Batch, full_refresh: bool) -> None:
    """Bring the product up to date with its inputs (`full_refresh`: rebuilt from full reads)."""
    entry, run, lakehouse = batch.entry, batch.run, batch.lakehouse
    cdc = entry.spec.build.refresh.mode is RefreshMode.CDC
    if entry.spec.build.transform is None and not cdc:
        raise LakemeshError(f"{entry.id} declares no build.transform", "add sql: or python: to product.yaml")
    current = input_versions(ws, lakehouse, entry)
    last = {p: lakehouse.checkpoint(entry.id, input_app(p)) for p in current}
    run.input_versions = {p: [last[p], v] for p, v in current.items()}
    exists = lakehouse.exists(entry.id)
    reason = "full refresh asked for" if exists and full_refresh else None
    reason = reason or rebuild_reason(lakehouse, entry, current, last)
    if reason is None and exists and all(last[p] == v for p, v in current.items()):
        run.status, run.output_version = RunStatus.UP_TO_DATE, lakehouse.version(entry.id)
        return
    declared = entry.spec.build.refresh_mode(entry.spec.layer)
    # a rebuild reads every input in full and replaces the whole table (cdc: folds every event again)
    mode = RefreshMode.FULL if reason and declared is not RefreshMode.CDC else declared
    checkpoints = {input_app(p): v for p, v in current.items()} | {BUILD_APP: fingerprint(entry)}
    meta = {"lakemesh.run": run.run_id}
    if reason:
        run.details["rebuilt"] = meta[REBUILD_KEY] = reason
        last = dict.fromkeys(current)
    batch = replace(batch, checkpoints=checkpoints, rewrite=reason is not None)
    if mode is RefreshMode.CDC:
        _apply_changes(batch, current, last, meta)
    else:
        _transform(batch, declared, mode, current, last, meta)


def _transform(
    batch: Batch,
    declared: RefreshMode,
    mode: RefreshMode,
    current: dict[str, int],
    last: dict[str, int | None],
    meta: dict[str, str],
) -> None:
    """Run the transform over the registered inputs and commit its rows by `mode`."""
    entry, run, lakehouse = batch.entry, batch.run, batch.lakehouse
    checkpoints = batch.checkpoints or {}
    keys = batch.table.primary_key
    if declared is RefreshMode.MERGE and not keys:
        raise LakemeshError(f"{entry.id}: merge needs a primary key in the contract", "set primaryKey: true")
    engine = make_engine(batch.services.engine)
    try:
        plan = register_inputs(batch, engine, mode, current, last)
        if plan.nothing_affected:  # the inputs' changes touch no partition: only the checkpoint moves
            run.status, run.output_version = RunStatus.UP_TO_DATE, lakehouse.advance(entry.id, checkpoints, meta)
            return
        out = _compute(batch, engine, current)
        partial = lakehouse.exists(entry.id) and mode in (RefreshMode.MERGE, RefreshMode.PARTITIONS)
        merge_keys = tuple(keys) if declared is RefreshMode.MERGE else ()
        step = replace(batch, partial=partial, whole=plan.complete, merge_keys=merge_keys, engine=engine)
        out = apply_steps(BATCH_STEPS, step, out)
    finally:
        engine.close()
    written(run, _commit(step, out, mode, plan, meta))


def _commit(batch: Batch, rows: pa.Table, mode: RefreshMode, plan: InputPlan, meta: dict[str, str]) -> WriteResult:
    lakehouse, pid, checkpoints = batch.lakehouse, batch.product_id, batch.checkpoints or {}
    if batch.rewrite:  # everything recomputed: the table takes the contract's schema as it is now
        return lakehouse.rewrite(pid, rows, meta, checkpoints)
    if mode is RefreshMode.MERGE:
        keys, sequence_by = batch.table.primary_key, batch.entry.spec.build.refresh.sequence_by
        return lakehouse.merge(pid, rows, keys, checkpoints, meta, sequence_by, batch.evolve)
    if mode is RefreshMode.APPEND:
        return lakehouse.append(pid, rows, checkpoints, meta, batch.evolve)
    return lakehouse.replace(pid, rows, plan.predicate, checkpoints, meta, batch.evolve)


def _compute(batch: Batch, engine: Engine, current: dict[str, int]) -> pa.Table:
    entry, table = batch.entry, batch.table
    transform = entry.spec.build.transform
    assert transform is not None
    where = f"{entry.id} ({transform.sql or transform.python})"
    if transform.sql is not None:
        sql = load_sql(entry, list(current), engine.dialect)
        try:
            produced = engine.columns(sql)
            return engine.query(f"SELECT {shape_output(table, produced, where)} FROM ({sql})")
        except LakemeshError as exc:
            raise TransformError(f"{where}: {exc.message}", exc.hint) from exc
    function = load_python(entry)
    inputs = {p: engine.query(f"SELECT * FROM {p}") for p in current}
    result = as_arrow(function(inputs), where)
    engine.register("lakemesh.python_result", result)
    return engine.query(f"SELECT {shape_output(table, result.column_names, where)} FROM lakemesh.python_result")


def _apply_changes(batch: Batch, current: dict[str, int], last: dict[str, int | None], meta: dict[str, str]) -> None:
    """refresh mode cdc: the input's new change events, folded per key and merged (`lakemesh.cdc.apply`)."""
    from lakemesh.cdc.apply import apply_changes

    entry, run, lakehouse = batch.entry, batch.run, batch.lakehouse
    if len(current) != 1:
        raise LakemeshError(f"{entry.id}: refresh mode cdc applies the events of exactly one input")
    ((source, version),) = current.items()
    events = change_events(batch, source, last[source], version)
    run.rows_read = events.num_rows
    refresh = entry.spec.build.refresh
    checkpoints = batch.checkpoints or {}
    step = replace(batch, partial=lakehouse.exists(entry.id), rewrite=False)

    def screen(rows: pa.Table) -> pa.Table:  # the upserts about to be merged
        return apply_steps(CDC_STEPS, step, rows)

    held = {"events": 0}

    def hold(rows: pa.Table) -> None:  # events that do not fit the contract: quarantined once (own marks)
        held["events"] = quarantine(batch, rows, {f"{a}:misfits": v for a, v in checkpoints.items()})

    result = apply_changes(
        lakehouse,
        entry.id,
        batch.table,
        events,
        checkpoints,
        meta,
        refresh.deletes,
        refresh.deleted_at,
        refresh.source_table,
        screen,
        hold,
    )
    written(run, result)
    run.quarantined += held["events"]
