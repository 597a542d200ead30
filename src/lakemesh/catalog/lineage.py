"""Column lineage in the catalog: one version per (product, spec fingerprint), its column edges, and
which version is current. Rows are plain dicts here: the lineage layer above owns their meaning.

A refresh writes only products whose fingerprint changed (the old version kept, no longer current), in
one transaction; going back to a spec seen before makes its stored version current again. Besides column
edges, each input of a product is an edge of type PRODUCT between empty columns, so "who reads this
product" is an index lookup too. Readers fetch the edges of a walk's frontier, a few products at a time
(`fetch_edges`, `fetch_versions`), or everything at once (`load_current`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, true, update
from sqlalchemy.exc import SQLAlchemyError

from lakemesh.catalog import tables as t
from lakemesh.errors import CatalogError

VERSION_FIELDS = (
    "granularity",
    "domain",
    "layer",
    "owner",
    "inputs",
    "sources",
    "warnings",
    "columns",
    "product_level",
)
PRODUCT_EDGE = "PRODUCT"  # an edge's type when it links products, not columns (columns "")
_CHUNK = 500  # ids per IN list: well under SQLite's and PostgreSQL's bound parameter limits
EDGE_FIELDS = ("source_product", "source_column", "target_product", "target_column", "type", "subtypes", "masking")


@dataclass
class LineageWrite:
    """What one refresh stores: new versions (with their edges), products gone, current masks changed."""

    versions: list[dict[str, Any]] = field(default_factory=list)  # product_id, fingerprint, VERSION_FIELDS...
    edges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # product_id -> EDGE_FIELDS rows
    retired: list[str] = field(default_factory=list)
    remasked: dict[str, list[str]] = field(default_factory=dict)  # product_id -> its masked columns now


@dataclass(frozen=True)
class LineageRows:
    """The current lineage: a row per product version and every edge as a tuple in EDGE_FIELDS order."""

    versions: list[dict[str, Any]]
    edges: list[tuple[Any, ...]]


def current_fingerprints(engine: Engine) -> dict[str, tuple[str, list[str]]]:
    """Per product, its current lineage's fingerprint and masked columns."""
    v = t.lineage_versions
    with engine.connect() as conn:
        rows = conn.execute(select(v.c.product_id, v.c.fingerprint, v.c.masked).where(v.c.current == true()))
        return {pid: (fp, list(masked or [])) for pid, fp, masked in rows}


Derive = Callable[[LineageRows], dict[str, list[str]]]


def write_lineage(engine: Engine, write: LineageWrite, url: str, pii: Derive | None = None) -> None:
    """Store a refresh, all or nothing. `pii`: given the current lineage after the refresh, the pii
    columns of each product, copies of pii columns included (stored as `derived_pii` where changed)."""
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            for row in write.versions:
                _make_current(conn, row, write.edges.get(row["product_id"], []), now)
            if write.retired:
                _retire(conn, write.retired)
            for pid, masked in write.remasked.items():
                v = t.lineage_versions
                conn.execute(update(v).where(v.c.product_id == pid, v.c.current == true()).values(masked=masked))
            if pii is not None:
                _update_pii(conn, pii)
    except SQLAlchemyError as exc:
        raise CatalogError(f"storing lineage in {url} failed, nothing was changed: {exc}") from exc


def _make_current(conn: Connection, row: dict[str, Any], edges: list[dict[str, Any]], now: datetime) -> None:
    """The version becomes the product's current one: stored if new, flagged again if seen before."""
    v, e = t.lineage_versions, t.lineage_column_edges
    pid, fp = row["product_id"], row["fingerprint"]
    _retire(conn, [pid])
    known = and_(v.c.product_id == pid, v.c.fingerprint == fp)
    if conn.execute(select(func.count()).select_from(v).where(known)).scalar():
        conn.execute(update(v).where(known).values(current=True, pii=row["pii"], masked=row["masked"]))
        conn.execute(update(e).where(e.c.product_id == pid, e.c.fingerprint == fp).values(current=True))
        return
    conn.execute(insert(v).values(**row, current=True, recorded_at=now))
    if edges:
        conn.execute(insert(e), [{**edge, "product_id": pid, "fingerprint": fp, "current": True} for edge in edges])


