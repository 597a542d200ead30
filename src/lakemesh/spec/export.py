"""Contract exports: ODCS (the document as written), JSON Schema (2020-12) and SQL DDL (via sqlglot)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lakemesh.spec.odcs import Column, Contract, Table
from lakemesh.spec.types import sql_type
from lakemesh.spec.yaml_io import dump_yaml

EXPORT_FORMATS = ("odcs", "jsonschema", "sql-ddl")

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "object": {"type": "object"},
    "array": {"type": "array"},
}
_JSON_OPTIONS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
)


def to_odcs(contract: Contract) -> str:
    """The contract as ODCS YAML: every key of the source document, in its order."""
    return dump_yaml(contract.raw)


def _column_schema(col: Column) -> dict[str, Any]:
    schema = dict(_JSON_TYPES.get(col.logical_type or "string", {"type": "string"}))
    for key in _JSON_OPTIONS:
        if key in col.options:
            schema[key] = col.options[key]
    if col.valid_values is not None:
        schema["enum"] = list(col.valid_values)
    if not col.required and not col.primary_key:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if col.description:
        schema["description"] = col.description
    if col.raw.get("examples"):
        schema["examples"] = col.raw["examples"]
    return schema


def _table_schema(table: Table) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "title": table.name,
        "type": "object",
        "properties": {c.name: _column_schema(c) for c in table.columns},
        "required": [c.name for c in table.columns if c.required or c.primary_key],
    }
    if table.description:
        schema["description"] = table.description
    return schema


def to_jsonschema(contract: Contract, table: str | None = None) -> dict[str, Any]:
    """A JSON Schema validating one record of a table (all tables under `$defs` when there are several)."""
    root: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": contract.id}
    tables = [contract.table(table)] if table or len(contract.tables) == 1 else contract.tables
    if len(tables) == 1:
        return {**root, **_table_schema(tables[0]), "title": contract.name}
    defs = {t.name: _table_schema(t) for t in tables}
    return {**root, "title": contract.name, "$defs": defs, "oneOf": [{"$ref": f"#/$defs/{n}"} for n in defs]}


# dialects with `COMMENT ON COLUMN`; SQL Server's extended properties; the others get it inline
_COMMENT_ON = ("postgres", "duckdb", "snowflake", "oracle")
_EXTENDED_PROPERTY = ("tsql",)
# dialects where a string type needs a length: Oracle rejects VARCHAR2 without one, SQL Server reads
# VARCHAR as VARCHAR(1), MySQL cannot index TEXT.
# (with maxLength, the longest such, past it, no maxLength, a key column's: it must fit an index)
_STRING_LENGTHS: dict[str, tuple[str, int, str, str, str]] = {
    "oracle": ("VARCHAR2({n} CHAR)", 4000, "CLOB", "VARCHAR2(4000 CHAR)", "VARCHAR2(4000 CHAR)"),
    "tsql": ("NVARCHAR({n})", 4000, "NVARCHAR(MAX)", "NVARCHAR(MAX)", "NVARCHAR(450)"),
    "mysql": ("VARCHAR({n})", 16383, "MEDIUMTEXT", "TEXT", "VARCHAR(255)"),
}
_UNSIZED_STRINGS = (exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR, exp.DataType.Type.TEXT)


def _column_type(col: Column, dialect: str, key: bool) -> exp.DataType:
    """The column's SQL type, a string given the contract's maxLength where the dialect needs a length."""
    kind = sql_type(col.logical_type, col.physical_type)
    sizes = _STRING_LENGTHS.get(dialect)
    if sizes is None or kind.this not in _UNSIZED_STRINGS or kind.expressions:
        return kind
    sized, longest, too_long, unbounded, key_default = sizes
    n = col.options.get("maxLength")
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        chosen = key_default if key else unbounded
    elif n <= longest:
        chosen = sized.format(n=n)
    else:
        chosen = key_default if key else too_long
    return exp.DataType.build(chosen, dialect=dialect)


# dialects that reject PRIMARY KEY in CREATE TABLE
_NO_PRIMARY_KEY = ("spark", "spark2", "hive")


def _create_table(table: Table, dialect: str) -> exp.Create:
    name = table.physical_name or table.name
    defs: list[exp.Expression] = []
    for col in table.columns:
        constraints = []
        if col.required or col.primary_key:
            constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        if col.description and dialect not in (*_COMMENT_ON, *_EXTENDED_PROPERTY):
            comment = exp.CommentColumnConstraint(this=exp.Literal.string(col.description))
            constraints.append(exp.ColumnConstraint(kind=comment))
        defs.append(
            exp.ColumnDef(
                this=exp.to_identifier(col.name, quoted=True),
                kind=_column_type(col, dialect, col.primary_key or col.name in table.primary_key),
                constraints=constraints,
            )
        )
    if table.primary_key and dialect not in _NO_PRIMARY_KEY:
        keys = [exp.to_identifier(k, quoted=True) for k in table.primary_key]
        defs.append(exp.PrimaryKey(expressions=keys))
    schema = exp.Schema(this=exp.to_table(exp.to_identifier(name, quoted=True).sql()), expressions=defs)
    return exp.Create(this=schema, kind="TABLE")


def _comments(table: Table, dialect: str) -> list[str]:
    name = exp.to_identifier(table.physical_name or table.name, quoted=True).sql(dialect)
    out = []
    for col in table.columns:
        if col.description:
            ident = exp.to_identifier(col.name, quoted=True).sql(dialect)
            text = exp.Literal.string(col.description).sql(dialect)
            out.append(f"COMMENT ON COLUMN {name}.{ident} IS {text};")
    return out


def _extended_properties(table: Table) -> list[str]:
    """SQL Server keeps column descriptions as `MS_Description` extended properties."""
    out = []
    for col in table.columns:
        if col.description:
            names = (col.description, table.physical_name or table.name, col.name)
            args = [exp.Literal.string(v).sql("tsql") for v in names]
            out.append(
                f"EXEC sp_addextendedproperty 'MS_Description', {args[0]}, 'SCHEMA', 'dbo', 'TABLE', {args[1]}, "
                f"'COLUMN', {args[2]};"
            )
    return out


def to_sql_ddl(contract: Contract, dialect: str = "duckdb") -> str:
    """CREATE TABLE statements for every table, column descriptions as comments in the dialect's way."""
    parts = [f"-- {contract.name} {contract.version} ({contract.id}), generated by lakemesh"]
    for table in contract.tables:
        parts.append(_create_table(table, dialect).sql(dialect=dialect, pretty=True) + ";")
        if dialect in _COMMENT_ON:
            parts.extend(_comments(table, dialect))
        elif dialect in _EXTENDED_PROPERTY:
            parts.extend(_extended_properties(table))
    return "\n".join(parts) + "\n"
