"""Bronze: a source's new files read, put through the batch steps and appended in one commit (or a capturing
source drained), exactly once even when writers race."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import ConcurrentWriteError
from lakemesh.pipeline.rebuild import REBUILD_KEY
from lakemesh.pipeline.results import RunStatus
from lakemesh.pipeline.steps import BATCH_STEPS, Batch, apply_steps, written
from lakemesh.sources import BatchSource, CaptureSource, open_source

_RACE_RETRIES = 8  # bronze commits lost to racing writers before a run gives up


def ingest(batch: Batch, root: Path, full_refresh: bool) -> None:
    """Ingest what the product's source holds that its table does not (`full_refresh`: all of it again)."""
    entry, run = batch.entry, batch.run
    spec = entry.spec.build.source
    if spec is None:
        raise LakemeshError(f"{entry.id} is bronze but declares no build.source", "add one to product.yaml")
    source = open_source(spec)
    if source.capabilities.captures:
        _capture(batch, cast(CaptureSource, source))
        return
    batches = cast(BatchSource, source)
    files = batches.units(root)
    run.details["files_found"] = len(files)
    for _ in range(_RACE_RETRIES):
        try:
            _ingest_new(batch, batches, root, files, full_refresh)
            return
        except ConcurrentWriteError:
            continue  # another writer took files first: choose again from what the table holds now
    raise LakemeshError(f"{entry.id}: other writers kept committing first", "run again")


def _ingest_new(batch: Batch, source: BatchSource, root: Path, files: list[Path], full_refresh: bool) -> None:
    """Ingest the files the table's current version does not hold, committed right after that version
    only: two writers racing never both take one file (the later commit fails, ConcurrentWriteError)."""
    entry, run, lakehouse = batch.entry, batch.run, batch.lakehouse
    read = lakehouse.version(entry.id)
    full = read is not None and full_refresh  # every file read again, the table replaced
    done = set() if full else source.ingested(lakehouse, entry.id, read)
    new = [f for f in files if _rel(f, root) not in done]
    if not new and not full:
        run.status, run.output_version = RunStatus.UP_TO_DATE, read
        return
    if not new:
        raise LakemeshError(
            f"{entry.id}: {source.label} names no file: a full refresh would leave the table empty",
            "check build.source.path; nothing was changed",
        )
    data = source.read(root, batch.table, new, run.run_id, datetime.now(UTC), entry.id)
    step = replace(batch, whole=full, rewrite=full)
    rows = apply_steps(BATCH_STEPS, step, data.data)
    meta = {"lakemesh.run": run.run_id, "lakemesh.files": json.dumps([_rel(f, root) for f in new])}
    if full:
        run.details["rebuilt"] = meta[REBUILD_KEY] = "full refresh asked for"
        written(run, lakehouse.rewrite(entry.id, rows, meta))
    else:
        written(run, lakehouse.append_at(entry.id, read, rows, meta, step.evolve))
    run.rows_read = data.data.num_rows
    run.details["files"] = [_rel(f, root) for f in new]
    if data.warnings:
        run.details["warnings"] = data.warnings


def _capture(batch: Batch, source: CaptureSource) -> None:
    """A capturing source (CDC): drain the changes pending on it, exactly once."""
    run, lakehouse = batch.run, batch.lakehouse
    report = source.capture(batch.entry, lakehouse, once=True)
    run.rows_read = run.rows_written = run.inserted = report.events + report.snapshot_rows
    run.output_version = lakehouse.version(batch.product_id)
    run.status = RunStatus.SUCCEEDED if report.commits else RunStatus.UP_TO_DATE
    run.details.update(
        {
            "snapshot_rows": report.snapshot_rows,
            "events": report.events,
            "skipped": report.skipped,
            "position": report.position,
            "events_per_second": round(report.events_per_second),
        }
    )


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
