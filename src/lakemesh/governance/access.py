"""Access control at query time: grants (deny by default), column masks and row filters per principal.

`lakemesh query --as PRINCIPAL` admits one read-only SELECT whose every table is a product (or a CTE
of the query), granted to one of the principal's roles, and with no table function or function that
reaches outside the data (`read_parquet`, `getenv`, ...). Each product is then registered as a view
that already applies the principal's masks and row filter, and the query runs unchanged against those
views: a masked value cannot come back through an alias, `*`, a CTE, a subquery, a join, a UNION, a
window, an aggregate or `length()`/`md5()` in a WHERE, since the unmasked column is not there to read.
Every governed query, admitted or denied, is written to the catalog's audit log.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakemesh.engines import Engine
from lakemesh.errors import LakemeshError
from lakemesh.governance.keys import secret
from lakemesh.lakehouse import is_text
from lakemesh.spec.models import Access, AccessLevel, ColumnMask, Principal, RowFilter
from lakemesh.spec.problems import Problem, Severity, did_you_mean
from lakemesh.spec.types import DEFAULT_DIALECT
from lakemesh.spec.workspace import Workspace
from lakemesh.sql import q, relation

if TYPE_CHECKING:  # the data stack loads when a query runs, not when `validate` checks the access rules
    import pyarrow as pa

# functions that read or reveal something other than the granted data
DENIED_FUNCTIONS = (
    "lakemesh_",  # lakemesh_decrypt: decryption is the view's to grant, never the query's
    "read_",
    "parquet_",
    "delta_",
    "iceberg_",
    "glob",
    "getenv",
    "current_setting",
    "duckdb_",
    "pragma_",
    "query",
    "sqlite_",
    "postgres_",
    "mysql_",
    "httpfs",
    "sniff_csv",
    "which_secret",
)


@dataclass(frozen=True)
class Decision:
    principal: str
    products: list[str]
    allowed: bool
    reason: str


class AccessDenied(LakemeshError):
    """A governed query that may not run: the reason, and nothing of the data."""

    decision: Decision | None = None


def _matches(patterns: Iterable[str], product_id: str) -> bool:
    return any(fnmatch.fnmatchcase(product_id, p) for p in patterns)


def principal_of(access: Access, name: str) -> Principal:
    for p in access.principals:
        if p.name == name:
            return p
    names = [p.name for p in access.principals]
    raise AccessDenied(f"unknown principal '{name}'{did_you_mean(name, names)}", "principals are declared in mesh.yaml")


def granted(access: Access, principal: Principal, product_id: str, level: AccessLevel = AccessLevel.READ) -> bool:
    return any(
        set(g.roles) & set(principal.roles) and _matches(g.products, product_id) and g.access.covers(level)
        for g in access.grants
    )


def authorize(access: Access, actor: str, product_ids: Iterable[str], level: AccessLevel) -> None:
    """AccessDenied unless `actor`, a declared principal, holds `level` on every product."""
    try:
        principal = principal_of(access, actor)
    except AccessDenied as exc:
        raise AccessDenied(
            f"{actor} is not a declared principal, and this mesh enforces grants on changes ({exc.message})",
            "act as a principal (LAKEMESH_USER=...) that holds a grant, or declare one under access.principals",
        ) from exc
    refused = sorted(p for p in product_ids if not granted(access, principal, p, level))
    if refused:
        raise AccessDenied(
            f"{actor} is not granted {level.value} on {', '.join(refused)}",
            f"grants are declared in mesh.yaml under access.grants (access: {level.value})",
        )


def _exempt(unless: list[str], principal: Principal) -> bool:
    return bool(set(unless) & set(principal.roles))


CLEAR, PSEUDONYM = "__lakemesh_clear", "__lakemesh_pseudonym"  # the columns of a hash mask's mapping
MASK_LABEL = b"lakemesh-mask\x1f"  # keeps the mask's pseudonyms apart from other uses of the same key


def mask_key() -> bytes:
    """The secret keying `hash` masks (`keys.secret`, never the workspace or the tables): without it a
    hash of a low-entropy value (an email, a customer id) could be reversed by hashing every candidate."""
    return secret("mask-key").encode()


def pseudonyms(key: bytes, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 of each text under `key`, its first 64 bits as decimal text: equal values give equal
    pseudonyms (joins, GROUP BY). Called once per query on a column's distinct values, which the engine
    then joins to the rows (hashing each row in Python made a 10M-row query 30 times slower)."""
    import pyarrow as pa

    return pa.array([None if v is None else _digest64(key, v) for v in values.to_pylist()], pa.string())


