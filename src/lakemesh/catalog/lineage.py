"""Column lineage in the catalog: one version per (product, spec fingerprint), its column edges, and
which version is current. Rows are plain dicts here: the lineage layer above owns their meaning.

A refresh writes only products whose fingerprint changed (the old version kept, no longer current), in
one transaction; going back to a spec seen before makes its stored version current again. Readers load
the current versions and edges in two queries (`load_current`) and walk them in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def write_lineage(engine: Engine, write: LineageWrite, url: str) -> None:
    """Store a refresh, all or nothing."""
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


def load_current(engine: Engine) -> LineageRows:
    """Every current version and edge, in two queries."""
    v, e = t.lineage_versions, t.lineage_column_edges
    with engine.connect() as conn:
        versions = [dict(r) for r in conn.execute(select(v).where(v.c.current == true())).mappings()]
        cols = [e.c[name] for name in EDGE_FIELDS]
        edges = [tuple(r) for r in conn.execute(select(*cols).where(e.c.current == true()))]
    return LineageRows(versions, edges)


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
