"""DuckDB as the embedded engine: Arrow datasets of Delta tables registered as `domain.name` views.

Registering a `pyarrow.dataset` keeps DuckDB's filter and projection pushdown into the Parquet files.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from lakemesh.errors import LakemeshError
from lakemesh.quality.contract_check import q


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect()
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")

    def register(self, product_id: str, data: Any, where: str | None = None, exclude: tuple[str, ...] = ()) -> None:
        domain, name = product_id.split(".", 1)
        hidden = f"__lakemesh_{domain}__{name}"
        self.con.register(hidden, data)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(domain)}")
        # a filter on the view is pushed down into the Arrow dataset scan
        condition = f" WHERE {where}" if where else ""
        columns = f"* EXCLUDE ({', '.join(q(c) for c in exclude)})" if exclude else "*"
        view = f"{q(domain)}.{q(name)}"
        self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {columns} FROM {q(hidden)}{condition}")

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
