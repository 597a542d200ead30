"""DuckDB as the embedded engine: Arrow datasets of Delta tables registered as `domain.name` views.

Registering a `pyarrow.dataset` keeps DuckDB's filter and projection pushdown into the Parquet files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import ParquetScan
from lakemesh.sql import lit, q


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

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
        if isinstance(data, ParquetScan):
            self._parquet_view(hidden, data)
        else:
            self.con.register(hidden, data)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(domain)}")
        # a filter on the view is pushed down into the Arrow dataset scan
        condition = f" WHERE {where}" if where else ""
        columns = select or (f"* EXCLUDE ({', '.join(q(c) for c in exclude)})" if exclude else "*")
        view = f"{q(domain)}.{q(name)}"
        self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {columns} FROM {q(hidden)}{condition}")

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
        self.con.create_function(name, fn, [text] * arity, text, **options)
        self._functions.add(name)

    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(str(exc).strip().splitlines()[0]) from exc

    def columns(self, sql: str) -> list[str]:
        try:
            return list(self.con.sql(sql).columns)
        except duckdb.Error as exc:
            raise EngineError(str(exc).strip().splitlines()[0]) from exc

    def close(self) -> None:
        self.con.close()


class EngineError(LakemeshError):
    """The engine rejected a query: syntax, an unknown column, a type error."""
