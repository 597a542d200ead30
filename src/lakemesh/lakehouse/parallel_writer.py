"""Large appends with Parquet encoded on every core and committed by delta-rs in one transaction.

delta-rs encodes one write on a single thread (delta-io/delta-rs#4767): on 2 cores a 10M-row bronze
batch spent 4 s there while the other core idled. Here the batch is cut into files that pyarrow encodes
in parallel threads; each file's statistics come from its Parquet footer, formatted as delta-rs formats
them; delta-rs then commits the add actions, with the checkpoints, as one transaction. A crash before the
commit leaves only unreferenced files, which vacuum removes.

Only plain tables take this path: local storage, no partitions, no column mapping, constraints,
invariants, generated or identity columns, a schema the batch matches exactly and flat columns.
Anything else goes through `write_deltalake`, which handles all of it.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema, Transaction
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

# the commit's metadata key holding the write's metrics (`Lakehouse.history` shows them as delta-rs's)
METRICS = "lakemesh.metrics"
# below this many rows one delta-rs write is as fast: the threads and footers would not pay for themselves
MIN_ROWS = int(os.environ.get("LAKEMESH_PARALLEL_WRITE_MIN_ROWS", "1000000"))
# a file holds at most this much of the batch in memory (delta-rs's files come out near 100 MB on disk)
FILE_BYTES = 512 * 1024 * 1024
# writer features an append needs no special handling for
_APPENDABLE = {"appendOnly", "changeDataFeed", "timestampNtz", "deletionVectors"}
# column metadata and table properties that make a write more than writing files
_FIELD_BLOCKERS = ("delta.invariants", "delta.generationExpression", "delta.identity", "delta.columnMapping")
_CONFIG_BLOCKERS = ("delta.constraints.", "delta.columnMapping.mode", "delta.dataSkippingStatsColumns")
# strings longer than this get no bounds (Spark and delta-rs cut them to 32 characters)
_STRING_BOUND = 32
# decimals wider than this do not survive the float that a JSON statistic holds: written without min/max
_EXACT_DIGITS = 15


def stored_schema(schema: pa.Schema) -> pa.Schema:
    """The schema a Delta table stores for `schema`: dictionaries as their values, views as plain types."""
    fields = []
    for field in schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        if pa.types.is_timestamp(t) and t.tz:
            t = pa.timestamp("us", tz="UTC")
        fields.append(pa.field(field.name, t, field.nullable))
    return pa.schema(fields)


def _flat(t: pa.DataType) -> bool:
    """A column type both writers store alike and whose statistics are formatted here."""
    if pa.types.is_timestamp(t):
        return t.unit == "us"
    return (
        pa.types.is_string(t)
        or pa.types.is_signed_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_date32(t)
        or pa.types.is_decimal128(t)
        or pa.types.is_binary(t)
    )


def eligible(uri: str, table: DeltaTable | None, data: pa.Table) -> bool:
    """Whether `data` may be appended to the table at `uri` (None: not created yet) by this writer."""
    if data.num_rows < MIN_ROWS or "://" in uri:
        return False
    stored = stored_schema(data.schema)
    if not all(_flat(f.type) for f in stored):
        return False
    if table is None:
        return True
    metadata = table.metadata()
    config = metadata.configuration or {}
    protocol = table.protocol()
    if metadata.partition_columns or any(k.startswith(_CONFIG_BLOCKERS) for k in config):
        return False
    if protocol.min_writer_version >= 7 and not set(protocol.writer_features or ()) <= _APPENDABLE:
        return False
    if any(k.startswith(_FIELD_BLOCKERS) for f in table.schema().fields for k in (f.metadata or {})):
        return False
    existing = pa.schema(table.schema().to_arrow())
    if [(f.name, f.type) for f in existing] != [(f.name, f.type) for f in stored]:
        return False  # a cast or an evolution: write_deltalake does both
    return all(f.nullable or data.column(f.name).null_count == 0 for f in existing)


def append(
    uri: str,
    table: DeltaTable | None,
    data: pa.Table,
    configuration: dict[str, str],
    checkpoints: dict[str, int],
    metadata: dict[str, str],
    delta_encoded: tuple[str, ...] = (),
    exclusive: bool = False,
) -> None:
    """Write `data` as new files under `uri` and commit them with the checkpoints (Delta app transactions)
    and `metadata`; a table not created yet is created with `configuration`. `exclusive`: commit only as
    the version right after `table`'s (a table not created by anyone else), else raise CommitFailedError."""
    directory = Path(uri)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    adds = _write_files(directory, data, _indexed_columns(table, data.schema), delta_encoded)
    metrics = {  # what delta-rs puts in operationMetrics, which a commit made here cannot set
        "num_added_files": len(adds),
        "num_added_rows": data.num_rows,
        "execution_time_ms": round((time.perf_counter() - started) * 1000),
    }
    commit = CommitProperties(
        app_transactions=[Transaction(app, version) for app, version in checkpoints.items()] or None,
        custom_metadata={**metadata, METRICS: json.dumps(metrics)},
        max_commit_retries=0 if exclusive else None,
    )
    try:
        if table is None:
            schema = Schema.from_arrow(stored_schema(data.schema))
            create_table_with_add_actions(
                uri,
                schema,
                adds,
                mode="error" if exclusive else "append",
                configuration=configuration,
                commit_properties=commit,
            )
        else:
            actions: list[AddAction | RemoveAction] = list(adds)
            table.create_write_transaction(actions, mode="append", schema=table.schema(), commit_properties=commit)
    except BaseException:
        _remove(directory, adds)
        raise


