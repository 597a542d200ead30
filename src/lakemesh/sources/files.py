"""The `files` source: bronze records as read from files, typed by the contract, raw payload and metadata kept.

Which files a table already holds is read from the table itself (`_source_file`), so the record of
what was ingested commits atomically with the rows: a rerun after a crash ingests each file once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from lakemesh.engines import Engine, EngineError, FileFormat, make_engine
from lakemesh.errors import DataFileError
from lakemesh.lakehouse import TableStore
from lakemesh.quality.contract_check import does_not_fit
from lakemesh.quality.csv_reading import OPTIONS_HINT, CsvLayout, csv_hint, csv_layout, located
from lakemesh.sources.base import SourceCapabilities
from lakemesh.spec.models import FileSource
from lakemesh.spec.odcs import Column, Table
from lakemesh.spec.types import DEFAULT_DIALECT, parse_type, sql_type, stored, stored_as_text
from lakemesh.sql import lit, q

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_READERS = {"jsonl": FileFormat.JSON, "csv": FileFormat.CSV, "parquet": FileFormat.PARQUET}
NUMBER = "__lakemesh_record"  # the reader's record number, `_record` in the table


@dataclass(frozen=True)
class Batch:
    data: pa.Table
    files: list[str]
    warnings: list[str] = field(default_factory=list)  # per file: columns missing or not in the contract


def cast_column(col: Column, value: str, cast: str = "TRY_CAST", dialect: str = DEFAULT_DIALECT) -> str:
    """`CAST(<value> AS <the column's contract type>) AS <column>`, the type in the engine's `dialect`."""
    return f"{stored(value, sql_type(col.logical_type, col.physical_type), cast, dialect)} AS {q(col.name)}"


def typed_select(
    table: Table, expression: str = "{col}", cast: str = "TRY_CAST", dialect: str = DEFAULT_DIALECT
) -> str:
    """`cast_column` for every contract column, in contract order; `{col}`/`{name}` in `expression` are filled."""
    return ", ".join(
        cast_column(col, expression.format(col=q(col.name), name=col.name), cast, dialect) for col in table.columns
    )


def source_files(root: Path, source: FileSource) -> list[Path]:
    """The files the source's path or glob names, relative to the workspace root, sorted."""
    pattern = source.path
    if Path(pattern).is_absolute():
        base, pattern = Path(pattern).anchor, str(Path(pattern).relative_to(Path(pattern).anchor))
        return sorted(p for p in Path(base).glob(pattern) if p.is_file())
    return sorted(p for p in root.glob(pattern) if p.is_file())


def ingested_files(lakehouse: TableStore, product_id: str, version: int | None = None) -> set[str]:
    """The source files the table holds rows of, at `version` (default: the newest); what a restore removed
    is not among them, so it is ingested again."""
    if not lakehouse.exists(product_id):
        return set()
    con = make_engine()
    try:
        con.attach("bronze", lakehouse.dataset(product_id, version))
        return {row[0] for row in con.rows("SELECT DISTINCT _source_file FROM bronze")}
    finally:
        con.close()


def _file_select(
    con: Engine, path: Path, fmt: str, table: Table, options: dict[str, Any], name: str
) -> tuple[str, list[str]]:
    """Typed contract columns, `_raw` and `_record` for one file, and warnings about its columns.

    JSON and CSV keep every record as received in `_raw`. Parquet is typed already: `_raw` keeps the
    record only where typing lost something (a value that does not fit, columns the contract lacks),
    like a rescued-data column; elsewhere the typed columns are the record. CSV and Parquet files have
    their columns once for the file: one missing a required column is an error, missing optional or
    extra columns are warnings (JSON records have theirs each, judged by the quality gate).
    """
    caps = con.capabilities
    if _READERS[fmt] not in caps.file_formats or not caps.numbered_reads:
        raise DataFileError(f"{name}: engine {con.name} cannot read {fmt} files with their record numbers")
    if fmt == "jsonl":
        raw = "__lakemesh_raw"
        reader = con.read_json(str(path), [c.name for c in table.columns], raw=raw, numbered=NUMBER)
        typed = typed_select(table, dialect=con.dialect)
        return f"SELECT {typed}, {raw} AS _raw, {NUMBER} AS _record FROM {reader} src", []
    if fmt == "csv":
        layout = csv_layout(path, table, options, name)
        reader = con.read_csv(str(path), layout.options, numbered=NUMBER)
        return _csv_select(layout, table, reader, con.dialect), column_warnings(name, table, layout.columns)
    reader = con.read_parquet([str(path)], numbered=NUMBER)
    described = con.describe(f"SELECT * FROM {reader}")
    described.pop(NUMBER, None)
    return _parquet_select(described, reader, table, con.dialect), column_warnings(name, table, list(described))


