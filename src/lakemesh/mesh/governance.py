"""`mesh.governance`: policies checked, retention applied, data subjects erased, columns encrypted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lakemesh.catalog import AuditAction
from lakemesh.errors import SpecError
from lakemesh.spec.models import AccessLevel
from lakemesh.spec.problems import has_errors

if TYPE_CHECKING:
    import pyarrow as pa

    from lakemesh.governance.encryption_plan import EncryptionPlan, EncryptionResult
    from lakemesh.governance.erasure import ErasureReport
    from lakemesh.governance.policies import Violation
    from lakemesh.governance.retention import RetentionResult
    from lakemesh.mesh.core import Mesh
    from lakemesh.pipeline.runner import Progress


class Governance:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    def _ids(self, products: list[str] | None) -> list[str] | None:
        return [self._mesh.workspace.product(p).id for p in products] if products else None

    def check(self, products: list[str] | None = None, data: bool = False) -> list[Violation]:
        """Violations of the mesh's and domains' policies; with `data`, the SQL policies on the tables too."""
        from lakemesh.governance.policies import check_data, effective_policies, evaluate

        ws = self._mesh.workspace
        _, problems = effective_policies(ws)
        if has_errors(problems):
            raise SpecError(problems, "fix the policies first")
        ids = self._ids(products)
        violations = evaluate(ws, ids)
        if data:
            violations.extend(check_data(ws, self._mesh.lakehouse, ids))
        return violations

    def suppressor(self) -> Callable[[Any, pa.Table], tuple[pa.Table, int]] | None:
        """Drops erased subjects' rows from bronze batches: those the catalog lists and the lakehouse's
        tombstones, which outlive a lost catalog; None while no one was ever erased."""
        from lakemesh.governance.tombstones import read_tombstones

        erased = self._mesh.catalog.erased_subjects()
        for column, names in read_tombstones(self._mesh.lakehouse).items():
            erased.setdefault(column, set()).update(names)
        if not erased:
            return None
        from lakemesh.governance.erasure import suppress

        return lambda product, data: suppress(product, data, erased)

    def retention(self, products: list[str] | None = None, dry_run: bool = False) -> list[RetentionResult]:
        """Rows past each product's retention SLA deleted and vacuumed (counted only, `dry_run`); audited
        per product."""
        from lakemesh.governance.retention import apply_retention

        mesh = self._mesh
        ids = self._ids(products)
        scope = ids or list(mesh.workspace.products)
        with mesh.guard.act(AuditAction.RETENTION, scope, AccessLevel.ADMIN, enabled=not dry_run) as act:
            results = apply_retention(mesh.workspace, mesh.lakehouse, ids, dry_run)
            if not dry_run:
                mesh.versions.publish(AuditAction.RETENTION)
            act.audited = False  # nothing was past its retention: nothing to record
            for r in results:
                if r.rows:
                    details = {"rows": r.rows, "column": r.column, "cutoff": r.cutoff.isoformat() if r.cutoff else None,
                               "files_removed": r.files_removed}  # fmt: skip
                    act.record(r.product_id, details)
                elif r.error:
                    act.record(r.product_id, {"error": r.error}, allowed=False)
        return results

    def forget(
        self, subjects: list[str], dry_run: bool = False, progress: Progress | None = None, shred: bool = False
    ) -> ErasureReport:
        """Erase data subjects (`customer_id=C123`) from every product holding them, downstream
        recomputed and history purged (`governance.erasure`); audited with the subjects as pseudonyms.

        The request is audited before anything is deleted, so the subjects are kept out of later
        ingestion even if the erasure is interrupted; rerunning it finishes the job.
        """
        from lakemesh.governance.erasure import Subject, erase, plan, subject_lineage, subject_values
        from lakemesh.governance.erasure import shred as shred_keys
        from lakemesh.governance.tombstones import write_tombstones

        mesh, ws = self._mesh, self._mesh.workspace
        parsed = [Subject.parse(s) for s in subjects]
        lineage = subject_lineage(ws, parsed)  # their key columns' copies, derived once for every plan below
        products = [] if dry_run else [s.product_id for s in plan(ws, parsed, lineage)]
        request = {"subjects": [{"column": s.column, "pseudonym": s.pseudonym} for s in parsed]}
        with mesh.guard.act(
            AuditAction.FORGET, products, AccessLevel.ADMIN, request=request, enabled=not dry_run
        ) as act:
            act.action = AuditAction.FORGET_FAILED  # until it is done
            values: list[str] = []
            scrubbed = 0
            if not dry_run:
                pseudonyms = [(s.column, s.pseudonym) for s in parsed]
                mesh.catalog.record_erasures(pseudonyms, mesh.actor)
                write_tombstones(mesh.lakehouse, pseudonyms)  # outlive a lost catalog
                # every personal value of theirs, read before their rows go: the catalog may hold any of them
                values = subject_values(ws, mesh.lakehouse, parsed, mesh.encryptor, lineage)
                scrubbed = mesh.catalog.scrub(values)
            if shred:
                report = shred_keys(ws, mesh.lakehouse, parsed, mesh.encryptor, dry_run, lineage)
            else:
                rebuild = lambda ids: mesh.run(ids, progress)  # noqa: E731
                report = erase(ws, mesh.lakehouse, parsed, rebuild, dry_run, mesh.encryptor, lineage)
            if not dry_run:
                published = mesh.versions.publish(AuditAction.FORGET)
                # erasure wins over tags: those pointing at purged versions are marked, not kept readable
                report.tags_erased_through = mesh.versions.mark_erased([s.product_id for s in report.steps], published)
                report.catalog_records_scrubbed = scrubbed + mesh.catalog.scrub(values)
                done = AuditAction.FORGET_SHREDDED if shred else AuditAction.FORGET_DONE
                act.action = done if report.ok else AuditAction.FORGET_FAILED
                act.details = report.summary()
        return report

    def encryption_plan(self, products: list[str] | None = None, rotate: bool = False) -> EncryptionPlan:
        """What `encrypt` would rewrite and purge: tables holding protected values in clear, under an
        older key or of shredded subjects (every table, with `rotate`). Reads only."""
        from lakemesh.governance.encryption_plan import plan_encryption, required
        from lakemesh.quality.gate import quarantine_id

        encryptor = required(self._mesh.encryptor)
        ids = self._ids(products) or sorted(encryptor.plans)
        tables = [t for p in ids for t in (p, quarantine_id(p))]
        return plan_encryption(self._mesh.lakehouse, encryptor, tables, rotate)

    def encrypt(
        self,
        products: list[str] | None = None,
        rotate: bool = False,
        retire: bool = False,
        plan: EncryptionPlan | None = None,
    ) -> EncryptionResult:
        """Rewrite the tables `plan` lists (by default `encryption_plan`) so their protected columns are
        sealed under the active key, purging their history; with `rotate`, under a new mesh key first;
        `retire` then destroys the older mesh keys, once no table needs them. Nothing to do: no change."""
        from lakemesh.governance.encryption_plan import EncryptionResult, apply_encryption, check_request, required

        mesh = self._mesh
        encryptor = required(mesh.encryptor)
        check_request(rotate, retire, bool(products))
        scope = self._ids(products) or list(encryptor.plans)
        with mesh.guard.act(AuditAction.ENCRYPTION, scope, AccessLevel.ADMIN) as act:
            plan = plan or self.encryption_plan(products, rotate)
            result = apply_encryption(mesh.lakehouse, encryptor, plan, rotate, retire)
            mesh.versions.publish(AuditAction.ENCRYPTION)
            if result is None:
                act.audited = False
                return EncryptionResult(key=plan.key, plan=plan)
            act.details = result.model_dump(mode="json", exclude={"plan"})
        return result
