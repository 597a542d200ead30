"""The catalog: SQLAlchemy over SQLite or PostgreSQL, migrated by Alembic."""

from lakemesh.catalog.audit import AuditAction
from lakemesh.catalog.search import SearchHit
from lakemesh.catalog.store import Catalog, ProductRecord, VersionRecord
from lakemesh.catalog.sync import EntityChange, SyncReport

__all__ = ["AuditAction", "Catalog", "EntityChange", "ProductRecord", "SearchHit", "SyncReport", "VersionRecord"]
