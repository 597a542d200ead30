"""The engine boundary: transforms and queries run through this protocol, never a concrete engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse.base import is_text
from lakemesh.sql import q

if TYPE_CHECKING:
    from lakemesh.lakehouse import Lakehouse

ENGINE_HINT = "`lakemesh doctor PRODUCT` checks a table for damage"


class EngineError(LakemeshError):
    """The engine rejected a statement or a query: syntax, an unknown column, a type error, a bad file.

    `message` is the engine's first line; `detail` its whole text, whose later lines (a CSV reader's line
    number, say) callers read to name the place in a file."""

    def __init__(self, message: str, hint: str | None = None, detail: str | None = None) -> None:
        super().__init__(message, hint)
        self.detail = detail or message


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, for callers to branch on instead of its name."""

    dialect: str  # the sqlglot dialect the engine speaks; transforms are transpiled to it
    star_modifiers: bool  # `* EXCLUDE (...) REPLACE (...)` in a SELECT list
    arrow_udfs: bool  # vectorised scalar functions over Arrow arrays
    reads_parquet_files: bool  # a plain list of Parquet files (`ParquetScan`) registers without Arrow


class Engine(Protocol):
    """A SQL engine that reads Arrow data registered under product ids (`domain.name`) or plain names.

    Every method raises `EngineError` for what the engine rejects, never the library's own errors."""

    name: str
    dialect: str  # `capabilities.dialect`, the dialect queries are transpiled to
    capabilities: EngineCapabilities

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

    def function(self, name: str, fn: Callable[..., pa.Array], arity: int) -> None:
        """Make a vectorised scalar function (Arrow text arrays in, a text array out) callable in SQL."""

    def query(self, sql: str) -> pa.Table:
        """Run a query and return the result as Arrow."""

    def columns(self, sql: str) -> list[str]:
        """The output column names of a query, found by planning it, not running it."""

    def attach(self, name: str, data: Any) -> None:
        """Make Arrow data (table, dataset or reader) queryable under a plain, unqualified `name`."""

    def execute(self, sql: str) -> None:
        """Run a statement (DDL, COPY, a temporary table) for its effect."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as Python tuples: for small results read by Python code."""

    def records(self, sql: str) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts keyed by column name."""

    def close(self) -> None: ...


FunctionRegistrar = Callable[[str, Callable[..., pa.Array], int], None]


class Protector(Protocol):
    """Column encryption at rest (`governance.encryption.Encryptor`): what is written is sealed, what
    engines read is revealed through a SELECT list that decrypts."""

    def encrypt(self, table_id: str, data: pa.Table) -> pa.Table:
        """`data` with the table's protected columns encrypted, ready to be written."""

    def reveal(self, table_id: str, names: list[str], register: FunctionRegistrar) -> str | None:
        """`REPLACE (...)` decrypting the table's protected columns among `names`, or None."""

    def stored_in_clear(self, lakehouse: Lakehouse, table_id: str) -> list[str]:
        """Columns the policies encrypt that the stored table still holds in clear."""


def register_revealed(
    engine: Engine,
    table_id: str,
    data: Any,
    protector: Protector | None,
    where: str | None = None,
    exclude: tuple[str, ...] = (),
    retyped: dict[str, str] | None = None,
) -> None:
    """Register a table with the engine, its protected columns read in clear when there is a protector.

    Only text columns can hold ciphertext: a protected column stored with its own type (a DATE, say) was
    written before its policy turned encryption on, and reads as it is. `retyped`: text columns read as
    the SQL type they hold (a TIME, which Delta cannot store); a decrypted column is read so already."""
    text = [f.name for f in data.schema if is_text(f.type)]
    reveal = protector.reveal(table_id, text, engine.function) if protector else None
    decrypted = reveal or ""  # `REPLACE (<decrypting SQL> AS "name", ...)`
    casts = [
        f"CAST({q(c)} AS {t}) AS {q(c)}"
        for c, t in (retyped or {}).items()
        if c in text and f" AS {q(c)}" not in decrypted
    ]
    if casts:
        reveal = f"{reveal[:-1]}, {', '.join(casts)})" if reveal else f"REPLACE ({', '.join(casts)})"
    select = None
    if reveal and not engine.capabilities.star_modifiers:
        raise EngineError(
            f"engine {engine.name} cannot read {table_id} in clear: it has no SELECT star modifiers",
            "decrypt and retype the table with an engine that has them (duckdb)",
        )
    if reveal:
        dropped = f"EXCLUDE ({', '.join(q(c) for c in exclude)}) " if exclude else ""
        select = f"* {dropped}{reveal}"
    engine.register(table_id, data, where=where, exclude=exclude, select=select)
