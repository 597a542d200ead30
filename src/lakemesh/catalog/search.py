"""Ranked full-text search over products: SQLite FTS5 (bm25) or PostgreSQL tsvector (ts_rank).

Retrieval is tiered, as search engines do with boosted fields: products whose name or tags hold every
term come first, then those whose description does, then those matching anywhere (column names and
column docs too). Each tier is ranked by the weighted score and the search stops once the limit is
filled, so a word that thousands of products mention in passing does not have to be ranked in full.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, text

from lakemesh.errors import CatalogError
from lakemesh.spec.models import Layer, ProductStatus

_COLUMNS = "p.id, p.name, p.domain, p.owner, p.layer, p.status, p.description, p.tags"
# FTS5 column filters and tsquery weight labels for the three tiers
_SQLITE_TIERS = ("{name tags} : ", "{name tags description} : ", "")
_POSTGRES_TIERS = ("head_vector", "body_vector", "search_vector")


class SearchHit(BaseModel):
    """One product found by a catalog search, ranked by `score` (`catalog search --json`)."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str
    domain: str
    owner: str | None
    layer: Layer
    status: ProductStatus
    description: str | None
    tags: list[str]
    score: float


def terms_of(query: str) -> list[str]:
    """Search terms: words and numbers only, so nothing the user types is read as query syntax.

    Underscores split too: `customer_id` is the words customer and id, as the indexes tokenize it,
    matched as two terms rather than a phrase (a phrase costs a position check on every candidate).
    """
    return re.findall(r"[^\W_]+", query.lower())


def _filters(
    domain: str | None, tag: str | None, owner: str | None, on: str = "p", key: str = "id"
) -> tuple[str, dict[str, Any]]:
    """The exact filters as SQL over table alias `on` (products, or the search table that mirrors them)."""
    clauses, params = ["p.removed_at IS NULL"] if on == "p" else ["TRUE"], {}
    if domain:
        clauses.append(f"{on}.domain = :domain")
        params["domain"] = domain
    if tag:
        clauses.append(f"EXISTS (SELECT 1 FROM product_tags pt WHERE pt.product_id = {on}.{key} AND pt.tag = :tag)")
        params["tag"] = tag
    if owner:
        clauses.append(f"lower({on}.owner) = lower(:owner)")
        params["owner"] = owner
    return " AND ".join(clauses), params