def _digest64(key: bytes, value: str) -> str:
    return str(int.from_bytes(hmac.new(key, MASK_LABEL + value.encode(), hashlib.sha256).digest()[:8]))


def mask_sql(
    mask: ColumnMask, column: str, type_name: str, source: str | None = None, pseudonyms: str | None = None
) -> str:
    """The masked column as a SELECT item; `source` is the SQL giving its clear value (a decryption);
    `pseudonyms` the relation (v, p) holding the `hash` mask's pseudonym p of each clear text v."""
    c, alias = source or q(column), q(column)
    text = f"CAST({c} AS VARCHAR)"
    method = mask.method
    if method == "redact":
        return f"'***' AS {alias}" if "string" in type_name or "utf8" in type_name else f"NULL AS {alias}"
    if method == "hash":
        # a keyed 64-bit pseudonym (HMAC): equal values stay equal (joins, counts). A text column stays
        # text, as queries written for everyone expect; any other type shows the same number as UBIGINT
        if pseudonyms is None:
            raise LakemeshError(f"the hash mask of {column} needs its pseudonyms computed first")
        # the mapping's names cannot be a contract column's, which would capture the correlated reference
        pseudonym = f"(SELECT m.{PSEUDONYM} FROM {pseudonyms} AS m WHERE m.{CLEAR} = {text})"
        if "string" not in type_name and "utf8" not in type_name:
            pseudonym = f"CAST({pseudonym} AS UBIGINT)"
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE {pseudonym} END AS {alias}"
    if method == "partial":
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE '***' || right({text}, {int(mask.keep)}) END AS {alias}"
    if method == "null":
        return f"NULL AS {alias}"
    # year, month: generalised dates; DuckDB's date_trunc gives a timestamp, a date stays a date
    truncated = f"date_trunc('{method}', {c})"
    return f"{truncated if 'timestamp' in type_name else f'CAST({truncated} AS DATE)'} AS {alias}"


