"""`mesh.versions`: one history for the whole mesh, its tags, and reads and restores as of a point in it.

Delta commits one table at a time. After every writing action the facade publishes a mesh version: the
table versions of the products that moved, in one catalog transaction. Readers through lakemesh pin each
table to the latest published version, so the tables a run changes are seen together or not at all; a
crash between the Delta commits and the publication leaves readers on the previous mesh version, and the
next writing action publishes what is there (rolls forward). Products no mesh version holds yet read as
their newest version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from lakemesh.catalog import AuditAction
from lakemesh.errors import CatalogError, LakemeshError, NotFoundError
from lakemesh.spec.models import AccessLevel

if TYPE_CHECKING:
    from lakemesh.catalog.versions import MeshTag, MeshVersionRecord, MeshVersionStore
    from lakemesh.engines import Engine
    from lakemesh.lakehouse import Lakehouse
    from lakemesh.mesh.core import Mesh
    from lakemesh.querying import AsOf

T = TypeVar("T")


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class MeshPoint(_Result):
    """A point of the mesh's history: a mesh version (a tag's, when named by one) and every product's
    table version there."""

    mesh_version: int | None
    tag: str | None = None
    tables: dict[str, int] = Field(default_factory=dict)


class ProductDiff(_Result):
    """How one product's rows differ between two points (changed: same key, other values; by key when
    the contract has one, else whole rows are compared and a change counts as removed plus added)."""

    product_id: str
    before: int | None
    after: int | None
    added: int
    changed: int
    removed: int
    keyed_by: list[str] = Field(default_factory=list)


class MeshDiff(_Result):
    before: MeshPoint
    after: MeshPoint
    products: list[ProductDiff]


class ManifestTable(_Result):
    """One table of a manifest: enough for delta-rs (`DeltaTable(uri, version=...)`) or for any Parquet
    reader (`files`, when `files_hold_rows`: no partition values in paths, no deletion vectors)."""

    product_id: str
    uri: str
    version: int
    files: list[str]
    files_hold_rows: bool


class Manifest(_Result):
    """A mesh version (a tag's) as plain table versions and files: readable without lakemesh."""

    mesh_version: int
    tag: str | None
    exported_at: datetime
    tables: list[ManifestTable]


class MeshRestore(_Result):
    """A whole-mesh restore: which products went back (as one new mesh version), which were there already,
    and which the point does not hold (left as they are)."""

    to: MeshPoint
    mesh_version: int | None
    restored: dict[str, int]
    unchanged: list[str]
    not_in_point: list[str]


class PublicationError(LakemeshError):
    """A point of the mesh's history that cannot be read."""


_PURGED_HINT = "vacuum and retention keep what tags need; an erasure or a vacuum after the tag went does not"


class Versions:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    @cached_property
    def store(self) -> MeshVersionStore:
        """The writer's store (the catalog checked against the lakehouse)."""
        from lakemesh.catalog.versions import MeshVersionStore

        return MeshVersionStore(self._mesh.catalog.engine)

    def _reader(self) -> MeshVersionStore | None:
        """The store for reads, without the writer's checks; None when there is no catalog yet."""
        from lakemesh.catalog.versions import MeshVersionStore

        if "catalog" in self._mesh.__dict__:
            return self.store
        try:
            catalog = self._mesh._registered_catalog()
        except CatalogError as exc:
            if exc.message.startswith("no catalog at"):
                return None  # nothing was ever published: every product reads as its newest version
            raise
        return None if catalog is None else MeshVersionStore(catalog.engine)

    # publication ----------------------------------------------------------------------------------

    def publish(self, action: AuditAction | str) -> int | None:
        """Publish the table versions of every product that moved since the latest mesh version (what
        the action committed, and what an interrupted one left); the new mesh version or None. Called by
        the facade inside the action's guard, so under the writer lock."""
        mesh = self._mesh
        current = mesh.lakehouse.current_versions(sorted(mesh.workspace.products))
        return self.store.publish(current, AuditAction(action).value, mesh.actor)

    def pins(self, at: str | None = None) -> dict[str, int]:
        """The table versions readers use: those of the latest mesh version, or of `at` (a tag or a
        mesh version number)."""
        store = self._reader()
        if store is None:
            if at is not None:
                raise NotFoundError(f"no tag or mesh version '{at}': nothing was published yet", "run `lakemesh run`")
            return {}
        if at is None:
            return store.snapshot()
        return self._point(store, at).tables

    def current(self) -> MeshPoint:
        store = self._reader()
        if store is None:
            return MeshPoint(mesh_version=None)
        latest = store.latest()
        return MeshPoint(mesh_version=latest, tables=store.snapshot(latest) if latest else {})

    def point(self, ref: str) -> MeshPoint:
        """The mesh at a tag or mesh version number (`--at`)."""
        store = self._reader()
        if store is None:
            raise NotFoundError(f"no tag or mesh version '{ref}': nothing was published yet", "run `lakemesh run`")
        return self._point(store, ref)

    def _point(self, store: MeshVersionStore, ref: str) -> MeshPoint:
        if ref.isdigit():
            latest = store.latest() or 0
            number = int(ref)
            if not 1 <= number <= latest:
                have = f"1..{latest}" if latest else "none yet"
                raise NotFoundError(f"mesh version {number} does not exist (mesh versions: {have})",
                                    "`lakemesh tag log` lists the mesh versions")  # fmt: skip
            return MeshPoint(mesh_version=number, tables=store.snapshot(number))
        tag = store.tag(ref)
        if tag.erased_through is not None:
            raise PublicationError(
                f"tag '{tag.name}' was erased through by an erasure (mesh version {tag.erased_through}): "
                "versions it pointed at were purged",
                f"read mesh version {tag.erased_through} or later (`--at {tag.erased_through}`); erasure wins",
            )
        return MeshPoint(mesh_version=tag.mesh_version, tag=tag.name, tables=store.snapshot(tag.mesh_version))

    def read(self, when: AsOf, at: str | None, read: Callable[[AsOf], T]) -> T:
        """`read` at `when`. A table whose pinned version an erasure or retention purged before it could
        publish (the window between its purge and its publication, or a crash in it) is read at its
        newest version: the purged data is gone on purpose, and the other tables stay pinned."""
        from dataclasses import replace

        from lakemesh.lakehouse import LakehouseError

        with self.reading(at):
            try:
                return read(when)
            except LakehouseError:
                if at is not None or not when.pinned:
                    raise
                readable = self._readable(self.pins())
                if readable == when.pinned:
                    raise
                return read(replace(when, pinned=readable))

    def _readable(self, pins: dict[str, int]) -> dict[str, int]:
        """The pins without those older than what is left of their table's history."""
        lakehouse = self._mesh.lakehouse
        return {p: v for p, v in pins.items() if lakehouse.exists(p) and v >= lakehouse.history(p)[-1].version}

    @contextmanager
    def reading(self, at: str | None) -> Iterator[None]:
        """Around a read at a point: a version its tables no longer have is named as the point's problem."""
        from lakemesh.lakehouse import LakehouseError

        try:
            yield
        except LakehouseError as exc:
            if at is None:
                raise
            raise PublicationError(f"'{at}' cannot be read: {exc.message}", _PURGED_HINT) from exc

    def history(self, limit: int | None = 20) -> list[MeshVersionRecord]:
        store = self._reader()
        return [] if store is None else store.history(limit)

    # tags -----------------------------------------------------------------------------------------

    def tag(self, name: str, message: str | None = None) -> MeshTag:
        """Name the current mesh version (metadata only: nothing is copied)."""
        _check_name(name)
        store = self.store
        latest = store.latest()
        if latest is None:
            raise PublicationError("nothing to tag: no mesh version was published yet", "run `lakemesh run` first")
        mesh = self._mesh
        with mesh.guard.act(
            AuditAction.TAG_CREATE, list(mesh.workspace.products), AccessLevel.WRITE, writes=False
        ) as act:
            tag = store.create_tag(name, latest, message, mesh.actor)
            act.details = {"tag": name, "mesh_version": latest}
        return tag

    def tags(self) -> list[MeshTag]:
        store = self._reader()
        return [] if store is None else store.tags()

    def show(self, name: str) -> tuple[MeshTag, MeshPoint]:
        store = self.store
        tag = store.tag(name)
        return tag, MeshPoint(mesh_version=tag.mesh_version, tag=tag.name, tables=store.snapshot(tag.mesh_version))

    def delete(self, name: str) -> MeshTag:
        """Remove a tag; the files only it kept become vacuum's to delete (an admin's action, audited)."""
        mesh = self._mesh
        with mesh.guard.act(
            AuditAction.TAG_DELETE, list(mesh.workspace.products), AccessLevel.ADMIN, writes=False
        ) as act:
            tag = self.store.delete_tag(name)
            act.details = {"tag": name, "mesh_version": tag.mesh_version}
        return tag

    def kept(self, product_id: str) -> dict[str, int]:
        """The tags that keep versions of this product from vacuum and retention: tag -> table version."""
        store = self._reader()
        return {} if store is None else store.pinned().get(product_id, {})

    def kept_versions(self, product_id: str) -> list[int]:
        return sorted(set(self.kept(product_id).values()))

    def mark_erased(self, purged: list[str], mesh_version: int | None) -> list[str]:
        """After an erasure: the tags pointing at versions of `purged` products that are gone, marked
        erased-through; their names."""
        lakehouse, store = self._mesh.lakehouse, self.store
        oldest = {p: lakehouse.history(p)[-1].version for p in purged if lakehouse.exists(p)}
        broken = [
            tag.name
            for tag in store.tags()
            if tag.erased_through is None
            and any(v < oldest.get(p, -1) for p, v in store.snapshot(tag.mesh_version).items())
        ]
        store.mark_erased(broken, mesh_version or store.latest() or 0)
        return broken

    # reads and restores of points -------------------------------------------------------------------

    def manifest(self, ref: str) -> Manifest:
        """Each table's version and data files at a tag or mesh version, for readers without lakemesh."""
        point = self.point(ref)
        lakehouse = self._mesh.lakehouse
        tables = []
        for pid, version in sorted(point.tables.items()):
            table = _read(lakehouse, pid, version, ref)
            exact = lakehouse._plain_files(table) is not None
            tables.append(ManifestTable(product_id=pid, uri=lakehouse.uri(pid), version=version,
                                        files=list(table.file_uris()), files_hold_rows=exact))  # fmt: skip
        assert point.mesh_version is not None
        return Manifest(mesh_version=point.mesh_version, tag=point.tag, exported_at=datetime.now(UTC), tables=tables)

    def diff(self, a: str, b: str) -> MeshDiff:
        """Per product, rows added, changed and removed from point `a` to point `b`."""
        before, after = self.point(a), self.point(b)
        products = []
        for pid in sorted(set(before.tables) | set(after.tables)):
            old, new = before.tables.get(pid), after.tables.get(pid)
            if old != new:
                products.append(self._diff_product(pid, old, new, a, b))
        return MeshDiff(before=before, after=after, products=products)

    def _diff_product(self, pid: str, old: int | None, new: int | None, a: str, b: str) -> ProductDiff:
        from lakemesh.engines import make_engine

        lakehouse, entry = self._mesh.lakehouse, self._mesh.workspace.products.get(pid)
        tables = entry.contract.tables if entry is not None and entry.contract is not None else []
        keys = tables[0].primary_key if tables else []
        engine = make_engine()
        try:
            for name, version, ref in (("diff.before", old, a), ("diff.after", new, b)):
                if version is not None:
                    _read(lakehouse, pid, version, ref)  # a purged version: one clear line
                    engine.register(name, lakehouse.scan(pid, as_of=version))
            counts = _row_changes(engine, old is not None, new is not None, keys)
        finally:
            engine.close()
        return ProductDiff(product_id=pid, before=old, after=new, keyed_by=keys, **counts)

    def restore(self, ref: str) -> MeshRestore:
        """Every product back to its table version at a tag or mesh version, published as one mesh
        version; the restored products' consumers rebuild on the next run, as after `restore`."""
        from lakemesh.pipeline.rebuild import RESTORED
        from lakemesh.sql import BUILD_APP

        mesh = self._mesh
        point = self.point(ref)
        with mesh.guard.act(AuditAction.RESTORE, sorted(point.tables), AccessLevel.ADMIN) as act:
            current = mesh.lakehouse.current_versions(sorted(point.tables))
            restored, unchanged = {}, []
            for pid, version in sorted(point.tables.items()):
                if current.get(pid) == version:
                    unchanged.append(pid)
                    continue
                _read(mesh.lakehouse, pid, version, ref)
                meta = {"lakemesh.restored_to": f"mesh {ref}"}
                restored[pid] = mesh.lakehouse.restore(pid, version, {BUILD_APP: RESTORED}, meta).version
            published = self.publish(AuditAction.RESTORE)
            others = sorted(p for p in mesh.lakehouse.current_versions(sorted(mesh.workspace.products))
                            if p not in point.tables)  # fmt: skip
            act.details = {"mesh": ref, "mesh_version": published, "restored": restored}
        return MeshRestore(to=point, mesh_version=published, restored=restored, unchanged=unchanged,
                           not_in_point=others)  # fmt: skip


def _check_name(name: str) -> None:
    """Tag names are words (`release-1.2`, `q4_report`): never a bare number, which names a mesh version."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", name) or name.isdigit():
        raise PublicationError(
            f"'{name}' cannot be a tag name",
            "use letters, digits, '.', '_' or '-', starting with a letter or digit, and not only digits",
        )


def _read(lakehouse: Lakehouse, pid: str, version: int, ref: str) -> Any:
    """The table at `version`, or one line saying the point needs versions that were purged."""
    from lakemesh.lakehouse import HistoryPurgedError, LakehouseError

    try:
        table = lakehouse.table(pid, version)
        lakehouse.require_files(pid, table)
    except (HistoryPurgedError, LakehouseError) as exc:
        raise PublicationError(
            f"'{ref}' needs {pid} version {version}, which was purged ({exc.message})",
            _PURGED_HINT,
        ) from exc
    return table


def _row_changes(engine: Engine, has_old: bool, has_new: bool, keys: list[str]) -> dict[str, int]:
    """Rows added, changed and removed between the registered `diff.before` and `diff.after`."""
    from lakemesh.sql import q, relation

    def count(sql: str) -> int:
        return int(engine.query(sql).column(0)[0].as_py())

    old, new = relation("diff.before"), relation("diff.after")
    if not has_old or not has_new:
        n = count(f"SELECT count(*) FROM {new if has_new else old}")
        return {"added": n if has_new else 0, "changed": 0, "removed": 0 if has_new else n}
    if not keys:
        added = count(f"SELECT count(*) FROM (SELECT * FROM {new} EXCEPT ALL SELECT * FROM {old})")
        removed = count(f"SELECT count(*) FROM (SELECT * FROM {old} EXCEPT ALL SELECT * FROM {new})")
        return {"added": added, "changed": 0, "removed": removed}
    on = " AND ".join(f"o.{q(k)} IS NOT DISTINCT FROM n.{q(k)}" for k in keys)
    added = count(f"SELECT count(*) FROM {new} n WHERE NOT EXISTS (SELECT 1 FROM {old} o WHERE {on})")
    removed = count(f"SELECT count(*) FROM {old} o WHERE NOT EXISTS (SELECT 1 FROM {new} n WHERE {on})")
    moved = f"(SELECT * FROM {new} EXCEPT ALL SELECT * FROM {old})"
    changed = count(f"SELECT count(*) FROM {moved} n WHERE EXISTS (SELECT 1 FROM {old} o WHERE {on})")
    return {"added": added, "changed": changed, "removed": removed}