def _indexed_columns(table: DeltaTable | None, schema: pa.Schema) -> int:
    """How many leading columns get min/max statistics (`delta.dataSkippingNumIndexedCols`, 32 by default)."""
    config = (table.metadata().configuration or {}) if table is not None else {}
    n = int(config.get("delta.dataSkippingNumIndexedCols", "32"))
    return len(schema) if n < 0 else n


def _write_files(directory: Path, data: pa.Table, indexed: int, delta_encoded: tuple[str, ...]) -> list[AddAction]:
    """The batch as Parquet files written by one thread per core; on any failure none of them is left."""
    workers = os.cpu_count() or 1
    parts = max(workers, math.ceil(data.nbytes / FILE_BYTES))
    step = math.ceil(data.num_rows / parts)
    slices = [data.slice(i * step, step) for i in range(parts) if i * step < data.num_rows]
    names = [f"part-{i:05d}-{uuid.uuid4()}-c000.snappy.parquet" for i in range(len(slices))]
    packed = [c for c in delta_encoded if c in data.column_names and pa.types.is_integer(data.schema.field(c).type)]
    options: dict[str, Any] = {
        "compression": "snappy",
        "store_schema": False,  # readers take the Delta schema, not a dictionary type of this batch
        "store_decimal_as_integer": True,  # as delta-rs and Spark store them
        "use_dictionary": [c for c in data.column_names if c not in packed],
        "column_encoding": dict.fromkeys(packed, "DELTA_BINARY_PACKED") or None,
    }

    def write(i: int) -> AddAction:
        collected: list[pq.FileMetaData] = []
        pq.write_table(slices[i], directory / names[i], metadata_collector=collected, **options)
        stats = file_stats(collected[0], slices[i].schema, indexed)
        return AddAction(names[i], (directory / names[i]).stat().st_size, {}, int(time.time() * 1000), True, stats)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakemesh-parquet") as pool:
            return list(pool.map(write, range(len(slices))))
    except BaseException:
        for name in names:
            (directory / name).unlink(missing_ok=True)
        raise


def _remove(directory: Path, adds: list[AddAction]) -> None:
    for add in adds:
        (directory / add.path).unlink(missing_ok=True)


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema, indexed: int) -> str:
    """Delta per-file statistics from a Parquet footer: rows, and per column nulls, min and max."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    stored = stored_schema(schema)
    for i, field in enumerate(stored):
        if i >= indexed:
            break
        bounds = _bounds(metadata, i)
        if bounds is None:
            continue
        null_count, low, high = bounds
        nulls[field.name] = null_count
        if isinstance(low, str):
            low = low[:_STRING_BOUND]  # a prefix still bounds from below
        if low is not None and _exact(field.type, low, high):
            mins[field.name], maxs[field.name] = _json_value(low, field.type), _json_value(high, field.type)
    return json.dumps({"numRecords": metadata.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls})


def _bounds(metadata: pq.FileMetaData, column: int) -> tuple[int, Any, Any] | None:
    """(nulls, min, max) of one column over every row group; None when a row group lacks statistics."""
    nulls, low, high, bounded = 0, None, None, True
    for g in range(metadata.num_row_groups):
        stats = metadata.row_group(g).column(column).statistics
        if stats is None or not stats.has_null_count:
            return None
        nulls += stats.null_count
        if stats.has_min_max:
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
        elif metadata.row_group(g).num_rows > stats.null_count:
            bounded = False  # values without bounds (all NaN, say): no min/max for the file
    return (nulls, low, high) if bounded else (nulls, None, None)


def _exact(t: pa.DataType, low: Any, high: Any) -> bool:
    """Whether the bounds can be written so that they still bound every value."""
    if pa.types.is_binary(t):
        return False  # delta-rs keeps no bounds for binary
    if pa.types.is_decimal(t):
        return bool(t.precision <= _EXACT_DIGITS)
    if pa.types.is_floating(t):
        return math.isfinite(low) and math.isfinite(high)  # JSON has no infinities
    if pa.types.is_string(t):
        return len(high) <= _STRING_BOUND  # a cut maximum would no longer bound: no bounds rather than wrong ones
    return True


def _json_value(value: Any, t: pa.DataType) -> Any:
    """A bound as delta-rs writes it: timestamps to the millisecond (UTC with `Z`, or naive), dates ISO."""
    if isinstance(value, datetime):
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if t.tz is not None:
            value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + f".{value.microsecond // 1000:03d}" if value.microsecond else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
