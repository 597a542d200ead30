"""`lakemesh query`: SQL over products by id, read-only, optionally as of a past version or time."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakemesh.engines import Protector, make_engine, register_revealed
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.pipeline.transform import referenced_products
from lakemesh.spec.problems import did_you_mean


class QueryError(LakemeshError):
    """A query that is not one read-only SELECT over known products."""


def parse_as_of(value: str | None) -> int | datetime | None:
    """A version number or an ISO timestamp (`2026-11-26T10:00:00Z`)."""
    if value is None:
        return None
    if re.fullmatch(r"\d+", value):
        return int(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"--as-of '{value}' is neither a version number nor an ISO timestamp") from exc


def parse_read_query(sql: str) -> exp.Query:
    """The one read-only SELECT in `sql`; QueryError for a syntax error or anything else."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise QueryError(f"SQL syntax error: {exc.errors[0].get('description') if exc.errors else exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise QueryError("only one read query (SELECT ...) is allowed", "no DDL, DML, PRAGMA, SET or ATTACH")
    return statements[0]


def run_query(
    sql: str,
    products: list[str],
    lakehouse: Lakehouse,
    as_of: int | datetime | None = None,
    protector: Protector | None = None,
    retyped: dict[str, dict[str, str]] | None = None,
) -> pa.Table:
    """Run one SELECT over the products it names (each at `as_of` when given), encrypted columns in clear,
    columns stored as text for a type Delta cannot hold (`retyped`: product, column, type) as that type."""
    tree = parse_read_query(sql)
    named = referenced_products(tree)
    unknown = sorted(n for n in named if n not in products)
    if unknown:
        raise QueryError(
            f"unknown product {unknown[0]}{did_you_mean(unknown[0], products)}",
            "products are queried by id, e.g. orders.analytics_orders",
        )
    engine = make_engine()
    try:
        for product in sorted(named):
            scan = lakehouse.scan(product, as_of=as_of)
            register_revealed(engine, product, scan, protector, retyped=(retyped or {}).get(product))
        return engine.query(tree.sql(dialect=engine.dialect))
    finally:
        engine.close()