def filter_sql(rule: RowFilter, principal: Principal, sources: dict[str, str] | None = None) -> str:
    """The row filter with `principal.<attribute>` replaced by the principal's values, as SQL; columns
    with a `sources` entry read through it (an encrypted column, decrypted)."""
    tree = sqlglot.parse_one(rule.filter, read=DEFAULT_DIALECT)
    sources = sources or {}

    def substitute(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in sources:
            return sqlglot.parse_one(sources[node.name], read=DEFAULT_DIALECT)
        if isinstance(node, exp.Column) and node.table == "principal":
            if node.name not in principal.attributes:
                raise AccessDenied(
                    f"principal {principal.name} has no attribute '{node.name}', which a row filter needs",
                    "add it under the principal's attributes in mesh.yaml",
                )
            return exp.convert(principal.attributes[node.name])
        return node

    return tree.transform(substitute).sql(DEFAULT_DIALECT)


def masks_for(access: Access, principal: Principal, product_id: str) -> dict[str, ColumnMask]:
    """The column masks applying to the principal on one product, by column."""
    return {
        m.column: m for m in access.masks if _matches(m.products, product_id) and not _exempt(m.unless_roles, principal)
    }


def pseudonym_relation(
    engine: Engine, product_id: str, data: Any, columns: dict[str, str | None], key: bytes
) -> dict[str, str]:
    """Register, per hash-masked column, a relation (v, p) mapping each distinct clear text v of the
    column to its keyed pseudonym p; `columns` gives the SQL of each column's clear value (None: the
    column itself). Only lakemesh names these relations: a governed query can read products only."""
    import pyarrow as pa

    domain, name = product_id.split(".", 1)
    raw = f"__lakemesh_raw.{domain}__{name}"
    engine.register(raw, data)
    out = {}
    for i, (column, source) in enumerate(sorted(columns.items())):
        clear = f"CAST({source or q(column)} AS VARCHAR)"
        distinct = engine.query(f"SELECT DISTINCT {clear} AS v FROM {relation(raw)} WHERE {clear} IS NOT NULL")
        mapping = f"__lakemesh_pseudonyms.{domain}__{name}__{i}"
        engine.register(mapping, pa.table({CLEAR: distinct["v"], PSEUDONYM: pseudonyms(key, distinct["v"])}))
        out[column] = relation(mapping)
    return out


def view_select(
    access: Access,
    principal: Principal,
    product_id: str,
    schema: pa.Schema,
    sources: dict[str, str] | None = None,
    in_clear: bool = False,
    pseudonyms: dict[str, str] | None = None,
    retyped: dict[str, str] | None = None,
) -> tuple[str, str | None]:
    """(SELECT list with the principal's masks, WHERE with its row filters) for one product. `sources`
    maps encrypted columns to the SQL decrypting them: masks and row filters read through it, and the
    column itself shows decrypted only `in_clear` (the principal holds a decrypt role). `pseudonyms`:
    the relation holding each hash-masked column's pseudonyms (`pseudonym_relation`). `retyped`: text
    columns read as the SQL type they hold (a TIME, which Delta cannot store)."""
    masks = masks_for(access, principal, product_id)
    sources, pseudonyms = sources or {}, pseudonyms or {}
    columns = []
    for f in schema:
        if f.name in masks:
            columns.append(mask_sql(masks[f.name], f.name, str(f.type), sources.get(f.name), pseudonyms.get(f.name)))
        else:
            value = sources[f.name] if f.name in sources and in_clear else q(f.name)
            if f.name in (retyped or {}):
                value = f"CAST({value} AS {(retyped or {})[f.name]})"
            columns.append(value if value == q(f.name) else f"{value} AS {q(f.name)}")
    filters = [
        f"({filter_sql(r, principal, sources)})"
        for r in access.row_filters
        if _matches(r.products, product_id) and not _exempt(r.unless_roles, principal)
    ]
    return ", ".join(columns), " AND ".join(filters) or None


def check_query(sql: str, products: list[str]) -> tuple[exp.Query, list[str]]:
    """The parsed query and the products it reads; AccessDenied if it is anything but a plain read of products."""
    from lakemesh.querying import QueryError, only_named_tables, parse_read_query

    try:
        tree = parse_read_query(sql)
        only_named_tables(tree)  # a table function is refused by its name
    except QueryError as exc:
        raise AccessDenied(exc.message, exc.hint) from exc
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = (node.sql_name() if not isinstance(node, exp.Anonymous) else str(node.name)).lower()
            if name.startswith(DENIED_FUNCTIONS) or isinstance(node, exp.ReadCSV | exp.ReadParquet):
                raise AccessDenied(f"function {name}() is not allowed in a governed query", "query products by id")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    named: list[str] = []
    for table in tree.find_all(exp.Table):
        if not table.name or not isinstance(table.this, exp.Identifier):
            raise AccessDenied(
                "table functions and file paths are not allowed in a governed query", "query products by id"
            )
        if not table.db and table.name in ctes:
            continue
        full = f"{table.db}.{table.name}" if table.db else table.name
        if full not in products:
            hint = did_you_mean(full, products)
            raise AccessDenied(
                f"unknown product {full}{hint}", "products are queried by id, e.g. orders.analytics_orders"
            )
        named.append(full)
    return tree, sorted(set(named))


def access_problems(ws: Workspace) -> list[Problem]:
    """Broken access specs: unknown roles, masks and filters naming columns a product lacks, bad filters."""
    access = ws.mesh.access
    out: list[Problem] = []
    roles = set(access.roles)
    for i, p in enumerate(access.principals):
        for role in p.roles:
            if role not in roles:
                msg = f"principal {p.name} has unknown role '{role}'{did_you_mean(role, sorted(roles))}"
                out.append(Problem("mesh.yaml", f"access.principals[{i}].roles", msg))
    for i, g in enumerate(access.grants):
        for role in g.roles:
            if role not in roles:
                msg = f"grant to unknown role '{role}'{did_you_mean(role, sorted(roles))}"
                out.append(Problem("mesh.yaml", f"access.grants[{i}].roles", msg))
    for i, m in enumerate(access.masks):
        for pid, entry in ws.products.items():
            if _matches(m.products, pid) and entry.contract and entry.contract.table().column(m.column) is None:
                msg = f"mask on column '{m.column}', which {pid} does not have"
                out.append(Problem("mesh.yaml", f"access.masks[{i}].column", msg))
    for i, r in enumerate(access.row_filters):
        try:
            tree = sqlglot.parse_one(r.filter, read=DEFAULT_DIALECT)
        except ParseError as exc:
            out.append(Problem("mesh.yaml", f"access.row_filters[{i}].filter", f"the filter does not parse: {exc}"))
            continue
        columns = {c.name for c in tree.find_all(exp.Column) if c.table != "principal"}
        for pid, entry in ws.products.items():
            if _matches(r.products, pid) and entry.contract:
                have = {c.name for c in entry.contract.table().columns}
                for c in sorted(columns - have):
                    msg = f"row filter reads column '{c}', which {pid} does not have"
                    out.append(Problem("mesh.yaml", f"access.row_filters[{i}].filter", msg))
    for section in ("grants", "masks", "row_filters"):
        for i, item in enumerate(getattr(access, section)):
            for pattern in item.products:
                if not any(fnmatch.fnmatchcase(p, pattern) for p in ws.products):
                    msg = f"'{pattern}' matches no product"
                    out.append(Problem("mesh.yaml", f"access.{section}[{i}].products", msg, Severity.WARNING))
    return out


def governed_query(
    sql: str,
    principal_name: str,
    ws: Workspace,
    lakehouse: Any,
    as_of: Any = None,
    clear: Callable[[str, Principal, Engine], tuple[dict[str, str], bool]] | None = None,
    retyped: dict[str, dict[str, str]] | None = None,
) -> tuple[pa.Table, Decision]:
    """Run `sql` as the principal; AccessDenied (with the Decision on it) when it may not."""
    from lakemesh.engines import make_engine

    access = ws.mesh.access
    principal = principal_of(access, principal_name)
    try:
        tree, products = check_query(sql, list(ws.products))
    except AccessDenied as exc:
        exc.decision = Decision(principal.name, [], False, exc.message)
        raise
    refused = [p for p in products if not granted(access, principal, p)]
    if refused:
        reason = f"{principal.name} is not granted read on {', '.join(refused)}"
        denied = AccessDenied(reason, "grants are declared in mesh.yaml under access.grants")
        denied.decision = Decision(principal.name, products, False, reason)
        raise denied
    if as_of is not None:
        as_of.check(products)
    engine = make_engine()
    try:
        for product in products:
            data = lakehouse.scan(product, as_of=as_of.of(product) if as_of is not None else None)
            schema = data.schema
            sources, in_clear = clear(product, principal, engine) if clear else ({}, False)
            # only text holds ciphertext: a column stored with its own type predates its encryption
            sources = {c: e for c, e in sources.items() if c in schema.names and is_text(schema.field(c).type)}
            hashed = {c: sources.get(c) for c, m in masks_for(access, principal, product).items() if m.method == "hash"}
            hashed = {c: s for c, s in hashed.items() if c in schema.names}
            pseudo = pseudonym_relation(engine, product, data, hashed, mask_key()) if hashed else {}
            types = {c: t for c, t in (retyped or {}).get(product, {}).items() if c in schema.names}
            select, where = view_select(access, principal, product, schema, sources, in_clear, pseudo, types)
            engine.register(product, data, where=where, select=select)
        result = engine.query(tree.sql(dialect=engine.dialect))
    finally:
        engine.close()
    return result, Decision(principal.name, products, True, "granted")
