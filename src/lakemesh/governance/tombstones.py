"""Erasure tombstones kept with the data, and the lakehouse's memory of its catalog.

The catalog lists erased subjects, but a catalog can be lost, and a new empty one would let the next run
ingest the subjects again from source files that still hold them. So each erasure is also written to
a Delta table in the lakehouse, `_lakemesh/erasures`, as (subject column, keyed pseudonym): never the
value itself. The pseudonym's key is the mask key (`keys.secret`), kept outside both the catalog and
the lakehouse, so the tombstones stay valid when the catalog is gone.

The lakehouse also remembers the id of the catalog it was first used with (`_lakemesh/catalog`). A
catalog with another id, or a blank one where tombstones exist, was reset or replaced: lakemesh refuses it
until `lakemesh catalog rebuild` re-creates it from the tables (the workspace registered, the erased
subjects restored from the tombstones) and adopts it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from lakemesh.errors import CatalogError
from lakemesh.lakehouse import Lakehouse
from lakemesh.spec.workspace import Workspace

if TYPE_CHECKING:
    from lakemesh.catalog import Catalog

TOMBSTONES = "_lakemesh.erasures"
MARKER = "_lakemesh.catalog"
REBUILD_HINT = (
    "if the catalog was lost, `lakemesh catalog rebuild` re-creates it from the tables (registering the "
    "workspace and restoring the erased subjects); otherwise point LAKEMESH_CATALOG_URL (or mesh.yaml's "
    "catalog) at the catalog these tables were built with"
)


class CatalogResetError(CatalogError):
    """The catalog is not the one the lakehouse was built with: it was reset, lost or replaced."""


def write_tombstones(lakehouse: Lakehouse, subjects: list[tuple[str, str]]) -> int:
    """Add erased subjects, as (column, pseudonym), that the lakehouse does not hold yet; one commit."""
    known = read_tombstones(lakehouse)
    new = [(c, p) for c, p in dict.fromkeys(subjects) if p not in known.get(c, set())]
    if new:
        now = datetime.now(UTC)
        rows = pa.table(
            {
                "subject_column": pa.array([c for c, _ in new], pa.string()),
                "pseudonym": pa.array([p for _, p in new], pa.string()),
                "erased_at": pa.array([now] * len(new), pa.timestamp("us", tz="UTC")),
            }
        )
        lakehouse.append(TOMBSTONES, rows, {}, {"lakemesh.erasure": f"{len(new)} tombstone(s)"})
    return len(new)


def read_tombstones(lakehouse: Lakehouse) -> dict[str, set[str]]:
    """The erased subjects the lakehouse holds: subject column -> pseudonyms."""
    if not lakehouse.exists(TOMBSTONES):
        return {}
    data = lakehouse.table(TOMBSTONES).to_pyarrow_table(columns=["subject_column", "pseudonym"])
    out: dict[str, set[str]] = {}
    for column, name in zip(data["subject_column"].to_pylist(), data["pseudonym"].to_pylist(), strict=True):
        out.setdefault(column, set()).add(name)
    return out


def read_marker(lakehouse: Lakehouse) -> str | None:
    """The id of the catalog the lakehouse was built with, if it remembers one."""
    if not lakehouse.exists(MARKER):
        return None
    ids = lakehouse.table(MARKER).to_pyarrow_table(columns=["catalog_id"])["catalog_id"].to_pylist()
    return str(ids[0]) if ids else None


def write_marker(lakehouse: Lakehouse, catalog_id: str) -> None:
    """Remember `catalog_id` as the lakehouse's catalog (replacing any other), in one commit."""
    adopted = pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC"))
    row = pa.table({"catalog_id": pa.array([catalog_id], pa.string()), "adopted_at": adopted})
    if lakehouse.exists(MARKER):
        lakehouse.rewrite(MARKER, row, {"lakemesh.catalog": catalog_id})
    else:
        lakehouse.append(MARKER, row, {}, {"lakemesh.catalog": catalog_id})


def check_catalog(catalog: Catalog, lakehouse: Lakehouse) -> Catalog:
    """The catalog, if it is the lakehouse's own; else CatalogResetError, the catalog closed. A lakehouse
    that remembers no catalog yet (new, or from before markers) adopts this one, unless it holds
    tombstones while the catalog is blank: erasures were recorded by a catalog that is gone."""
    try:
        _check(catalog, lakehouse)
    except CatalogResetError:
        catalog.close()
        raise
    return catalog


def _check(catalog: Catalog, lakehouse: Lakehouse) -> None:
    remembered = read_marker(lakehouse)
    if remembered is None:
        if lakehouse.exists(TOMBSTONES) and catalog.is_blank():
            raise CatalogResetError(
                f"the catalog at {catalog.url} is empty but the lakehouse {lakehouse.root} holds erasure "
                "tombstones: the catalog was reset, and using it could bring erased subjects back",
                REBUILD_HINT,
            )
        # adopted: erasures it recorded before tombstones existed (from its audit log) join the lakehouse
        write_tombstones(lakehouse, [(c, p) for c, names in catalog.erased_subjects().items() for p in sorted(names)])
        write_marker(lakehouse, catalog.catalog_id)
    elif remembered != catalog.catalog_id:
        raise CatalogResetError(
            f"the catalog at {catalog.url} is not the one the lakehouse {lakehouse.root} was built with "
            f"(catalog {catalog.catalog_id}, the lakehouse's {remembered}): it was reset or replaced, and "
            "using it could bring erased subjects back",
            REBUILD_HINT,
        )


class CatalogRebuild(BaseModel):
    """What `catalog rebuild` did: the catalog adopted, the one it replaces, what it restored."""

    model_config = ConfigDict(frozen=True)

    catalog_id: str
    previous_catalog_id: str | None
    erased_subjects_restored: int
    tables: int  # the workspace's products that have a table in the lakehouse
    registered: int = 0  # entities the workspace sync created (the mesh fills it in)


def rebuild_catalog(catalog: Catalog, ws: Workspace, lakehouse: Lakehouse, actor: str) -> CatalogRebuild:
    """Adopt `catalog` as the lakehouse's: the erased subjects restored from the tombstones (the caller
    registers the workspace), then the lakehouse's marker set to its id."""
    tombstones = read_tombstones(lakehouse)
    restored = catalog.record_erasures([(c, p) for c, names in tombstones.items() for p in sorted(names)], actor)
    previous = read_marker(lakehouse)
    write_marker(lakehouse, catalog.catalog_id)
    return CatalogRebuild(
        catalog_id=catalog.catalog_id,
        previous_catalog_id=previous,
        erased_subjects_restored=restored,
        tables=sum(lakehouse.exists(pid) for pid in ws.products),
    )