def _hit(row: Any, tier: int) -> SearchHit:
    # raw SQL gets JSON as text on SQLite (PostgreSQL's JSONB arrives decoded)
    tags = json.loads(row.tags) if isinstance(row.tags, str) else row.tags
    if not isinstance(tags, list):
        raise CatalogError(f"catalog row of product {row.id}: tags are {type(tags).__name__}, not a list")
    # a higher tier always outranks a lower one; within a tier, the engine's relevance score
    score = (3 - tier) * 1000.0 + float(row.score)
    return SearchHit(
        product_id=row.id,
        name=row.name,
        domain=row.domain,
        owner=row.owner,
        layer=row.layer,
        status=row.status,
        description=row.description,
        tags=tags,
        score=score,
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
    terms = terms_of(query)
    if not terms:
        sql = f"SELECT {_COLUMNS}, 0.0 AS score FROM products p WHERE {where} ORDER BY p.id LIMIT :limit"
        return [_hit(r, 2) for r in conn.execute(text(sql), {**params, "limit": limit})]
    if conn.dialect.name == "sqlite":
        narrowing = _fts_filters(domain, tag, owner)
    else:
        # PostgreSQL filters on the search table itself, so ranking never waits for a join
        narrowing, params = _filters(domain, tag, owner, on="s", key="product_id")
        lexemes = _filter_lexemes(domain, tag, owner)
        if lexemes:
            narrowing += " AND s.filter_vector @@ CAST(:filter_query AS tsquery)"
            params["filter_query"] = " & ".join(lexemes)
    hits = _tiered(conn, terms, " AND ", where, params, limit, narrowing)
    if not hits and len(terms) > 1:
        hits = _tiered(conn, terms, " OR ", where, params, limit, narrowing)
    return hits


def _filter_lexemes(domain: str | None, tag: str | None, owner: str | None) -> list[str]:
    """The filters as quoted tsquery lexemes matching the search table's `filter_vector`."""
    values = [f"d={domain}"] if domain else []
    if owner:
        values.append(f"o={owner.lower()}")
    if tag:
        values.extend(f"t={part}" for part in tag.split(" ") if part)
    return ["'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in values]


def _fts_filters(domain: str | None, tag: str | None, owner: str | None) -> str:
    """The filters as FTS5 phrases, so SQLite intersects them with the match before ranking.

    A phrase of a value's words can also match a longer value; the exact SQL filters still apply.
    """
    parts = []
    for column, value in (("domain", domain), ("tags", tag), ("owner", owner)):
        words = terms_of(value or "")
        if words:
            parts.append(f'{{{column}}} : "{" ".join(words)}"')
    return "".join(f" AND {p}" for p in parts)


def _tiered(
    conn: Connection, terms: list[str], op: str, where: str, params: dict[str, Any], limit: int, narrowing: str
) -> list[SearchHit]:
    sqlite = conn.dialect.name == "sqlite"
    found: list[SearchHit] = []
    seen: set[str] = set()
    for tier, scope in enumerate(_SQLITE_TIERS if sqlite else _POSTGRES_TIERS):
        # ask for enough rows to fill the page after dropping what earlier tiers found
        want = limit - len(found) + len(seen)
        tier_params = {**params, "limit": want}
        if sqlite:
            rows = _sqlite_tier(conn, terms, op, scope, narrowing, where, tier_params)
        else:
            rows = _postgres_tier(conn, terms, op, scope, narrowing, tier_params)
        for row in rows:
            if row.id not in seen:
                seen.add(row.id)
                found.append(_hit(row, tier))
        if len(found) >= limit:
            break
    return found[:limit]


def _sqlite_tier(
    conn: Connection, terms: list[str], op: str, scope: str, narrowing: str, where: str, params: dict[str, Any]
) -> list[Any]:
    # FTS5 stems a prefix term before expanding it: "orders"* finds "order", "cust"* finds "customers"
    match = op.join(f'{scope}"{t}"*' for t in terms)
    params["match"] = f"({match}){narrowing}"
    # rank inside FTS5 and join only the best rows: joining every match first costs more than ranking
    params["inner"] = max(4 * params["limit"], 100)
    sql = f"""
        WITH f AS MATERIALIZED (
            SELECT rowid, rank FROM product_search_fts WHERE product_search_fts MATCH :match
            ORDER BY rank LIMIT :inner)
        SELECT {_COLUMNS}, -f.rank AS score
        FROM f
        JOIN product_search_text s ON s.rowid = f.rowid
        JOIN products p ON p.id = s.product_id
        WHERE {where}
        ORDER BY f.rank, p.id
        LIMIT :limit"""
    rows = list(conn.execute(text(sql), params))
    if len(rows) < params["limit"] and _more_than(conn, params["match"], params["inner"]):
        # the exact filters dropped rows the FTS phrases let through: rank every match instead
        rows = list(conn.execute(text(sql), {**params, "inner": -1}))
    return rows


def _more_than(conn: Connection, match: str, count: int) -> bool:
    sql = "SELECT count(*) FROM (SELECT rowid FROM product_search_fts WHERE product_search_fts MATCH :m LIMIT :n)"
    return bool(conn.execute(text(sql), {"m": match, "n": count + 1}).scalar_one() > count)


def _postgres_tier(
    conn: Connection, terms: list[str], op: str, vector: str, filters: str, params: dict[str, Any]
) -> list[Any]:
    joiner = " & " if op == " AND " else " | "
    params["tsq"] = joiner.join(f"{t}:*" for t in terms)
    # removed products have no search row, so the products join only fetches the page's columns
    sql = f"""
        WITH ranked AS MATERIALIZED (
            SELECT s.product_id, ts_rank(s.{vector}, q) AS score
            FROM product_search_text s, to_tsquery('english', :tsq) q
            WHERE s.{vector} @@ q AND {filters}
            ORDER BY score DESC, s.product_id
            LIMIT :limit)
        SELECT {_COLUMNS}, ranked.score
        FROM ranked JOIN products p ON p.id = ranked.product_id
        ORDER BY ranked.score DESC, p.id"""
    return list(conn.execute(text(sql), params))
