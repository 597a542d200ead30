"""The engine boundary: transforms and queries run through this protocol, never a concrete engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse.base import is_text
from lakemesh.sql import q

if TYPE_CHECKING:
    import pyarrow as pa

    from lakemesh.lakehouse import Lakehouse

ENGINE_HINT = "`lakemesh doctor PRODUCT` checks a table for damage"


class FileFormat(str, Enum):
    """The files an engine's readers take (`Engine.read_csv`, `read_json`, `read_parquet`) and it writes."""

    CSV = "csv"
    JSON = "json"  # JSON lines: one object per line
    PARQUET = "parquet"


@dataclass(frozen=True)
class FileProblem:
    """Where and why a file did not parse, as the engine's reader reported it: callers name the file."""

    line: int | None  # the line of the file (1 = the first), when the reader said
    what: str  # one lower-case clause: `expected 8 columns, found 9`, `malformed JSON (...)`
    encoding: bool = False  # the file is not UTF-8 text


class EngineError(LakemeshError):
    """The engine rejected a statement or a query: syntax, an unknown column, a type error, a bad file.

    `message` is the engine's first line; `detail` its whole text; `problem` the place in a file a reader
    could not parse, read out of the engine's own words so callers never parse an engine's messages."""

    def __init__(
        self, message: str, hint: str | None = None, detail: str | None = None, problem: FileProblem | None = None
    ) -> None:
        super().__init__(message, hint)
        self.detail = detail or message
        self.problem = problem


@dataclass(frozen=True)
class CsvOptions:
    """How to read one CSV file, all decided before reading it (`quality.csv_reading`): nothing is left
    to an engine's sniffer, so every engine reads a file the same way."""

    columns: tuple[str, ...]  # the names of the file's columns, in order; every value is read as text
    delimiter: str = ","
    header: bool = True  # the first line (after `skip`) names the columns and is not a record
    quote: str = '"'
    escape: str = '"'
    skip: int = 0  # lines before the header (or the first record)


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, for callers to branch on instead of its name. A capability an engine does
    not declare is one it lacks: callers then take another way, or say the engine cannot."""

    dialect: str  # the sqlglot dialect the engine speaks; transforms are transpiled to it
    star_modifiers: bool  # `* EXCLUDE (...) REPLACE (...)` in a SELECT list (`Engine.star_except`)
    arrow_udfs: bool  # vectorised scalar functions over Arrow arrays
    reads_parquet_files: bool  # a plain list of Parquet files (`ParquetScan`) registers without Arrow
    file_formats: frozenset[FileFormat] = frozenset()  # files `read_*` read and `copy_to` writes
    numbered_reads: bool = False  # file readers give each record its number in the file (`numbered`)
    struct_lists: bool = False  # a scalar subquery returns a list of structs (`ARRAY_AGG(STRUCT)`)
    try_cast: bool = False  # `TRY_CAST(x AS t)`: NULL for a value that does not cast
    strptime: bool = False  # `TRY_STRPTIME(text, strftime format)`: NULL for text that does not match
    json_valid: bool = False  # `JSON_VALID(text)`


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

    def describe(self, sql: str) -> dict[str, str]:
        """The output columns of a query and their types in the engine's dialect, found by planning it."""

    def star_except(self, columns: Sequence[str]) -> str:
        """A SELECT list of every column but `columns` (`* EXCLUDE (...)` in DuckDB, `* EXCEPT (...)` in
        Spark); needs `capabilities.star_modifiers`."""

    def read_csv(self, path: str, options: CsvOptions | None = None, numbered: str | None = None) -> str:
        """A FROM item reading a CSV file, every value as text: by `options`, or (None) by the engine's
        own guess with a header line. `numbered`: a column of that name holds each record's number (1-based)."""

    def read_json(
        self, path: str, columns: Sequence[str] | None = None, raw: str | None = None, numbered: str | None = None
    ) -> str:
        """A FROM item reading a JSON-lines file, a row per record, every value as text: the keys `columns`
        (None: those of a sample of the records); `raw` names a column holding each record as received."""

    def read_parquet(self, paths: Sequence[str], numbered: str | None = None) -> str:
        """A FROM item reading Parquet files as typed; `numbered` as for `read_csv`, counted per file."""

    def copy_to(self, sql: str, path: str, fmt: FileFormat) -> None:
        """Write a query's rows to a file (a CSV with a header line, JSON lines or Parquet)."""

    def close(self) -> None: ...


FunctionRegistrar = Callable[[str, Callable[..., "pa.Array"], int], None]


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
        select = f"{engine.star_except(exclude) if exclude else '*'} {reveal}"
    engine.register(table_id, data, where=where, exclude=exclude, select=select)
