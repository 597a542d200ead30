"""Catalog search latency with 50,000 registered products, on SQLite and PostgreSQL.

Anchor: the naive search a catalog without a full-text index does (`LIKE '%word%'` over the same text
columns), on the same rows in the same run. Target: p95 <= 20 ms for lakemesh.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text

from lakemesh.catalog import Catalog
from lakemesh.catalog import tables as t

DOMAINS = [
    "orders",
    "customers",
    "payments",
    "inventory",
    "shipping",
    "marketing",
    "finance",
    "hr",
    "logistics",
    "web",
    "mobile",
    "ads",
    "risk",
    "fraud",
    "support",
    "pricing",
    "catalog",
    "search",
    "identity",
    "billing",
]
NOUNS = [
    "events",
    "sessions",
    "invoices",
    "refunds",
    "clicks",
    "impressions",
    "shipments",
    "returns",
    "accounts",
    "profiles",
    "transactions",
    "balances",
    "tickets",
    "campaigns",
    "products",
    "stock",
    "warehouses",
    "carriers",
    "subscriptions",
    "plans",
    "leads",
    "contracts",
    "employees",
    "payroll",
    "audits",
]
ADJ = ["daily", "hourly", "raw", "clean", "enriched", "aggregated", "monthly", "realtime", "historical", "latest"]
WORDS = [
    "revenue",
    "churn",
    "conversion",
    "latency",
    "fulfilment",
    "settlement",
    "chargeback",
    "attribution",
    "cohort",
    "retention",
    "forecast",
    "anomaly",
    "margin",
    "basket",
    "funnel",
    "segment",
    "lifetime",
    "value",
    "quality",
    "compliance",
    "gdpr",
    "pii",
    "email",
    "address",
    "region",
    "country",
    "currency",
    "tax",
]
COLUMNS = [
    "id",
    "order_id",
    "customer_id",
    "amount",
    "currency",
    "status",
    "created_at",
    "updated_at",
    "email",
    "country",
    "region",
    "sku",
    "quantity",
    "price",
    "discount",
    "channel",
    "device",
    "session_id",
    "campaign_id",
    "carrier",
    "warehouse_id",
    "invoice_id",
    "tax_amount",
    "margin",
    "score",
]


def populate(catalog: Catalog, n: int, seed: int = 7) -> None:
    """Register `n` synthetic products straight into the tables a sync writes."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    products, tags, search = [], [], []
    for i in range(n):
        domain, noun, adj = rng.choice(DOMAINS), rng.choice(NOUNS), rng.choice(ADJ)
        pid = f"{domain}.{adj}_{noun}_{i}"
        desc = " ".join(rng.choices(WORDS + NOUNS, k=14))
        ptags = sorted(set(rng.choices(WORDS[:12] + ADJ, k=3)))
        cols = rng.sample(COLUMNS, 8)
        products.append(
            {
                "id": pid,
                "domain": domain,
                "name": f"{adj.title()} {noun}",
                "description": desc,
                "owner": f"{domain}-team@example.com",
                "layer": rng.choice(["bronze", "silver", "gold"]),
                "status": "active",
                "spec_version": "1.0.0",
                "tags": ptags,
                "contract_id": pid,
                "document": {},
                "content_hash": str(i),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        tags.extend({"product_id": pid, "tag": tag} for tag in ptags)
        search.append(
            {
                "product_id": pid,
                "name": f"{pid} {adj} {noun}",
                "description": desc,
                "tags": " ".join(ptags),
                "column_names": " ".join(cols),
                "column_docs": " ".join(rng.choices(WORDS, k=10)),
                "domain": domain,
                "owner": f"{domain}-team@example.com",
            }
        )
    with catalog.engine.begin() as conn:
        for rows, table in ((products, t.products), (tags, t.product_tags), (search, t.product_search)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
    if catalog.engine.dialect.name == "postgresql":
        with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def queries(count: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            out.append({"query": rng.choice(NOUNS)})
        elif kind == 1:
            out.append({"query": f"{rng.choice(ADJ)} {rng.choice(NOUNS)}"})
        elif kind == 2:
            out.append({"query": rng.choice(WORDS), "domain": rng.choice(DOMAINS)})
        else:
            out.append({"query": rng.choice(COLUMNS[:12]), "tag": rng.choice(WORDS[:12])})
    return out


def naive_search(catalog: Catalog, query: str, domain: str | None = None, tag: str | None = None) -> list[str]:
    """The anchor: LIKE over every text column, every word required, ranked by nothing."""
    clauses, params = ["p.removed_at IS NULL"], {}
    for i, word in enumerate(query.lower().split()):
        params[f"w{i}"] = f"%{word}%"
        fields = ("s.name", "s.description", "s.tags", "s.column_names", "s.column_docs")
        clauses.append("(" + " OR ".join(f"lower({f}) LIKE :w{i}" for f in fields) + ")")
    if domain:
        clauses.append("p.domain = :domain")
        params["domain"] = domain
    if tag:
        clauses.append("EXISTS (SELECT 1 FROM product_tags pt WHERE pt.product_id = p.id AND pt.tag = :tag)")
        params["tag"] = tag
    sql = (
        f"SELECT p.id FROM products p JOIN product_search_text s ON s.product_id = p.id "
        f"WHERE {' AND '.join(clauses)} ORDER BY p.id LIMIT 20"
    )
    with catalog.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params)]


def timed(fn: Callable[[], object], repeats: int = 1) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def run_backend(label: str, url: str, products: int, n_queries: int) -> dict[str, float]:
    catalog = Catalog.connect(url)
    started = time.perf_counter()
    populate(catalog, products)
    load_s = time.perf_counter() - started
    qs = queries(n_queries)
    for q in qs[:20]:  # warm caches the same way for both
        catalog.search(**q)
        naive_search(catalog, **q)
    ours = [ms for q in qs for ms in timed(lambda q=q: catalog.search(**q))]
    anchor = [ms for q in qs for ms in timed(lambda q=q: naive_search(catalog, **q))]
    hits = sum(1 for q in qs if catalog.search(**q))
    catalog.close()
    result = {
        "p50": statistics.median(ours),
        "p95": percentile(ours, 95),
        "p99": percentile(ours, 99),
        "anchor_p50": statistics.median(anchor),
        "anchor_p95": percentile(anchor, 95),
        "load_s": load_s,
    }
    print(f"  {label:<10} {products:,} products loaded in {load_s:.1f}s; {n_queries} queries, {hits} with hits")
    print(
        f"  {'':<10} lakemesh p50 {result['p50']:.2f} ms  p95 {result['p95']:.2f} ms  p99 {result['p99']:.2f} ms"
        f"   (target p95 <= 20 ms: {'met' if result['p95'] <= 20 else 'MISSED'})"
    )
    print(
        f"  {'':<10} anchor LIKE scan p50 {result['anchor_p50']:.2f} ms  p95 {result['anchor_p95']:.2f} ms"
        f"   -> anchor p95 / lakemesh p95 = {result['anchor_p95'] / result['p95']:.1f}x (the anchor does not rank)"
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    import tempfile
    from pathlib import Path

    print(f"catalog search: {args.products:,} products")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.products, args.queries)
    if not args.no_postgres:
        from tests.pg_server import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            results["postgres"] = run_backend("postgresql", server.url("postgres"), args.products, args.queries)
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    main()
