"""The catalog: SQLAlchemy over SQLite or PostgreSQL, migrated by Alembic.

Its records and enums import with the package; the store, sync and search (SQLAlchemy, Alembic) load on
first use of `Catalog`, `SyncReport`, `EntityChange` or `SearchHit`: `--help` and commands that only
render records do not load the database stack.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from lakemesh.catalog.audit import AuditAction
from lakemesh.catalog.records import (
    AuditRecord,
    ChangeKind,
    ColumnRecord,
    EntityKind,
    ProductRecord,
    ProductRow,
    QualityRecord,
    QualityRecordKind,
    RunKind,
    RunRecord,
    RunStatus,
    VersionRecord,
)

if TYPE_CHECKING:
    from lakemesh.catalog.search import SearchHit
    from lakemesh.catalog.store import Catalog
    from lakemesh.catalog.sync import EntityChange, SyncReport
    from lakemesh.catalog.versions import MeshTag, MeshVersionRecord, MeshVersionStore, TagExistsError

_LAZY = {
    "Catalog": "lakemesh.catalog.store",
    "SearchHit": "lakemesh.catalog.search",
    "EntityChange": "lakemesh.catalog.sync",
    "SyncReport": "lakemesh.catalog.sync",
    "MeshVersionStore": "lakemesh.catalog.versions",
    "MeshTag": "lakemesh.catalog.versions",
    "MeshVersionRecord": "lakemesh.catalog.versions",
    "TagExistsError": "lakemesh.catalog.versions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lakemesh.catalog' has no attribute '{name}'")


__all__ = [
    "AuditAction",
    "AuditRecord",
    "Catalog",
    "ChangeKind",
    "ColumnRecord",
    "EntityChange",
    "EntityKind",
    "MeshTag",
    "MeshVersionRecord",
    "MeshVersionStore",
    "ProductRecord",
    "ProductRow",
    "QualityRecord",
    "QualityRecordKind",
    "RunKind",
    "RunRecord",
    "RunStatus",
    "SearchHit",
    "SyncReport",
    "TagExistsError",
    "VersionRecord",
]
