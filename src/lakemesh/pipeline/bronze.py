"""Bronze ingestion from files: records as read, typed by the contract, raw payload and metadata kept.

Which files a table already holds is read from the table itself (`_source_file`), so the record of
what was ingested commits atomically with the rows: a rerun after a crash ingests each file once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from lakemesh.errors import DataFileError
from lakemesh.lakehouse import Lakehouse
from lakemesh.pipeline.columns import cast_column, typed_select
from lakemesh.quality.contract_check import does_not_fit, lit, q
from lakemesh.spec.models import FileSource
from lakemesh.spec.odcs import Table
from lakemesh.spec.types import parse_type, sql_type

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class Batch:
    data: pa.Table
    files: list[str]


def source_files(root: Path, source: FileSource) -> list[Path]:
    """The files the source's path or glob names, relative to the workspace root, sorted."""
    pattern = source.path
    if Path(pattern).is_absolute():
        base, pattern = Path(pattern).anchor, str(Path(pattern).relative_to(Path(pattern).anchor))
        return sorted(p for p in Path(base).glob(pattern) if p.is_file())
    return sorted(p for p in root.glob(pattern) if p.is_file())


def ingested_files(lakehouse: Lakehouse, product_id: str, version: int | None = None) -> set[str]:
    """The source files the table holds rows of, at `version` (default: the newest); what a restore removed
    is not among them, so it is ingested again."""
    if not lakehouse.exists(product_id):
        return set()
    con = duckdb.connect()
    try:
        con.register("bronze", lakehouse.dataset(product_id, version))
        return {row[0] for row in con.execute("SELECT DISTINCT _source_file FROM bronze").fetchall()}
    finally:
        con.close()


def _file_select(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, table: Table) -> str:
    """Typed contract columns, `_raw` and `_record` for one file.

    JSON and CSV keep every record as received in `_raw`. Parquet is typed already: `_raw` keeps the
    record only where typing lost something (a value that does not fit, columns the contract lacks),
    like a rescued-data column; elsewhere the typed columns are the record.
    """
    p = lit(str(path))
    numbered = "row_number() OVER () AS _record"
    if fmt == "jsonl":
        typed = typed_select(table, "json_extract_string(json, " + "'$.\"{name}\"')")
        return f"SELECT {typed}, CAST(json AS VARCHAR) AS _raw, {numbered} FROM read_ndjson_objects({p})"
    if fmt == "csv":
        return _csv_select(con, f"read_csv({p}, header=true, all_varchar=true)", table, numbered)
    return _parquet_select(con, f"read_parquet({p}, file_row_number=true)", table)


def _record_json(columns: list[str]) -> str:
    return "CAST(to_json({" + ", ".join(f"{lit(c)}: {q(c)}" for c in columns) + "}) AS VARCHAR)"


def _csv_select(con: duckdb.DuckDBPyConnection, reader: str, table: Table, numbered: str) -> str:
    present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    exprs = [cast_column(col, q(col.name) if col.name in present else "NULL") for col in table.columns]
    return f"SELECT {', '.join(exprs)}, {_record_json(present)} AS _raw, {numbered} FROM {reader} src"


def _parquet_select(con: duckdb.DuckDBPyConnection, reader: str, table: Table) -> str:
    described = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
    described.pop("file_row_number", None)
    exprs, lost = [], []
    for col in table.columns:
        if col.name not in described:
            exprs.append(cast_column(col, "NULL"))
        elif parse_type(described[col.name]) == sql_type(col.logical_type, col.physical_type):
            exprs.append(q(col.name))  # already the contract's type: nothing to cast, nothing to lose
        else:
            exprs.append(cast_column(col, q(col.name)))
            lost.append(does_not_fit(col))
    names = {c.name for c in table.columns}
    record = _record_json(list(described))
    if any(c not in names for c in described):
        raw = record  # columns the contract does not declare: every record keeps them
    elif lost:
        raw = f"CASE WHEN {' OR '.join(f'({x})' for x in lost)} THEN {record} END"
    else:
        raw = "CAST(NULL AS VARCHAR)"
    return f"SELECT {', '.join(exprs)}, {raw} AS _raw, file_row_number + 1 AS _record FROM {reader} src"


def read_batch(
    root: Path, source: FileSource, table: Table, files: list[Path], batch_id: str, now: datetime, product_id: str
) -> Batch:
    """Every new file read into one Arrow table; any file that does not parse fails the whole batch."""
    con = duckdb.connect()
    parts: list[pa.Table] = []
    try:
        for path in files:
            fmt: str | None = "jsonl" if source.format == "json" else source.format
            fmt = fmt or _FORMATS.get(path.suffix.lower())
            rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            if fmt is None:
                raise DataFileError(f"{product_id}: cannot tell the format of {rel}", "set build.source.format")
            select = _file_select(con, path, fmt, table)
            # one-value ENUMs reach Arrow dictionary-encoded: a constant is not copied into every row
            sql = (
                f"SELECT *, CAST({lit(rel)} AS ENUM({lit(rel)})) AS _source_file, "
                f"CAST({lit(batch_id)} AS ENUM({lit(batch_id)})) AS _batch_id, "
                f"CAST({lit(now.isoformat())} AS TIMESTAMPTZ) AS _ingested_at FROM ({select})"
            )
            try:
                parts.append(con.sql(sql).to_arrow_table())
            except duckdb.Error as exc:
                message = str(exc).strip().splitlines()[0]
                raise DataFileError(
                    f"{product_id}: {rel} cannot be read as {fmt}: {message}",
                    "fix or remove the file; nothing was ingested",
                ) from exc
    finally:
        con.close()
    data = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
    return Batch(data, [str(p) for p in files])
