"""`mesh.tables`: a product's table as a versioned thing: history, restore, compaction, vacuum, repair."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakemesh.catalog import AuditAction
from lakemesh.spec.models import AccessLevel

if TYPE_CHECKING:
    from lakemesh.lakehouse import CompactionResult, RestoreResult, TableVersion
    from lakemesh.lakehouse.doctor import Finding
    from lakemesh.mesh.core import Mesh


class Tables:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    def _id(self, product_id: str) -> str:
        return self._mesh.workspace.product(product_id).id

    def history(self, product_id: str, limit: int | None = None) -> list[TableVersion]:
        """The table's versions, newest first."""
        return self._mesh.lakehouse.history(self._id(product_id), limit)

    def restore(self, product_id: str, version: str) -> RestoreResult:
        """The table back to a version or a time, as a new version; its consumers rebuild on the next run."""
        from lakemesh.pipeline.rebuild import RESTORED, rebuilt_after_restore
        from lakemesh.querying import parse_as_of
        from lakemesh.sql import BUILD_APP

        target = parse_as_of(version, "--to")
        assert target is not None
        pid = self._id(product_id)
        with self._mesh.guard.act(AuditAction.RESTORE, [pid], AccessLevel.ADMIN) as act:
            # a restore keeps the input versions the product last read: the next run rebuilds it and its consumers
            result = self._mesh.lakehouse.restore(pid, target, {BUILD_APP: RESTORED}, {"lakemesh.restored_to": version})
            result = result.model_copy(update={"rebuild_on_next_run": rebuilt_after_restore(self._mesh.workspace, pid)})
            self._mesh.versions.publish(AuditAction.RESTORE)
            act.details = {"to": version, **result.model_dump(mode="json")}
        return result

    def optimize(self, product_id: str, zorder: list[str] | None = None) -> CompactionResult:
        """Compact small files (and Z-order by `zorder`)."""
        pid = self._id(product_id)
        with self._mesh.guard.act(AuditAction.OPTIMIZE, [pid], AccessLevel.ADMIN) as act:
            result = self._mesh.lakehouse.optimize(pid, zorder)
            self._mesh.versions.publish(AuditAction.OPTIMIZE)
            act.details = {"zorder": zorder or [], **result.model_dump(mode="json")}
        return result

    def vacuum(
        self, product_id: str, retain_hours: int | None = None, dry_run: bool = True, force: bool = False
    ) -> list[str]:
        """Delete files no version within the retention needs, nor a tag (listed only, `dry_run`); the
        tags that kept files: `mesh.versions.kept`."""
        pid = self._id(product_id)
        with self._mesh.guard.act(AuditAction.VACUUM, [pid], AccessLevel.ADMIN, enabled=not dry_run) as act:
            files = self._mesh.lakehouse.vacuum(pid, retain_hours, dry_run, force)
            if not dry_run:
                self._mesh.versions.publish(AuditAction.VACUUM)
            act.details = {"files": len(files), "retain": retain_hours}
        return files

    def doctor(self, product_id: str) -> list[Finding]:
        """What is damaged in the product's table (log or data files) and how to recover; [] when intact."""
        from lakemesh.lakehouse.doctor import diagnose

        return diagnose(self._mesh.lakehouse, self._id(product_id))
