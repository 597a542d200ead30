"""Mesh versions and tags in the catalog: one history for every product's table.

A mesh version records the table versions of the products one action changed; a product's version at
mesh version N is its row with the greatest mesh version <= N, so a publication writes only what changed
and a snapshot is one grouped query. Publication is one transaction: readers see all of it or none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from lakemesh.catalog import tables as t
from lakemesh.errors import LakemeshError, NotFoundError
from lakemesh.spec.problems import did_you_mean


class TagExistsError(LakemeshError):
    """A tag name is taken: tags never move."""


def _utc(value: datetime) -> datetime:
    """SQLite hands times back without their zone: they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MeshVersionRecord(BaseModel):
    """One publication: which action made it, who, when, and the table versions it changed."""

    model_config = ConfigDict(frozen=True)

    id: int
    published_at: datetime
    action: str
    actor: str
    tables: dict[str, int]

    _zoned = field_validator("published_at")(_utc)


class MeshTag(BaseModel):
    """A name for a mesh version; `erased_through`: the mesh version of an erasure that purged versions it
    pointed at (the erasure wins: the tag can no longer be read as it was)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    name: str
    mesh_version: int
    message: str | None
    actor: str
    created_at: datetime
    erased_through: int | None = None

    _zoned = field_validator("created_at")(_utc)


def _snapshot(conn: Connection, upto: int | None) -> dict[str, int]:
    """Every product's table version as of mesh version `upto` (None: the latest)."""
    v = t.mesh_version_tables
    newest = select(v.c.product_id, func.max(v.c.mesh_version).label("mv")).group_by(v.c.product_id)
    if upto is not None:
        newest = newest.where(v.c.mesh_version <= upto)
    m = newest.subquery()
    q = select(v.c.product_id, v.c.table_version).join(
        m, (v.c.product_id == m.c.product_id) & (v.c.mesh_version == m.c.mv)
    )
    return {pid: int(version) for pid, version in conn.execute(q)}


class MeshVersionStore:
    """Mesh versions and tags behind the catalog's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(t.mesh_versions.c.id))).scalar()
        return None if value is None else int(value)

    def snapshot(self, upto: int | None = None) -> dict[str, int]:
        """Product -> table version at mesh version `upto` (None: the latest published)."""
        with self.engine.connect() as conn:
            return _snapshot(conn, upto)

    def publish(self, current: dict[str, int], action: str, actor: str) -> int | None:
        """Record, in one transaction, the products whose table moved since the latest mesh version; the
        new mesh version, or None when nothing moved. The caller holds the writer lock."""
        with self.engine.begin() as conn:
            published = _snapshot(conn, None)
            changed = {p: v for p, v in current.items() if published.get(p) != v}
            if not changed:
                return None
            row = {"published_at": datetime.now(UTC), "action": action, "actor": actor}
            key = conn.execute(insert(t.mesh_versions).values(**row)).inserted_primary_key
            assert key is not None
            mesh_version = int(key[0])
            rows = [{"mesh_version": mesh_version, "product_id": p, "table_version": v} for p, v in changed.items()]
            conn.execute(insert(t.mesh_version_tables), rows)
        return mesh_version

    def history(self, limit: int | None = 20) -> list[MeshVersionRecord]:
        """Mesh versions, newest first, each with the table versions it changed."""
        with self.engine.connect() as conn:
            heads = conn.execute(select(t.mesh_versions).order_by(t.mesh_versions.c.id.desc()).limit(limit)).all()
            ids = [h.id for h in heads]
            tables: dict[int, dict[str, int]] = {i: {} for i in ids}
            v = t.mesh_version_tables
            for mv, pid, version in conn.execute(select(v).where(v.c.mesh_version.in_(ids))):
                tables[mv][pid] = int(version)
        return [MeshVersionRecord(tables=tables[h.id], **h._mapping) for h in heads]

    # tags -----------------------------------------------------------------------------------------

    def create_tag(self, name: str, mesh_version: int, message: str | None, actor: str) -> MeshTag:
        row = {"name": name, "mesh_version": mesh_version, "message": message, "actor": actor,
               "created_at": datetime.now(UTC), "erased_through": None}  # fmt: skip
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.mesh_tags).values(**row))
        except IntegrityError as exc:
            existing = self.tag(name)
            raise TagExistsError(
                f"tag '{name}' exists (mesh version {existing.mesh_version}): tags never move",
                f"pick another name, or `lakemesh tag delete {name}` first",
            ) from exc
        return MeshTag(**row)

    def tags(self) -> list[MeshTag]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.mesh_tags).order_by(t.mesh_tags.c.created_at, t.mesh_tags.c.name))
            return [MeshTag.model_validate(r._mapping) for r in rows]

    def tag(self, name: str) -> MeshTag:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.mesh_tags).where(t.mesh_tags.c.name == name)).first()
        if row is None:
            raise self.unknown(name)
        return MeshTag.model_validate(row._mapping)

    def unknown(self, name: str) -> NotFoundError:
        names = [tag.name for tag in self.tags()]
        return NotFoundError(
            f"no tag or mesh version '{name}'{did_you_mean(name, names)}",
            "`lakemesh tag list` shows the tags; a mesh version is a number",
        )

    def delete_tag(self, name: str) -> MeshTag:
        tag = self.tag(name)
        with self.engine.begin() as conn:
            conn.execute(delete(t.mesh_tags).where(t.mesh_tags.c.name == name))
        return tag

    def mark_erased(self, names: list[str], mesh_version: int) -> None:
        """Tags an erasure broke: kept, but marked, so reading them says why they cannot be read."""
        if not names:
            return
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"erased_through": mesh_version}
            conn.execute(update(t.mesh_tags).where(t.mesh_tags.c.name.in_(names)).values(**values))

    def pinned(self) -> dict[str, dict[str, int]]:
        """Per product, the table versions tags need, with the tag names (product -> tag -> version);
        tags an erasure broke are left out: erasure wins."""
        out: dict[str, dict[str, int]] = {}
        for tag in self.tags():
            if tag.erased_through is None:
                for pid, version in self.snapshot(tag.mesh_version).items():
                    out.setdefault(pid, {})[tag.name] = version
        return out
