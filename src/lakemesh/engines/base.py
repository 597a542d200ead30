"""The engine boundary: transforms and queries run through this protocol, never a concrete engine."""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa


class Engine(Protocol):
    """A SQL engine that reads Arrow data registered under product ids (`domain.name`)."""

    name: str
    dialect: str  # sqlglot dialect the engine speaks; transforms are transpiled to it

    def register(
        self,
        product_id: str,
        data: Any,
        where: str | None = None,
        exclude: tuple[str, ...] = (),
        select: str | None = None,
    ) -> None:
        """Make Arrow data (table, dataset or reader) queryable as `domain.name`, optionally filtered, or
        through `select` (a SELECT list over its columns: how governance masks them)."""

    def query(self, sql: str) -> pa.Table:
        """Run a query and return the result as Arrow."""

    def columns(self, sql: str) -> list[str]:
        """The output column names of a query, found by planning it, not running it."""

    def close(self) -> None: ...