def column_warnings(name: str, table: Table, present: list[str]) -> list[str]:
    """Warnings for the contract columns a file lacks and the columns it has beyond them; a missing
    required column is an error naming the file and the column."""
    missing = [c for c in table.columns if c.name not in present]
    required = [c.name for c in missing if c.required or c.primary_key]
    if required:
        raise DataFileError(
            f"{name} has no column {', '.join(required)} (required by the contract); it has {', '.join(present)}",
            f"fix the file; if its delimiter or header was misread, {OPTIONS_HINT}",
        )
    out = [f"{name}: no column {c.name}: NULL in every row" for c in missing]
    extra = [c for c in present if table.column(c) is None]
    if extra:
        out.append(f"{name}: columns not in the contract, kept in _raw: {', '.join(extra)}")
    return out


def _record_json(columns: list[str]) -> str:
    return "CAST(to_json({" + ", ".join(f"{lit(c)}: {q(c)}" for c in columns) + "}) AS VARCHAR)"


def _csv_select(layout: CsvLayout, table: Table, reader: str, dialect: str) -> str:
    exprs = [
        cast_column(col, q(col.name) if col.name in layout.columns else "NULL", dialect=dialect)
        for col in table.columns
    ]
    raw = _record_json(layout.columns)
    return f"SELECT {', '.join(exprs)}, {raw} AS _raw, {NUMBER} AS _record FROM {reader} src"


def _parquet_select(described: dict[str, str], reader: str, table: Table, dialect: str) -> str:
    exprs, lost = [], []
    for col in table.columns:
        want = sql_type(col.logical_type, col.physical_type)
        if col.name not in described:
            exprs.append(cast_column(col, "NULL", dialect=dialect))
        elif parse_type(described[col.name]) == want and not stored_as_text(want):  # a TIME is stored as text
            exprs.append(q(col.name))  # already the contract's type: nothing to cast, nothing to lose
        else:
            exprs.append(cast_column(col, q(col.name), dialect=dialect))
            lost.append(does_not_fit(col, dialect=dialect))
    names = {c.name for c in table.columns}
    record = _record_json(list(described))
    if any(c not in names for c in described):
        raw = record  # columns the contract does not declare: every record keeps them
    elif lost:
        raw = f"CASE WHEN {' OR '.join(f'({x})' for x in lost)} THEN {record} END"
    else:
        raw = "CAST(NULL AS VARCHAR)"
    return f"SELECT {', '.join(exprs)}, {raw} AS _raw, {NUMBER} AS _record FROM {reader} src"


def read_batch(
    root: Path, source: FileSource, table: Table, files: list[Path], batch_id: str, now: datetime, product_id: str
) -> Batch:
    """Every new file read into one Arrow table; any file that does not parse fails the whole batch."""
    con = make_engine()
    parts: list[pa.Table] = []
    found: list[str] = []
    try:
        for path in files:
            fmt: str | None = "jsonl" if source.format == "json" else source.format
            fmt = fmt or _FORMATS.get(path.suffix.lower())
            rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            if fmt is None:
                raise DataFileError(f"{product_id}: cannot tell the format of {rel}", "set build.source.format")
            select, warnings = _file_select(con, path, fmt, table, source.options, rel)
            found.extend(warnings)
            # one-value ENUMs reach Arrow dictionary-encoded: a constant is not copied into every row
            sql = (
                f"SELECT *, CAST({lit(rel)} AS ENUM({lit(rel)})) AS _source_file, "
                f"CAST({lit(batch_id)} AS ENUM({lit(batch_id)})) AS _batch_id, "
                f"CAST({lit(now.isoformat())} AS TIMESTAMPTZ) AS _ingested_at FROM ({select})"
            )
            try:
                parts.append(con.query(sql))
            except EngineError as exc:
                raise _read_error(exc, product_id, rel, fmt) from exc
    finally:
        con.close()
    data = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
    return Batch(data, [str(p) for p in files], found)


_FIX_FILE = "fix or remove the file; nothing was ingested"


def _read_error(exc: EngineError, product_id: str, rel: str, fmt: str) -> DataFileError:
    """One line naming the file and, for a parse error, the line; not the engine's page of reader settings."""
    where = located(exc.problem, rel) if fmt != "parquet" else None
    if where is not None:
        hint = csv_hint(exc.problem) if fmt == "csv" else _FIX_FILE
        return DataFileError(f"{product_id}: {where}", hint)
    return DataFileError(f"{product_id}: {rel} cannot be read as {fmt}: {exc.message}", _FIX_FILE)


class FilesSource:
    """A `files` source: a path or glob of JSON lines, CSV or Parquet files, read in batches of new files."""

    capabilities: ClassVar[SourceCapabilities] = SourceCapabilities(batches=True)

    def __init__(self, spec: FileSource) -> None:
        self.spec = spec
        self.label = spec.path

    def units(self, root: Path) -> list[Path]:
        """The files the path or glob names now."""
        return source_files(root, self.spec)

    def ingested(self, store: TableStore, product_id: str, version: int | None = None) -> set[str]:
        """The files the table holds rows of."""
        return ingested_files(store, product_id, version)

    def read(self, root: Path, table: Table, units: list[Path], batch_id: str, now: datetime, product_id: str) -> Batch:
        """The new files read into one batch."""
        return read_batch(root, self.spec, table, units, batch_id, now, product_id)
