"""DuckDB as the embedded engine: Arrow datasets of Delta tables registered as `domain.name` views.

Registering a `pyarrow.dataset` keeps DuckDB's filter and projection pushdown into the Parquet files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lakemesh.engines.base import ENGINE_HINT, CsvOptions, Engine, EngineCapabilities, EngineError, FileFormat
from lakemesh.engines.duckdb import files
from lakemesh.lakehouse.base import ParquetScan
from lakemesh.sql import lit, q, relation


@contextmanager
def _engine_errors(hint: str | None = None) -> Iterator[None]:
    """DuckDB's errors as `EngineError`: the first line as the message, the whole text as the detail.

    A query's error is about its SQL and has no hint; one from reading registered tables or files points
    at `lakemesh doctor`, as the CLI did for any DuckDB error no layer had handled."""
    try:
        yield
    except duckdb.Error as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise EngineError(first, hint, text, files.file_problem(text)) from exc


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"
    capabilities = EngineCapabilities(
        dialect="duckdb",
        star_modifiers=True,
        arrow_udfs=True,
        reads_parquet_files=True,
        file_formats=frozenset(FileFormat),
        numbered_reads=True,
        struct_lists=True,
        try_cast=True,
        strptime=True,
        json_valid=True,
    )

    def __init__(self, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect()
        self._functions: set[str] = set()
        self.con.execute("SET enable_progress_bar = false")  # the CLI draws its own progress
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")

    def register(
        self,
        product_id: str,
        data: Any,
        where: str | None = None,
        exclude: tuple[str, ...] = (),
        select: str | None = None,
    ) -> None:
        domain, name = product_id.split(".", 1)
        hidden = f"__lakemesh_{domain}__{name}"
        with _engine_errors(ENGINE_HINT):
            if isinstance(data, ParquetScan):
                self._parquet_view(hidden, data)
            else:
                self.con.register(hidden, data)
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(domain)}")
            # a filter on the view is pushed down into the Arrow dataset scan
            condition = f" WHERE {where}" if where else ""
            columns = select or (self.star_except(exclude) if exclude else "*")
            self.con.execute(
                f"CREATE OR REPLACE VIEW {relation(product_id)} AS SELECT {columns} FROM {q(hidden)}{condition}"
            )

    def _parquet_view(self, hidden: str, scan: ParquetScan) -> None:
        """The files read by DuckDB's own Parquet reader, shaped to the table's schema: a column added after
        some files were written reads as NULL from those, a column no file holds yet as a typed NULL."""
        files = "[" + ", ".join(lit(f) for f in scan.files) + "]"
        source = f"read_parquet({files}, union_by_name = true)"
        present = set(self.con.sql(f"SELECT * FROM {source} LIMIT 0").columns)
        columns = []
        for f in scan.schema:
            if f.name in present:
                columns.append(q(f.name))
            else:
                typed = self.con.from_arrow(pa.table({f.name: pa.array([], f.type)})).types[0]
                columns.append(f"CAST(NULL AS {typed}) AS {q(f.name)}")
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {q(hidden)} AS SELECT {', '.join(columns)} FROM {source}")

    def function(self, name: str, fn: Callable[..., pa.Array], arity: int) -> None:
        if name in self._functions:
            return
        text = duckdb.sqltype("VARCHAR")
        options: dict[str, Any] = {"type": "arrow", "null_handling": "special", "side_effects": False}
        with _engine_errors():
            self.con.create_function(name, fn, [text] * arity, text, **options)
        self._functions.add(name)

    def query(self, sql: str) -> pa.Table:
        with _engine_errors():
            return self.con.sql(sql).to_arrow_table()

    def columns(self, sql: str) -> list[str]:
        with _engine_errors():
            return list(self.con.sql(sql).columns)

    def attach(self, name: str, data: Any) -> None:
        with _engine_errors(ENGINE_HINT):
            self.con.register(name, data)

    def execute(self, sql: str) -> None:
        with _engine_errors(ENGINE_HINT):
            self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with _engine_errors(ENGINE_HINT):
            return self.con.execute(sql).fetchall()

    def records(self, sql: str) -> list[dict[str, Any]]:
        with _engine_errors(ENGINE_HINT):
            cur = self.con.execute(sql)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def describe(self, sql: str) -> dict[str, str]:
        with _engine_errors(ENGINE_HINT):
            return {str(r[0]): str(r[1]) for r in self.con.execute(f"DESCRIBE {sql}").fetchall()}

    def star_except(self, columns: Sequence[str]) -> str:
        return f"* EXCLUDE ({', '.join(q(c) for c in columns)})"

    def read_csv(self, path: str, options: CsvOptions | None = None, numbered: str | None = None) -> str:
        return files.numbered_from(files.csv_reader(path, options), numbered)

    def read_json(
        self, path: str, columns: Sequence[str] | None = None, raw: str | None = None, numbered: str | None = None
    ) -> str:
        if columns is None:
            columns = list(self.describe(files.json_sample(path)))
            if raw is None:
                return files.numbered_from(files.json_typed_reader(path, columns), numbered)
        return files.numbered_from(files.json_objects_reader(path, columns, raw), numbered)

    def read_parquet(self, paths: Sequence[str], numbered: str | None = None) -> str:
        return files.parquet_reader(paths, numbered)

    def copy_to(self, sql: str, path: str, fmt: FileFormat) -> None:
        self.execute(f"COPY ({sql}) TO {lit(path)} ({files.COPY_OPTIONS[fmt]})")

    def close(self) -> None:
        self.con.close()


if TYPE_CHECKING:  # mypy holds the engine to the protocol
    _CONFORMS: Engine = DuckDBEngine()
