"""What the catalog keeps of each run: one row per product run (batch or CDC), with its quality results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lakemesh.quality.results import quality_rows

if TYPE_CHECKING:
    from lakemesh.catalog import Catalog
    from lakemesh.cdc.capture import CaptureReport
    from lakemesh.pipeline import ProductRun


def record_run(catalog: Catalog, run: ProductRun, inputs: list[str]) -> None:
    """A product's batch run, the inputs it read (the catalog's lineage edges) and its gate's results."""
    now = datetime.now(UTC)
    row = {
        "id": run.run_id,
        "product_id": run.product_id,
        "kind": "run",
        "status": run.status.value,
        "started_at": now - timedelta(seconds=run.seconds),
        "finished_at": now,
        "input_versions": run.input_versions,
        "output_version": run.output_version,
        "rows_read": run.rows_read,
        "rows_written": run.rows_written,
        "error": run.error,
        "details": {
            **run.details,
            "inserted": run.inserted,
            "updated": run.updated,
            "deleted": run.deleted,
            "quarantined": run.quarantined,
        },
    }
    catalog.record_run(row, inputs)
    if run.quality is not None:
        run.quality.table_version = run.output_version
        catalog.record_quality(quality_rows(run.quality, run.run_id))


def record_cdc(
    catalog: Catalog,
    product_id: str,
    started: datetime,
    output_version: int | None,
    report: CaptureReport | None,
    error: str | None,
) -> None:
    """A CDC capture, as a run of kind `cdc` (failed ones too, with their error)."""
    details = {}
    if report is not None:
        details = {
            "snapshot_rows": report.snapshot_rows,
            "events": report.events,
            "skipped": report.skipped,
            "commits": report.commits,
            "position": report.position,
            "events_per_second": round(report.events_per_second, 1),
        }
    rows = (report.events + report.snapshot_rows) if report is not None else 0
    row = {
        "id": report.run_id if report is not None else str(uuid.uuid4()),
        "product_id": product_id,
        "kind": "cdc",
        "status": "failed" if error else "succeeded",
        "started_at": started,
        "finished_at": datetime.now(UTC),
        "input_versions": {},
        "output_version": output_version,
        "rows_read": rows,
        "rows_written": rows,
        "error": error,
        "details": details,
    }
    catalog.record_run(row, [])
