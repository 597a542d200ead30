"""Contract column types: ODCS logical types and SQL physical types, mapped and compared.

Physical types are parsed by sqlglot, so `DECIMAL(10,2)`, `decimal(10, 2)` and `NUMERIC(10,2)` are one type.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from sqlglot import exp
from sqlglot.errors import ParseError

DT = exp.DataType.Type

# The workspace's SQL dialect: contracts' physical types and transforms are written in it, and it is the
# embedded engine's. SQL made for an engine is rendered in `engine.dialect`, which callers pass.
DEFAULT_DIALECT = "duckdb"

# Within a family, types are ordered from narrowest to widest.
_INTEGERS = [DT.TINYINT, DT.SMALLINT, DT.INT, DT.BIGINT, DT.INT128]
_FLOATS = [DT.FLOAT, DT.DOUBLE]
_STRINGS = {DT.VARCHAR, DT.TEXT, DT.CHAR, DT.NVARCHAR, DT.NCHAR}
_TIMESTAMPS = {DT.TIMESTAMP, DT.TIMESTAMPTZ, DT.TIMESTAMPLTZ, DT.DATETIME, DT.TIMESTAMP_S, DT.TIMESTAMP_MS}

# logical type -> the SQL type lakemesh uses when no physical type is given
LOGICAL_TO_SQL = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
    "object": "JSON",
    "array": "JSON",
}
# Delta Lake has no TIME type: a time of day is stored as its ISO 8601 text (`HH:MM:SS[.ffffff]`, with
# `+HH[:MM]` for TIMETZ; PostgreSQL's `24:00:00` too), which sorts as the times do and which every reader
# can parse; it is checked as the type on write and read back as the type in `lakemesh query`
_STORED_AS_TEXT = {DT.TIME, DT.TIMETZ}
# logical widening: the reader of the wider type accepts every value of the narrower
_LOGICAL_WIDER = {("integer", "number"), ("date", "timestamp")}


class TypeChange(str, Enum):
    SAME = "same"
    WIDENED = "widened"
    NARROWED = "narrowed"
    CHANGED = "changed"


def parse_type(text: str | None) -> exp.DataType | None:
    """A SQL type parsed with sqlglot, or None when it does not parse."""
    if not text:
        return None
    # the generic dialect keeps VARCHAR lengths that DuckDB's drops; DuckDB's knows HUGEINT and friends
    for dialect in (None, DEFAULT_DIALECT):
        try:
            return exp.DataType.build(text, dialect=dialect)
        except (ParseError, ValueError):
            continue
    return None


def sql_type(logical: str | None, physical: str | None) -> exp.DataType:
    """The SQL type of a column: its physical type when it parses, else the logical type's default."""
    parsed = parse_type(physical)
    if parsed is not None:
        return parsed
    return exp.DataType.build(LOGICAL_TO_SQL.get(logical or "string", "VARCHAR"), dialect=DEFAULT_DIALECT)


def stored_as_text(dtype: exp.DataType) -> bool:
    """Whether values of this type are stored as their text (a type Delta Lake cannot hold)."""
    return dtype.this in _STORED_AS_TEXT


def stored(value: str, dtype: exp.DataType, cast: str = "CAST", dialect: str = DEFAULT_DIALECT) -> str:
    """SQL of `value` as stored for a column of `dtype`: `{cast}(value AS dtype)`, as text when the
    type is stored as text (so a value that is not a valid time fails, or is NULL for TRY_CAST)."""
    typed = f"{cast}({value} AS {dtype.sql(dialect)})"
    return f"CAST({typed} AS VARCHAR)" if stored_as_text(dtype) else typed


def read_back(columns: Iterable[tuple[str, str | None, str | None]], dialect: str = DEFAULT_DIALECT) -> dict[str, str]:
    """Of (name, logical type, physical type) columns, those stored as text, with the SQL type they read as."""
    types = {name: sql_type(logical, physical) for name, logical, physical in columns}
    return {name: t.sql(dialect) for name, t in types.items() if stored_as_text(t)}


def _params(t: exp.DataType) -> list[int]:
    out = []
    for e in t.expressions:
        value = e.this if isinstance(e, exp.DataTypeParam) else e
        try:
            out.append(int(str(value.name if isinstance(value, exp.Expression) else value)))
        except (TypeError, ValueError):
            return []
    return out


def _compare_physical(old: exp.DataType, new: exp.DataType) -> TypeChange:
    a, b = old.this, new.this
    if old == new:
        return TypeChange.SAME
    for ladder in (_INTEGERS, _FLOATS):
        if a in ladder and b in ladder:
            return TypeChange.WIDENED if ladder.index(b) > ladder.index(a) else TypeChange.NARROWED
    if a in _INTEGERS and b in (*_FLOATS, DT.DECIMAL):
        return TypeChange.WIDENED
    if a in _FLOATS and b in _INTEGERS:
        return TypeChange.NARROWED
    if a == DT.DECIMAL and b == DT.DECIMAL:
        return _compare_decimal(_params(old), _params(new))
    if a in _STRINGS and b in _STRINGS:
        return _compare_length(_params(old), _params(new))
    if a == DT.DATE and b in _TIMESTAMPS:
        return TypeChange.WIDENED
    if a in _TIMESTAMPS and b in _TIMESTAMPS:
        return TypeChange.SAME
    if b in _STRINGS:
        return TypeChange.CHANGED
    return TypeChange.CHANGED


def _compare_decimal(old: list[int], new: list[int]) -> TypeChange:
    p1, s1 = [*old, 18, 3][:2] if old else (18, 3)
    p2, s2 = [*new, 18, 3][:2] if new else (18, 3)
    if (p1, s1) == (p2, s2):
        return TypeChange.SAME
    # every old value fits when neither the integer digits nor the scale shrink
    if p2 - s2 >= p1 - s1 and s2 >= s1:
        return TypeChange.WIDENED
    return TypeChange.NARROWED


def _compare_length(old: list[int], new: list[int]) -> TypeChange:
    if old == new:
        return TypeChange.SAME
    if not new:
        return TypeChange.WIDENED
    if not old:
        return TypeChange.NARROWED
    return TypeChange.WIDENED if new[0] > old[0] else TypeChange.NARROWED


def compare_types(
    old_logical: str | None, old_physical: str | None, new_logical: str | None, new_physical: str | None
) -> TypeChange:
    """How a column's type moved between two contract versions."""
    if old_logical != new_logical:
        if (old_logical, new_logical) in _LOGICAL_WIDER:
            return _physical_or(old_logical, old_physical, new_logical, new_physical, TypeChange.WIDENED)
        if (new_logical, old_logical) in _LOGICAL_WIDER:
            return TypeChange.NARROWED
        return TypeChange.CHANGED
    return _physical_or(old_logical, old_physical, new_logical, new_physical, TypeChange.SAME)


def _physical_or(
    old_logical: str | None,
    old_physical: str | None,
    new_logical: str | None,
    new_physical: str | None,
    default: TypeChange,
) -> TypeChange:
    if not old_physical and not new_physical:
        return default
    return _compare_physical(sql_type(old_logical, old_physical), sql_type(new_logical, new_physical))
