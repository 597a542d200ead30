"""Ranked full-text search over products: SQLite FTS5 (bm25) or PostgreSQL tsvector (ts_rank).

Both rank name and tags above descriptions, and descriptions above column names and column docs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

# bm25 weights, in the FTS5 column order: name, description, tags, column_names, column_docs
_BM25 = "bm25(product_search_fts, 10.0, 3.0, 6.0, 2.0, 1.0)"
_COLUMNS = "p.id, p.name, p.domain, p.owner, p.layer, p.status, p.description, p.tags"


@dataclass(frozen=True)
class SearchHit:
    product_id: str
    name: str
    domain: str
    owner: str | None
    layer: str
    status: str
    description: str | None
    tags: list[str]
    score: float


def terms_of(query: str) -> list[str]:
    """Search terms: words and numbers only, so nothing the user types is read as query syntax."""
    return re.findall(r"\w+", query.lower())


def _filters(domain: str | None, tag: str | None, owner: str | None) -> tuple[str, dict[str, Any]]:
    clauses, params = ["p.removed_at IS NULL"], {}
    if domain:
        clauses.append("p.domain = :domain")
        params["domain"] = domain
    if tag:
        clauses.append("EXISTS (SELECT 1 FROM product_tags pt WHERE pt.product_id = p.id AND pt.tag = :tag)")
        params["tag"] = tag
    if owner:
        clauses.append("lower(p.owner) = lower(:owner)")
        params["owner"] = owner
    return " AND ".join(clauses), params


def _hit(row: Any) -> SearchHit:
    tags = row.tags if isinstance(row.tags, list) else []
    return SearchHit(
        row.id,
        row.name,
        row.domain,
        row.owner,
        row.layer,
        row.status,
        row.description,
        tags,
        float(row.score),
    )


def search_products(
    conn: Connection,
    query: str,
    domain: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Products matching every term of `query` (any term when none matches all), best first."""
    where, params = _filters(domain, tag, owner)
    params["limit"] = limit
    terms = terms_of(query)
    if not terms:
        sql = f"SELECT {_COLUMNS}, 0.0 AS score FROM products p WHERE {where} ORDER BY p.id LIMIT :limit"
        return [_hit(r) for r in conn.execute(text(sql), params)]
    run = _sqlite if conn.dialect.name == "sqlite" else _postgres
    hits = run(conn, terms, " AND ", where, params)
    if not hits and len(terms) > 1:
        hits = run(conn, terms, " OR ", where, params)
    return hits


def _sqlite(conn: Connection, terms: list[str], op: str, where: str, params: dict[str, Any]) -> list[SearchHit]:
    # each term matches its stem (porter) or, as a prefix, longer words: "cust" finds "customers"
    params["match"] = op.join(f'("{t}" OR "{t}"*)' for t in terms)
    sql = f"""
        SELECT {_COLUMNS}, -{_BM25} AS score
        FROM product_search_fts
        JOIN product_search_text s ON s.rowid = product_search_fts.rowid
        JOIN products p ON p.id = s.product_id
        WHERE product_search_fts MATCH :match AND {where}
        ORDER BY {_BM25}, p.id
        LIMIT :limit"""
    return [_hit(r) for r in conn.execute(text(sql), params)]


def _postgres(conn: Connection, terms: list[str], op: str, where: str, params: dict[str, Any]) -> list[SearchHit]:
    joiner = " & " if op == " AND " else " | "
    params["tsq"] = joiner.join(f"{t}:*" for t in terms)
    sql = f"""
        SELECT {_COLUMNS}, ts_rank(s.search_vector, q) AS score
        FROM product_search_text s
        JOIN products p ON p.id = s.product_id,
             to_tsquery('english', :tsq) q
        WHERE s.search_vector @@ q AND {where}
        ORDER BY score DESC, p.id
        LIMIT :limit"""
    return [_hit(r) for r in conn.execute(text(sql), params)]
