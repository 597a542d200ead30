"""Retention: rows older than a product's ODCS `retention` SLA are deleted, then vacuumed away.

The retention property names its time column with `element` (`table.column`), or the contract's
`slaDefaultElement` does. Deleting is one Delta commit; purging the table's history then removes the
files that held the rows, the change feed's copies and the log's statistics of them, so time travel no
longer reaches them either (consumers behind the purge read the table in full once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field

from lakemesh.engines import make_engine
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.spec.models import parse_duration
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import lit, q, relation


class RetentionResult(BaseModel):
    """What retention did to one product (or, in a dry run, would do)."""

    product_id: str
    column: str | None = None
    cutoff: datetime | None = None
    rows: int = 0  # past retention: deleted, or (dry run) to delete
    files_removed: int = 0
    kept_versions: list[int] = Field(default_factory=list)  # versions tags need: their files (old rows) stay
    skipped: str | None = None  # why nothing was done
    error: str | None = None  # why this product failed (the others are still processed)
    details: dict[str, Any] = Field(default_factory=dict)


def retention_of(entry: ProductEntry) -> tuple[float, str] | str:
    """(seconds, time column) of the product's retention, or why it has none that can be applied."""
    contract = entry.contract
    if contract is None:
        return "no contract"
    prop = next(
        (
            p
            for p in contract.raw.get("slaProperties") or []
            if isinstance(p, dict) and p.get("property") == "retention"
        ),
        None,
    )
    if prop is None:
        return "no retention SLA"
    try:
        seconds = parse_duration(f"{prop.get('value')}{prop.get('unit') or 'd'}")
    except ValueError:
        return f"retention {prop.get('value')} {prop.get('unit')} is not a duration"
    element = prop.get("element") or contract.raw.get("slaDefaultElement")
    if not element:
        return "no time column: set `element` on the retention SLA property, or slaDefaultElement"
    column = str(element).split(".")[-1]
    if contract.table().column(column) is None:
        return f"retention element {element} is not a column of the contract"
    return seconds, column


def apply_retention(
    ws: Workspace,
    lakehouse: Lakehouse,
    product_ids: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[RetentionResult]:
    """Delete (or, `dry_run`, count) every row past retention, product by product, and vacuum.

    A product that fails is reported in its result (`error`) and the others are still processed.
    """
    now = now or datetime.now(UTC)
    out = []
    for pid in product_ids or list(ws.products):
        entry = ws.product(pid)
        result = RetentionResult(product_id=entry.id)
        out.append(result)
        try:
            _apply_one(entry, lakehouse, result, dry_run, now)
        except LakemeshError as exc:
            result.error = exc.message
    return out


def _apply_one(
    entry: ProductEntry, lakehouse: Lakehouse, result: RetentionResult, dry_run: bool, now: datetime
) -> None:
    plan = retention_of(entry)
    if isinstance(plan, str):
        result.skipped = plan
        return
    seconds, column = plan
    if not lakehouse.exists(entry.id):
        result.skipped = "no table yet"
        return
    result.column, result.cutoff = column, now - timedelta(seconds=seconds)
    cutoff, delta_cutoff = _literals(lakehouse, entry.id, column, result.cutoff)
    engine = make_engine()
    try:
        engine.register(entry.id, lakehouse.scan(entry.id))
        counted = engine.query(f"SELECT count(*) AS n FROM {relation(entry.id)} WHERE {q(column)} < {cutoff}")
        result.rows = int(counted["n"][0].as_py())
    finally:
        engine.close()
    if dry_run or result.rows == 0:
        return
    meta = {"lakemesh.retention": f"{column} < {result.cutoff.isoformat()}"}
    result.details = lakehouse.delete(entry.id, f'"{column}" < {delta_cutoff}', {}, meta)
    reason = f"retention: rows with {column} before {result.cutoff:%Y-%m-%d} removed"
    purged = lakehouse.purge_history(entry.id, reason, keep=True)  # tagged versions keep their files
    result.files_removed = purged["files_removed"]
    result.kept_versions = lakehouse.kept_versions(entry.id)


def _literals(lakehouse: Lakehouse, product_id: str, column: str, cutoff: datetime) -> tuple[str, str]:
    """The cutoff as SQL literals of the column's type: (for DuckDB, for delta-rs's DataFusion).

    Each side must match the column's type exactly: delta-kernel refuses to compare a DATE with a
    TIMESTAMP, or a zoned timestamp with a naive one.
    """
    # delta-rs hands out arro3 types: pyarrow's own (via the C interface) can be inspected
    arrow_type = pa.schema(lakehouse.table(product_id).schema().to_arrow()).field(column).type
    if pa.types.is_date(arrow_type):
        day = lit(cutoff.astimezone(UTC).date().isoformat())
        return f"CAST({day} AS DATE)", f"CAST({day} AS DATE)"
    if not pa.types.is_timestamp(arrow_type):
        raise LakemeshError(
            f"{product_id}: retention column {column} is {arrow_type}, not a date or timestamp",
            "name a DATE or TIMESTAMP column in the retention SLA property's `element`",
        )
    value = cutoff.astimezone(UTC)
    naive = value.replace(tzinfo=None).isoformat(sep=" ")
    if arrow_type.tz is None:
        duck = f"CAST({lit(naive)} AS TIMESTAMP)"
    else:
        duck = f"CAST({lit(value.isoformat())} AS TIMESTAMPTZ)"
    # DataFusion casts to nanoseconds, which delta-rs will not compare with a microsecond column
    zone = "None" if arrow_type.tz is None else f'Some("{arrow_type.tz}")'
    delta = f"arrow_cast({lit(naive)}, {lit(f'Timestamp(Microsecond, {zone})')})"
    return duck, delta
