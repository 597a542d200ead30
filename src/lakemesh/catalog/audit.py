"""What the audit log records: one closed set of actions, stored in the catalog by their string value."""

from __future__ import annotations

from enum import Enum


class AuditAction(str, Enum):
    """An audited action; a refused one is recorded under the action it would have been."""

    RUN = "run"
    CDC_RUN = "cdc.run"
    CDC_RESET = "cdc.reset"
    QUERY = "query"
    RETENTION = "retention"
    FORGET = "forget"  # the request, before any row goes
    FORGET_DONE = "forget.done"
    FORGET_SHREDDED = "forget.shredded"
    FORGET_FAILED = "forget.failed"
    ENCRYPTION = "encryption"
    QUARANTINE_REPROCESS = "quarantine.reprocess"
    RESTORE = "restore"
    OPTIMIZE = "optimize"
    VACUUM = "vacuum"
    CATALOG_REBUILD = "catalog.rebuild"
    TAG_CREATE = "tag.create"
    TAG_DELETE = "tag.delete"
