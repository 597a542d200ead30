"""Contract columns as the engine's types: typing raw values, shaping transform output, schema evolution."""

from __future__ import annotations

import pyarrow as pa

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import is_text
from lakemesh.sources.files import typed_select
from lakemesh.spec.odcs import Table
from lakemesh.spec.types import DEFAULT_DIALECT


class SchemaMismatch(LakemeshError):
    """Data or a transform does not fit the contract, or the contract does not fit the table."""


def shape_output(table: Table, produced: list[str], where: str, dialect: str = DEFAULT_DIALECT) -> str:
    """A SELECT list casting a transform's output to the contract (types in the engine's `dialect`); errors
    name the columns that differ."""
    contract_cols = [c.name for c in table.columns]
    missing = [c for c in contract_cols if c not in produced]
    extra = [c for c in produced if c not in contract_cols]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"does not produce contract column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"produces column(s) {', '.join(extra)} the contract does not declare")
        raise SchemaMismatch(
            f"{where} {' and '.join(parts)}",
            "make the SELECT list match the contract, or add optional columns to the contract",
        )
    return typed_select(table, cast="CAST", dialect=dialect)


def _family(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _family(t.value_type)  # how it is encoded in memory, not what it is
    if is_text(t):
        return "string"
    if pa.types.is_timestamp(t):
        return f"timestamp[{'tz' if t.tz else 'ntz'}]"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    return str(t)


def evolution(existing: pa.Schema, incoming: pa.Schema, table: Table, product_id: str) -> bool:
    """Whether writing `incoming` evolves the table; raises when the change is not additive and optional."""
    evolve = False
    for field in incoming:
        if field.name not in existing.names:
            col = table.column(field.name)
            if col is not None and (col.required or col.primary_key):
                raise SchemaMismatch(
                    f"{product_id}: new column '{field.name}' is required by the contract, but the table has "
                    "rows without it",
                    "make the new column optional (required: false), or rebuild the table: "
                    f"`lakemesh run --full-refresh {product_id}`",
                )
            evolve = True
            continue
        have, want = _family(existing.field(field.name).type), _family(field.type)
        if have != want:
            raise SchemaMismatch(
                f"{product_id}: column '{field.name}' is {have} in the table but {want} by the contract",
                f"only additive optional columns evolve a table: restore the type, or rebuild the table with "
                f"`lakemesh run --full-refresh {product_id}`",
            )
    return evolve
