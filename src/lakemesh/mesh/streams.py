"""`mesh.streams`: change data capture into bronze products, and the products that apply their events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lakemesh.catalog import AuditAction
from lakemesh.mesh.recording import record_cdc
from lakemesh.spec.models import AccessLevel
from lakemesh.sql import cdc_file_app, input_app

if TYPE_CHECKING:
    from lakemesh.cdc.capture import CaptureReport, CdcStatus
    from lakemesh.mesh.core import Mesh


class Streams:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    def consumers(self, product_id: str) -> list[str]:
        """Products applying this CDC bronze product's events (refresh mode cdc)."""
        from lakemesh.spec.models import RefreshMode

        ws = self._mesh.workspace
        entry = ws.product(product_id)
        contracts = {p.contract_id for p in entry.spec.output_ports}
        return [
            e.id
            for e in ws.products.values()
            if e.spec.build.refresh.mode is RefreshMode.CDC
            and any(p.contract_id in contracts for p in e.spec.input_ports)
        ]

    def pending(self, product_id: str) -> list[str]:
        """The consumers of this CDC bronze product that have not applied all of its events yet.

        A run killed between the bronze commit and the consumers' leaves them behind: a rerun that finds
        nothing new in bronze must still apply what they miss."""
        lakehouse = self._mesh.lakehouse
        entry = self._mesh.workspace.product(product_id)
        version = lakehouse.version(entry.id)
        if version is None:
            return []
        return [
            c
            for c in self.consumers(entry.id)
            if not lakehouse.exists(c) or lakehouse.checkpoint(c, input_app(entry.id)) != version
        ]

    def capture(
        self,
        product_id: str,
        once: bool = True,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[str, int], None] | None = None,
    ) -> CaptureReport:
        """Drain (or stream) a CDC source into its bronze product; recorded as a run of kind `cdc` (the
        run record is the audit trail: the guard checks the grant and writes no second record)."""
        from lakemesh.cdc.capture import capture

        mesh = self._mesh
        entry = mesh.workspace.product(product_id)
        with mesh.guard.act(AuditAction.CDC_RUN, [entry.id], AccessLevel.WRITE) as act:
            act.audited = False
            started = datetime.now(UTC)
            try:
                report = capture(
                    entry, mesh.lakehouse, once=once, stop=stop or (lambda: False), progress=self._publishing(progress)
                )
            except Exception as exc:
                error = getattr(exc, "message", str(exc))
                record_cdc(mesh.catalog, entry.id, started, mesh.lakehouse.version(entry.id), None, error)
                raise
            record_cdc(mesh.catalog, entry.id, started, mesh.lakehouse.version(entry.id), report, None)
            mesh.versions.publish(AuditAction.CDC_RUN)
        return report

    def _publishing(self, progress: Callable[[str, int], None] | None) -> Callable[[str, int], None]:
        """Publish a mesh version after each streamed commit, so readers follow a long-running stream
        (a snapshot is published only whole, when the capture returns)."""

        def told(stage: str, rows: int) -> None:
            if stage == "stream":
                self._mesh.versions.publish(AuditAction.CDC_RUN)
            if progress is not None:
                progress(stage, rows)

        return told

    def apply_file(self, product_id: str, lines: Iterable[str | bytes], name: str) -> tuple[int, bool]:
        """Debezium JSON events (one per line) into a CDC bronze product, once per content.

        Returns (events, already applied). The commit carries the content's digest as an app transaction.
        """
        from lakemesh.cdc.events import parse_debezium_lines

        mesh = self._mesh
        entry = mesh.workspace.product(product_id)
        events, digest = parse_debezium_lines(lines, name)
        app = cdc_file_app(digest)
        with mesh.guard.act(AuditAction.CDC_RUN, [entry.id], AccessLevel.WRITE) as act:
            act.details = {"file": name, "events": len(events)}
            if mesh.lakehouse.checkpoint(entry.id, app) is not None:
                act.audited = False
                return len(events), True
            from lakemesh.cdc.events import bronze_rows
            from lakemesh.cdc.misfits import FILE_BATCH

            rows = bronze_rows(events, FILE_BATCH + name, datetime.now(UTC))  # a misfit's position: file:line
            meta = {"lakemesh.cdc": f"{len(events)} events from {name}"}
            mesh.lakehouse.append(entry.id, rows, {app: 1}, meta)
            mesh.versions.publish(AuditAction.CDC_RUN)
        return len(events), False

    def status(self, product_id: str) -> CdcStatus:
        """Where capture stands (slot, position, lag) and how its last run ended."""
        from lakemesh.catalog import RunKind
        from lakemesh.cdc.capture import CdcRun, status

        mesh = self._mesh
        out = status(mesh.workspace.product(product_id), mesh.lakehouse)
        runs = [r for r in mesh.catalog.runs(product_id, limit=50) if r.kind is RunKind.CDC]
        return out.model_copy(update={"last_run": CdcRun.of(runs[0])}) if runs else out

    def reset(self, product_id: str) -> None:
        """Forget the capture's position and slot: the next run snapshots the source again."""
        from lakemesh.cdc.capture import reset

        mesh = self._mesh
        entry = mesh.workspace.product(product_id)
        with mesh.guard.act(AuditAction.CDC_RESET, [entry.id], AccessLevel.ADMIN):
            reset(entry, mesh.lakehouse)