def _retire(conn: Connection, product_ids: Iterable[str]) -> None:
    v, e = t.lineage_versions, t.lineage_column_edges
    for pid in product_ids:
        conn.execute(update(v).where(v.c.product_id == pid, v.c.current == true()).values(current=False))
        conn.execute(update(e).where(e.c.product_id == pid, e.c.current == true()).values(current=False))


def _update_pii(conn: Connection, derive: Derive) -> None:
    v = t.lineage_versions
    rows = _current(conn)
    for pid, columns in derive(rows).items():
        stored = next(r for r in rows.versions if r["product_id"] == pid)
        if stored["derived_pii"] is None or sorted(stored["derived_pii"]) != sorted(columns):
            values = {"derived_pii": sorted(columns)}
            conn.execute(update(v).where(v.c.product_id == pid, v.c.current == true()).values(**values))


def load_current(engine: Engine) -> LineageRows:
    """Every current version and edge, in two queries."""
    with engine.connect() as conn:
        return _current(conn)


def _current(conn: Connection) -> LineageRows:
    v, e = t.lineage_versions, t.lineage_column_edges
    versions = [dict(r) for r in conn.execute(select(v).where(v.c.current == true())).mappings()]
    cols = [e.c[name] for name in EDGE_FIELDS]
    edges = [tuple(r) for r in conn.execute(select(*cols).where(e.c.current == true()))]
    return LineageRows(versions, edges)


def fetch_edges(
    engine: Engine, products: Iterable[str], downstream: bool, products_only: bool = False
) -> list[tuple[Any, ...]]:
    """The current edges (EDGE_FIELDS order) leaving these products (downstream) or entering them;
    `products_only`: only the edges between products."""
    e = t.lineage_column_edges
    end = e.c.source_product if downstream else e.c.target_product
    query = select(*(e.c[name] for name in EDGE_FIELDS)).where(e.c.current == true())
    if products_only:
        query = query.where((e.c.source_column if downstream else e.c.target_column) == "")
    out: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for chunk in _chunks(products):
            out += [tuple(r) for r in conn.execute(query.where(end.in_(chunk)))]
    return out


SHOWN = (
    *("product_id", "domain", "layer", "owner", "columns"),
    *("product_level", "pii", "derived_pii", "masked"),
)


def fetch_versions(engine: Engine, products: Iterable[str]) -> list[dict[str, Any]]:
    """What an answer shows of these products' current versions (ids with none are left out)."""
    v = t.lineage_versions
    names = SHOWN
    query = select(*(v.c[n] for n in names)).where(v.c.current == true())
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for chunk in _chunks(products):
            out += [dict(zip(names, r, strict=True)) for r in conn.execute(query.where(v.c.product_id.in_(chunk)))]
    return out


def lineage_product_ids(engine: Engine) -> list[str]:
    """Every product with current lineage (for did-you-mean hints)."""
    v = t.lineage_versions
    with engine.connect() as conn:
        return list(conn.execute(select(v.c.product_id).where(v.c.current == true())).scalars())


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(ids))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def lineage_versions(engine: Engine, product_id: str) -> list[dict[str, Any]]:
    """Every stored lineage version of one product, newest first, with its edge count."""
    v, e = t.lineage_versions, t.lineage_column_edges
    count = (
        select(func.count())
        .where(e.c.product_id == v.c.product_id, e.c.fingerprint == v.c.fingerprint)
        .scalar_subquery()
    )
    query = select(v, count.label("edges")).where(v.c.product_id == product_id).order_by(v.c.recorded_at.desc())
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


@dataclass(frozen=True)
class CatalogFetch:
    """The fetches a lineage walk makes, bound to one catalog engine."""

    engine: Engine

    def edges(self, products: Iterable[str], downstream: bool, products_only: bool) -> list[tuple[Any, ...]]:
        return fetch_edges(self.engine, products, downstream, products_only)

    def versions(self, products: Iterable[str]) -> list[dict[str, Any]]:
        return fetch_versions(self.engine, products)

    def product_ids(self) -> list[str]:
        return lineage_product_ids(self.engine)
