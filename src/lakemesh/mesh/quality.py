"""`mesh.quality`: a product's expectations checked on its table, their history, and its quarantine."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lakemesh.catalog import AuditAction
from lakemesh.spec.models import AccessLevel

if TYPE_CHECKING:
    import pyarrow as pa

    from lakemesh.catalog import QualityRecord
    from lakemesh.mesh.core import Mesh
    from lakemesh.quality.product import ReprocessResult
    from lakemesh.quality.results import QualityReport


class Quality:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    def check(self, product_id: str, as_of: str | None = None, record: bool = True) -> QualityReport:
        """Every expectation of a product's contract over its table in one scan (the table version of the
        latest mesh version unless `as_of` says otherwise); recorded in the catalog."""
        from lakemesh.quality.product import check_product
        from lakemesh.quality.results import quality_rows
        from lakemesh.querying import parse_as_of

        mesh = self._mesh
        when = parse_as_of(as_of)
        if when is None:
            when = mesh.versions.pins().get(mesh.workspace.product(product_id).id)
        report = check_product(mesh.workspace, mesh.lakehouse, product_id, when, protector=mesh.encryptor)
        if record:
            mesh.catalog.record_quality(quality_rows(report, None))
        return report

    def history(self, product_id: str, check: str | None = None, limit: int = 1000) -> list[QualityRecord]:
        """The recorded results of a product's checks (of one check), newest first."""
        return self._mesh.catalog.quality_history(self._mesh.workspace.product(product_id).id, check, limit)

    def quarantine(self, product_id: str, limit: int | None = 20) -> pa.Table:
        """The rows the gate held back, with their reasons (protected columns decrypted for the caller)."""
        from lakemesh.quality.product import quarantine_rows

        mesh = self._mesh
        return quarantine_rows(mesh.lakehouse, mesh.workspace.product(product_id).id, limit, mesh.encryptor)

    def reprocess(self, product_id: str) -> ReprocessResult:
        """Release quarantined rows that pass the contract as it is now; the rest stay, with fresh reasons."""
        from lakemesh.quality.product import reprocess
        from lakemesh.quality.results import quality_rows

        mesh = self._mesh
        pid = mesh.workspace.product(product_id).id
        with mesh.guard.act(AuditAction.QUARANTINE_REPROCESS, [pid], AccessLevel.WRITE) as act:
            run_id = str(uuid.uuid4())
            result = reprocess(mesh.workspace, mesh.lakehouse, pid, run_id, protector=mesh.encryptor)
            if result.report is not None:
                result.report.table_version = result.product_version
                mesh.catalog.record_quality(quality_rows(result.report, None))
            mesh.versions.publish(AuditAction.QUARANTINE_REPROCESS)
            act.details = {"released": result.released, "still_quarantined": result.still_quarantined, "run": run_id}
        return result
