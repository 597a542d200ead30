"""`lakemesh query`: SQL over products by id, read-only, optionally as of a past version or time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakemesh.engines import Protector, make_engine, register_revealed
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.pipeline.transform import referenced_products
from lakemesh.spec.problems import did_you_mean
from lakemesh.spec.types import DEFAULT_DIALECT


class QueryError(LakemeshError):
    """A query that is not one read-only SELECT over known products."""


def parse_as_of(value: str | None, option: str = "--as-of") -> int | datetime | None:
    """A version number or an ISO timestamp (`2026-11-26T10:00:00Z`; without a zone, UTC)."""
    if value is None:
        return None
    if re.fullmatch(r"\d+", value):
        return int(value)
    if re.fullmatch(r"-\d+", value):
        raise QueryError(f"{option} {value}: versions start at 0", "see `lakemesh history`")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"{option} '{value}' is neither a version number nor an ISO timestamp") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_PER_TABLE_HINT = "use --as-of TIMESTAMP, or a version per table: --as-of {a}=3 --as-of {b}=5"


@dataclass(frozen=True)
class AsOf:
    """What `--as-of` says: one time (or, for a single table, a version) and versions or times per table."""

    default: int | datetime | None = None
    tables: dict[str, int | datetime] = field(default_factory=dict)
    # the table versions of a mesh version (`mesh.versions`): what a product reads when nothing above names it
    pinned: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: str | list[str] | None) -> AsOf:
        """`3`, `2026-11-26T10:00:00Z`, `orders.analytics_orders=3`: at most one without a table."""
        default: int | datetime | None = None
        tables: dict[str, int | datetime] = {}
        for value in [values] if isinstance(values, str) else values or []:
            product, sep, rest = value.partition("=")
            if sep:
                parsed = parse_as_of(rest)
                assert parsed is not None
                tables[product.strip()] = parsed
            elif default is not None:
                raise QueryError(f"--as-of given twice ({value})", "give one time, or one --as-of per table")
            else:
                default = parse_as_of(value)
        return cls(default, tables)

    def check(self, products: list[str]) -> None:
        """Refuse what cannot mean one thing for the tables a query reads."""
        for name in self.tables:
            if name not in products:
                raise QueryError(
                    f"--as-of {name}=...: {name} is not read by the query{did_you_mean(name, products)}",
                    f"the query reads {', '.join(sorted(products))}",
                )
        unpinned = [p for p in products if p not in self.tables]
        if isinstance(self.default, int) and len(products) > 1 and unpinned:
            a, b = sorted(products)[:2]
            raise QueryError(
                f"--as-of {self.default} names one version for {', '.join(sorted(products))}: "
                "versions of different tables are unrelated",
                _PER_TABLE_HINT.format(a=a, b=b),
            )

    def of(self, product: str) -> int | datetime | None:
        if product in self.tables:
            return self.tables[product]
        return self.default if self.default is not None else self.pinned.get(product)


def parse_read_query(sql: str) -> exp.Query:
    """The one read-only SELECT in `sql`; QueryError for a syntax error or anything else."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DEFAULT_DIALECT) if s is not None]
    except ParseError as exc:
        raise QueryError(f"SQL syntax error: {exc.errors[0].get('description') if exc.errors else exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise QueryError("only one read query (SELECT ...) is allowed", "no DDL, DML, PRAGMA, SET or ATTACH")
    return statements[0]


def only_named_tables(tree: exp.Query) -> None:
    """Refuse table functions (files, globs, series) by their name, and names with a catalog part."""
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            name = table.this.sql(dialect=DEFAULT_DIALECT).split("(")[0].lower() if table.this else "?"
            raise QueryError(f"table function {name}() is not allowed: queries read products by id")
        if table.catalog:
            raise QueryError(
                f"unknown product {table.catalog}.{table.db}.{table.name}",
                "products are queried by id, e.g. orders.analytics_orders",
            )


def run_query(
    sql: str,
    products: list[str],
    lakehouse: Lakehouse,
    as_of: AsOf | None = None,
    protector: Protector | None = None,
    retyped: dict[str, dict[str, str]] | None = None,
) -> pa.Table:
    """Run one SELECT over the products it names (each as `as_of` says), encrypted columns in clear,
    columns stored as text for a type Delta cannot hold (`retyped`: product, column, type) as that type."""
    tree = parse_read_query(sql)
    only_named_tables(tree)
    named = referenced_products(tree)
    unknown = sorted(n for n in named if n not in products)
    if unknown:
        raise QueryError(
            f"unknown product {unknown[0]}{did_you_mean(unknown[0], products)}",
            "products are queried by id, e.g. orders.analytics_orders",
        )
    as_of = as_of or AsOf()
    as_of.check(sorted(named))
    engine = make_engine()
    try:
        for product in sorted(named):
            scan = lakehouse.scan(product, as_of=as_of.of(product))
            register_revealed(engine, product, scan, protector, retyped=(retyped or {}).get(product))
        return engine.query(tree.sql(dialect=engine.dialect))
    finally:
        engine.close()
