"""Realistic synthetic order events with known dirty records, generated inside the (DuckDB) engine.

Deterministic (a hash of the row number, no RNG state) so tests and benchmarks can count the dirt.
Dirt: exact duplicate events, events without an order_id, statuses in the wrong case or unknown,
negative totals, malformed currency codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakemesh.engines import FileFormat, make_engine
from lakemesh.sql import lit

STATUSES = ("created", "paid", "shipped", "delivered", "cancelled")
# the events' columns, in order: the row number `i` they are made from is left out by name
EVENT_COLUMNS = ("event_id", "order_id", "customer_id", "status", "total_amount", "currency", "items_count", "event_ts")


@dataclass(frozen=True)
class Dirt:
    """Every how-many-th row gets each kind of dirt (the row number modulo, with an offset)."""

    duplicate_every: int = 331
    missing_order_every: int = 997
    bad_case_every: int = 503
    unknown_status_every: int = 1009
    negative_total_every: int = 2003
    bad_currency_every: int = 1499


def order_events_sql(rows: int, dirt: Dirt = Dirt(), start: int = 0) -> str:
    """A query producing `rows` base events (numbered from `start`) plus the duplicates the dirt adds.

    Event i belongs to order i // 2, so a later batch with a higher `start` updates some orders and adds others.
    """
    statuses = "[" + ", ".join(lit(s) for s in STATUSES) + "]"
    base = f"""
        SELECT
            i,
            'EV-' || lpad(CAST(i AS VARCHAR), 10, '0') AS event_id,
            CASE WHEN i % {dirt.missing_order_every} = 5 THEN NULL
                 ELSE 'ORD-' || lpad(CAST(i // 2 AS VARCHAR), 8, '0') END AS order_id,
            'C' || lpad(CAST(hash(i * 31) % 50000 AS VARCHAR), 6, '0') AS customer_id,
            CASE WHEN i % {dirt.bad_case_every} = 7 THEN ' SHIPPED'
                 WHEN i % {dirt.unknown_status_every} = 3 THEN 'lost'
                 ELSE {statuses}[1 + CAST(hash(i * 7) % 5 AS INTEGER)] END AS status,
            CASE WHEN i % {dirt.negative_total_every} = 11 THEN -10.00
                 ELSE CAST(round(5 + (hash(i * 13) % 99000) / 100.0, 2) AS DECIMAL(10, 2)) END AS total_amount,
            CASE WHEN i % {dirt.bad_currency_every} = 13 THEN 'euro'
                 WHEN hash(i * 17) % 4 = 0 THEN 'USD' ELSE 'EUR' END AS currency,
            CAST(1 + hash(i * 19) % 8 AS INTEGER) AS items_count,
            TIMESTAMP '2026-10-01 00:00:00' + to_seconds(CAST(hash(i * 3) % (30 * 86400) AS BIGINT)) AS event_ts
        FROM range({start}, {start + rows}) t(i)
    """
    return f"""
        WITH base AS ({base})
        SELECT {", ".join(EVENT_COLUMNS)} FROM (
            SELECT * FROM base
            UNION ALL
            SELECT * FROM base WHERE i % {dirt.duplicate_every} = 0
        ) ORDER BY i
    """


def write_order_events(path: Path, rows: int, fmt: str = "jsonl", dirt: Dirt = Dirt(), start: int = 0) -> int:
    """Write synthetic order events to `path` (jsonl, csv or parquet); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    file_format = {"jsonl": FileFormat.JSON, "csv": FileFormat.CSV, "parquet": FileFormat.PARQUET}[fmt]
    con = make_engine()
    try:
        sql = order_events_sql(rows, dirt, start)
        con.copy_to(sql, str(path), file_format)
        return int(con.rows(f"SELECT count(*) FROM ({sql})")[0][0])
    finally:
        con.close()


def expected_dirt(rows: int, dirt: Dirt = Dirt()) -> dict[str, int]:
    """How many rows of each kind of dirt `write_order_events` produces, computed independently."""

    def hits(every: int, offset: int) -> int:
        return sum(1 for i in range(offset, rows, every))

    dup_rows = list(range(0, rows, dirt.duplicate_every))

    def with_dups(every: int, offset: int) -> int:
        return hits(every, offset) + sum(1 for i in dup_rows if i % every == offset)

    return {
        "duplicates": len(dup_rows),
        "missing_order_id": with_dups(dirt.missing_order_every, 5),
        "bad_case_status": with_dups(dirt.bad_case_every, 7),
        "unknown_status": sum(
            1 for i in range(rows) if i % dirt.unknown_status_every == 3 and i % dirt.bad_case_every != 7
        )
        + sum(1 for i in dup_rows if i % dirt.unknown_status_every == 3 and i % dirt.bad_case_every != 7),
        "negative_total": with_dups(dirt.negative_total_every, 11),
        "bad_currency": with_dups(dirt.bad_currency_every, 13),
    }


def customers_sql(rows: int) -> str:
    """Customer records with a little dirt: upper-case emails, lower-case countries, unknown regions."""
    regions = "['EMEA', 'AMER', 'APAC']"
    countries = "['DE', 'FR', 'ES', 'US', 'CA', 'BR', 'JP', 'AU', 'IN', 'GB']"
    return f"""
        SELECT
            'C' || lpad(CAST(i AS VARCHAR), 6, '0') AS customer_id,
            ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald'][1 + CAST(hash(i) % 6 AS INTEGER)] || ' ' ||
            ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth'][1 + CAST(hash(i * 3) % 6 AS INTEGER)]
                AS full_name,
            CASE WHEN i % 211 = 1 THEN 'not-an-email'
                 ELSE 'user' || CAST(i AS VARCHAR) || '@example.com' END AS email,
            '+49' || lpad(CAST(hash(i * 5) % 1000000000 AS VARCHAR), 10, '0') AS phone,
            CAST(DATE '1950-01-01' + CAST(hash(i * 7) % 20000 AS INTEGER) AS VARCHAR) AS date_of_birth,
            CASE WHEN i % 97 = 2 THEN 'de' ELSE {countries}[1 + CAST(hash(i * 11) % 10 AS INTEGER)] END AS country,
            CASE WHEN i % 389 = 3 THEN 'LATAM' ELSE {regions}[1 + CAST(hash(i * 13) % 3 AS INTEGER)] END AS region,
            CAST(DATE '2020-01-01' + CAST(hash(i * 17) % 2000 AS INTEGER) AS VARCHAR) AS signup_date
        FROM range({rows}) t(i)
    """


def write_customers(path: Path, rows: int) -> int:
    """Write synthetic customer records as CSV; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = make_engine()
    try:
        con.copy_to(customers_sql(rows), str(path), FileFormat.CSV)
    finally:
        con.close()
    return rows
