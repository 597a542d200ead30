"""The facade: `Mesh.open(path)` gives the CLI, notebooks, the web server and tests one API."""

from __future__ import annotations

import getpass
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakemesh.catalog import AuditAction, Catalog, ProductRecord, SearchHit, SyncReport
from lakemesh.catalog.lock import Notice, WriterLock, writes
from lakemesh.errors import CatalogError, SpecError
from lakemesh.lakehouse import Lakehouse
from lakemesh.pipeline import ProductRun, RunReport
from lakemesh.pipeline.rebuild import RESTORED, rebuilt_after_restore
from lakemesh.pipeline.runner import PipelineRunner, Progress, ProgressHook, RecordHook, RunHook, RunServices
from lakemesh.pipeline.transform import transform_problems
from lakemesh.quality.contract_check import check_file
from lakemesh.quality.product import ReprocessResult, check_product, quarantine_rows, reprocess
from lakemesh.quality.results import CheckReport, QualityReport, quality_rows
from lakemesh.querying import AsOf, parse_as_of, run_query
from lakemesh.settings import Settings
from lakemesh.spec.diff import ContractDiff, diff_contracts
from lakemesh.spec.odcs import Contract, contract_from_document
from lakemesh.spec.problems import Problem, Severity, has_errors
from lakemesh.spec.workspace import Workspace, load_workspace
from lakemesh.sql import BUILD_APP, cdc_file_app, input_app

if TYPE_CHECKING:  # imported where used: capture and governance load only when asked for
    from lakemesh.cdc.capture import CaptureReport
    from lakemesh.governance.encryption import Encryptor
    from lakemesh.governance.encryption_plan import EncryptionPlan
    from lakemesh.governance.erasure import ErasureReport
    from lakemesh.governance.policies import Violation
    from lakemesh.governance.retention import RetentionResult
    from lakemesh.lakehouse.doctor import Finding


@dataclass
class ValidationReport:
    """Everything `lakemesh validate` found: spec problems and breaking contract changes."""

    workspace: Workspace
    problems: list[Problem] = field(default_factory=list)
    diffs: dict[str, ContractDiff] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


class Mesh:
    """One mesh workspace and the catalog it registers into."""

    def __init__(self, workspace: Workspace, settings: Settings | None = None) -> None:
        self.workspace = workspace
        self.settings = settings or Settings()
        self.lock_wait: float | None = self.settings.lock_wait  # seconds to wait for another writer
        self.lock_notice: Notice | None = None  # told while waiting for another writer (default: stderr)

    @classmethod
    def open(cls, path: str | Path = ".", settings: Settings | None = None) -> Mesh:
        """Load the workspace at or above `path`. Spec problems are kept, not raised: see `validate`."""
        return cls(load_workspace(Path(path)), settings)

    @property
    def root(self) -> Path:
        return self.workspace.root

    @property
    def catalog_url(self) -> str:
        return self.settings.catalog_url or self.workspace.catalog_url

    @cached_property
    def catalog(self) -> Catalog:
        """The catalog, connected and migrated on first use; refused if it is not the lakehouse's own
        (reset or replaced while tables exist: `rebuild_catalog`)."""
        from lakemesh.governance.tombstones import check_catalog

        return check_catalog(Catalog.connect(self.catalog_url), self.lakehouse)

    @writes
    def rebuild_catalog(self) -> dict[str, Any]:
        """Re-create the catalog from the tables after it was lost: the workspace registered, the erased
        subjects restored from the lakehouse's tombstones, and the catalog adopted as the lakehouse's."""
        from lakemesh.governance.tombstones import rebuild_catalog

        catalog = self.__dict__["catalog"] = Catalog.connect(self.catalog_url)
        registered = self.sync().count("created")
        details = rebuild_catalog(catalog, self.workspace, self.lakehouse, self.actor)
        catalog.audit(self.actor, AuditAction.CATALOG_REBUILD, None, True, details)
        return {**details, "registered": registered}

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the lakehouse's writer lock: writers of one lakehouse exclude each other (reentrant)."""
        lock = WriterLock(self.catalog_url, self.lakehouse.root, self.lock_wait)
        with lock.hold(self.lock_notice):
            yield

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the catalog's connections and the key store; the Mesh can be used again (it reconnects)."""
        catalog = self.__dict__.pop("catalog", None)
        if catalog is not None:
            catalog.close()
        encryptor = self.__dict__.pop("encryptor", None)
        if encryptor is not None:
            encryptor.store.close()

    @cached_property
    def actor(self) -> str:
        """Who is acting: LAKEMESH_USER, else the workspace's git user.email, else the OS user."""
        if self.settings.user:
            return self.settings.user
        try:
            out = subprocess.run(
                ["git", "-C", str(self.root), "config", "user.email"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
        return getpass.getuser()

    def _registered_catalog(self) -> Catalog | None:
        """The catalog if one exists already; validation never creates one."""
        if "catalog" not in self.__dict__:
            from lakemesh.governance.tombstones import check_catalog

            self.__dict__["catalog"] = check_catalog(Catalog.connect(self.catalog_url, create=False), self.lakehouse)
        return self.catalog

    def validate(self, skip_catalog: bool = False, transforms: bool = True) -> ValidationReport:
        """Spec problems of every file, plus contracts changed in a breaking way without a major bump.
        A catalog that cannot be read is an error unless `skip_catalog` (none yet is fine). `transforms`:
        parse SQL transforms too (a run leaves that to each product, so a bad one fails alone)."""
        report = ValidationReport(self.workspace, list(self.workspace.problems))
        report.problems.extend(self._policy_problems())
        if transforms:
            report.problems.extend(transform_problems(self.workspace))
        if skip_catalog:
            report.problems.append(Problem("mesh.yaml", "catalog", "breaking-change check skipped", Severity.WARNING))
            return report
        try:
            catalog = self._registered_catalog()
        except CatalogError as exc:
            if not exc.message.startswith("no catalog at"):
                message = f"{exc.message}: the breaking-change check cannot run (`--skip-catalog` skips it)"
                report.problems.append(Problem("mesh.yaml", "catalog", message))
            return report
        assert catalog is not None
        for contract in self.workspace.contracts.values():
            old_doc = catalog.contract_document(contract.id)
            if old_doc is None or old_doc == contract.raw:
                continue
            old, _ = contract_from_document(old_doc, "catalog")
            if old is None:
                continue
            diff = diff_contracts(old, contract)
            report.diffs[contract.id] = diff
            report.problems.extend(self._version_problems(contract, diff))
        return report

    def _policy_problems(self) -> list[Problem]:
        """Broken policy specs (errors) and every policy violation (warnings, with the policy's severity)."""
        from lakemesh.governance.access import access_problems
        from lakemesh.governance.policies import effective_policies, evaluate

        _, problems = effective_policies(self.workspace)
        problems.extend(access_problems(self.workspace))
        if has_errors(problems) or not self.workspace.products:
            return problems
        for v in evaluate(self.workspace):
            entry = self.workspace.product(v.product_id)
            msg = f"{v.severity.value} policy {v.policy} ({v.source}): {v.message}"
            problems.append(Problem(entry.file, "", msg, Severity.WARNING))
        return problems

    def governance_check(self, products: list[str] | None = None, data: bool = False) -> list[Violation]:
        """Violations of the mesh's and domains' policies; with `data`, the SQL policies on the tables too."""
        from lakemesh.governance.policies import check_data, effective_policies, evaluate

        _, problems = effective_policies(self.workspace)
        if has_errors(problems):
            raise SpecError(problems, "fix the policies first")
        ids = [self.workspace.product(p).id for p in products] if products else None
        violations = evaluate(self.workspace, ids)
        if data:
            violations.extend(check_data(self.workspace, self.lakehouse, ids))
        return violations

    def _version_problems(self, contract: Contract, diff: ContractDiff) -> list[Problem]:
        if diff.version_ok and (diff.old_version != diff.new_version or not diff.changes):
            return []
        if not diff.version_ok:
            consumers = self.workspace.consumers_of(contract.id)
            who = f"; consumed by {', '.join(consumers)}" if consumers else ""
            changes = "; ".join(f"{c.kind} {c.path}" for c in diff.breaking)
            msg = (
                f"breaking changes since the registered {diff.old_version} ({changes}) need a major "
                f"version bump, but version is {diff.new_version}{who}"
            )
            return [Problem(contract.file, "version", msg)]
        msg = f"the contract changed but its version stayed {diff.new_version} (bump: {diff.required_bump})"
        return [Problem(contract.file, "version", msg, Severity.WARNING)]

    def sync(self) -> SyncReport:
        """Register the workspace in the catalog; refuses, changing nothing, if validation finds errors."""
        report = self.validate()
        if not report.ok:
            raise SpecError(report.errors, "fix these first: nothing was registered")
        return self.catalog.sync(self.workspace, self.actor)

    def search(
        self,
        query: str,
        domain: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        return self.catalog.search(query, domain=domain, tag=tag, owner=owner, limit=limit)

    def product_record(self, product_id: str) -> ProductRecord:
        return self.catalog.product(product_id)

    def check(self, contract: Contract, data: Path, table: str | None = None, fmt: str | None = None) -> CheckReport:
        return check_file(contract, data, table=table, fmt=fmt)

    # the lakehouse ------------------------------------------------------------------------------------

    @cached_property
    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.settings.storage or self.workspace.storage_root)

    @cached_property
    def encryptor(self) -> Encryptor | None:
        """Encrypts the PII columns the policies mark, on write; None when no policy encrypts anything."""
        from lakemesh.governance.encryption import Encryptor, KeyStore, column_plans

        plans = column_plans(self.workspace)
        return Encryptor(plans, KeyStore(self.workspace.mesh.name)) if plans else None

    def authorize(self, product_ids: list[str], level: str, action: AuditAction) -> None:
        """Where the mesh enforces grants on changes, the acting user must hold `level` on the products;
        a refusal is audited and raised (AccessDenied)."""
        access = self.workspace.mesh.access
        if not access.enforce_writes:
            return
        from lakemesh.governance.access import AccessDenied, authorize

        try:
            authorize(access, self.actor, product_ids, level)
        except AccessDenied as exc:
            self.catalog.audit(self.actor, action, ",".join(product_ids) or None, False, {"reason": exc.message})
            raise

    @writes
    def run(
        self, products: list[str] | None = None, progress: Progress | None = None, full_refresh: bool = False
    ) -> RunReport:
        """Build products (all when None) in dependency order; every run is recorded in the catalog.
        `full_refresh`: the products (all when None) are rebuilt from full reads of their inputs."""
        report = self.validate(transforms=False)
        if not report.ok:
            raise SpecError(report.errors, "fix these first: nothing was run")
        self.authorize(
            [self.workspace.product(p).id for p in products or self.workspace.products], "write", AuditAction.RUN
        )
        from lakemesh.governance.policies import evaluate

        blocked: dict[str, list[str]] = {}
        for v in evaluate(self.workspace):
            if v.severity.value == "critical":
                blocked.setdefault(v.product_id, []).append(f"{v.policy}: {v.message}")
        # observers first, the catalog's record (fatal) last: what an observer notes is recorded
        hooks: list[RunHook] = [*([ProgressHook(progress)] if progress else []), RecordHook(self._record_run)]
        services = RunServices(suppress=self._suppressor(), protector=self.encryptor)
        runner = PipelineRunner(self.workspace, self.lakehouse, services, hooks, blocked)
        return runner.run(products, full_refresh=full_refresh)

    def _suppressor(self) -> Callable[[Any, pa.Table], tuple[pa.Table, int]] | None:
        """Drops erased subjects' rows from bronze batches: those the catalog lists and the lakehouse's
        tombstones, which outlive a lost catalog; None while no one was ever erased."""
        from lakemesh.governance.tombstones import read_tombstones

        erased = self.catalog.erased_subjects()
        for column, names in read_tombstones(self.lakehouse).items():
            erased.setdefault(column, set()).update(names)
        if not erased:
            return None
        from lakemesh.governance.erasure import suppress

        return lambda product, data: suppress(product, data, erased)

    def _record_run(self, run: ProductRun, inputs: list[str]) -> None:
        now = datetime.now(UTC)
        row = {
            "id": run.run_id,
            "product_id": run.product_id,
            "kind": "run",
            "status": run.status.value,
            "started_at": now - timedelta(seconds=run.seconds),
            "finished_at": now,
            "input_versions": run.input_versions,
            "output_version": run.output_version,
            "rows_read": run.rows_read,
            "rows_written": run.rows_written,
            "error": run.error,
            "details": {
                **run.details,
                "inserted": run.inserted,
                "updated": run.updated,
                "deleted": run.deleted,
                "quarantined": run.quarantined,
            },
        }
        self.catalog.record_run(row, inputs)
        if run.quality is not None:
            run.quality.table_version = run.output_version
            self.catalog.record_quality(quality_rows(run.quality, run.run_id))

    # change data capture --------------------------------------------------------------------------------

    def cdc_consumers(self, product_id: str) -> list[str]:
        """Products applying this CDC bronze product's events (refresh mode cdc)."""
        from lakemesh.spec.models import RefreshMode

        entry = self.workspace.product(product_id)
        contracts = {p.contract_id for p in entry.spec.output_ports}
        return [
            e.id
            for e in self.workspace.products.values()
            if e.spec.build.refresh.mode is RefreshMode.CDC
            and any(p.contract_id in contracts for p in e.spec.input_ports)
        ]

    def cdc_pending(self, product_id: str) -> list[str]:
        """The consumers of this CDC bronze product that have not applied all of its events yet.

        A run killed between the bronze commit and the consumers' leaves them behind: a rerun that finds
        nothing new in bronze must still apply what they miss."""

        entry = self.workspace.product(product_id)
        version = self.lakehouse.version(entry.id)
        if version is None:
            return []
        return [
            c
            for c in self.cdc_consumers(entry.id)
            if not self.lakehouse.exists(c) or self.lakehouse.checkpoint(c, input_app(entry.id)) != version
        ]

    @writes
    def cdc_capture(
        self,
        product_id: str,
        once: bool = True,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[str, int], None] | None = None,
    ) -> CaptureReport:
        """Drain (or stream) a CDC source into its bronze product; recorded as a run of kind `cdc`."""
        from lakemesh.cdc.capture import capture

        self.authorize([self.workspace.product(product_id).id], "write", AuditAction.CDC_RUN)
        entry = self.workspace.product(product_id)
        started = datetime.now(UTC)
        error: str | None = None
        try:
            report = capture(entry, self.lakehouse, once=once, stop=stop or (lambda: False), progress=progress)
        except Exception as exc:
            error = getattr(exc, "message", str(exc))
            self._record_cdc(entry.id, started, None, error)
            raise
        self._record_cdc(entry.id, started, report, None)
        return report

    def _record_cdc(self, product_id: str, started: datetime, report: CaptureReport | None, error: str | None) -> None:
        details = {}
        if report is not None:
            details = {
                "snapshot_rows": report.snapshot_rows,
                "events": report.events,
                "skipped": report.skipped,
                "commits": report.commits,
                "position": report.position,
                "events_per_second": round(report.events_per_second, 1),
            }
        row = {
            "id": report.run_id if report is not None else str(uuid.uuid4()),
            "product_id": product_id,
            "kind": "cdc",
            "status": "failed" if error else "succeeded",
            "started_at": started,
            "finished_at": datetime.now(UTC),
            "input_versions": {},
            "output_version": self.lakehouse.version(product_id),
            "rows_read": (report.events + report.snapshot_rows) if report is not None else 0,
            "rows_written": (report.events + report.snapshot_rows) if report is not None else 0,
            "error": error,
            "details": details,
        }
        self.catalog.record_run(row, [])

    @writes
    def cdc_apply_file(self, product_id: str, lines: Any, name: str) -> tuple[int, bool]:
        """Debezium JSON events (one per line) into a CDC bronze product, once per content.

        Returns (events, already applied). The commit carries the content's digest as an app transaction.
        """
        import hashlib
        import json

        from lakemesh.cdc.events import EventError, bronze_rows, from_debezium
        from lakemesh.cdc.misfits import FILE_BATCH

        entry = self.workspace.product(product_id)
        events = []
        digest = hashlib.sha256()
        for n, line in enumerate(lines, 1):
            digest.update(line.encode() if isinstance(line, str) else line)
            text = line.strip() if isinstance(line, str) else line.decode().strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise EventError(f"{name}:{n}: not JSON: {exc}", "one Debezium event per line") from exc
            events.append(from_debezium(obj, f"{name}:{n}", n))
        app = cdc_file_app(digest.hexdigest()[:32])
        if self.lakehouse.checkpoint(entry.id, app) is not None:
            return len(events), True
        rows = bronze_rows(events, FILE_BATCH + name, datetime.now(UTC))  # a misfit's position: file:line
        self.lakehouse.append(entry.id, rows, {app: 1}, {"lakemesh.cdc": f"{len(events)} events from {name}"})
        return len(events), False

    def cdc_status(self, product_id: str) -> dict[str, Any]:
        from lakemesh.cdc.capture import status

        out = status(self.workspace.product(product_id), self.lakehouse)
        runs = [r for r in self.catalog.runs(product_id, limit=50) if r["kind"] == "cdc"]
        if runs:
            last = runs[0]
            out["last_run"] = {
                "at": last["finished_at"],
                "status": last["status"],
                "error": last["error"],
                **(last["details"] or {}),
            }
        return out

    @writes
    def cdc_reset(self, product_id: str) -> None:
        from lakemesh.cdc.capture import reset

        self.authorize([self.workspace.product(product_id).id], "admin", AuditAction.CDC_RESET)
        reset(self.workspace.product(product_id), self.lakehouse)
        self.catalog.audit(self.actor, AuditAction.CDC_RESET, product_id, True, {})

    @writes
    def retention_apply(self, products: list[str] | None = None, dry_run: bool = False) -> list[RetentionResult]:
        """Rows past each product's retention SLA deleted and vacuumed (counted only, `dry_run`); audited."""
        from lakemesh.governance.retention import apply_retention

        ids = [self.workspace.product(p).id for p in products] if products else None
        if not dry_run:
            self.authorize(ids or list(self.workspace.products), "admin", AuditAction.RETENTION)
        results = apply_retention(self.workspace, self.lakehouse, ids, dry_run)
        if not dry_run:
            for r in results:
                if r.rows:
                    details = {"rows": r.rows, "column": r.column, "cutoff": r.cutoff.isoformat() if r.cutoff else None,
                               "files_removed": r.files_removed}  # fmt: skip
                    self.catalog.audit(self.actor, AuditAction.RETENTION, r.product_id, True, details)
                elif r.error:
                    self.catalog.audit(self.actor, AuditAction.RETENTION, r.product_id, False, {"error": r.error})
        return results

    @writes
    def forget(
        self, subjects: list[str], dry_run: bool = False, progress: Progress | None = None, shred: bool = False
    ) -> ErasureReport:
        """Erase data subjects (`customer_id=C123`) from every product holding them, downstream
        recomputed and history purged (`governance.erasure`); audited with the subjects as pseudonyms.

        The request is audited before anything is deleted, so the subjects are kept out of later
        ingestion even if the erasure is interrupted; rerunning it finishes the job.
        """
        from lakemesh.governance.erasure import Subject, erase
        from lakemesh.governance.erasure import shred as shred_keys

        parsed = [Subject.parse(s) for s in subjects]
        values: list[str] = []
        scrubbed = 0
        if not dry_run:
            from lakemesh.governance.erasure import plan, subject_values
            from lakemesh.governance.tombstones import write_tombstones

            self.authorize([s.product_id for s in plan(self.workspace, parsed)], "admin", AuditAction.FORGET)
            details = {"subjects": [{"column": s.column, "pseudonym": s.pseudonym} for s in parsed]}
            self.catalog.audit(self.actor, AuditAction.FORGET, None, True, details)
            self.catalog.record_erasures([(s.column, s.pseudonym) for s in parsed], self.actor)
            write_tombstones(self.lakehouse, [(s.column, s.pseudonym) for s in parsed])  # outlive a lost catalog
            # every personal value of theirs, read before their rows go: the catalog may hold any of them
            values = subject_values(self.workspace, self.lakehouse, parsed, self.encryptor)
            scrubbed = self.catalog.scrub(values)
        if shred:
            report = shred_keys(self.workspace, self.lakehouse, parsed, self.encryptor, dry_run)
        else:
            rebuild = lambda ids: self.run(ids, progress)  # noqa: E731
            report = erase(self.workspace, self.lakehouse, parsed, rebuild, dry_run, self.encryptor)
        if not dry_run:
            report.catalog_records_scrubbed = scrubbed + self.catalog.scrub(values)
            done = AuditAction.FORGET_SHREDDED if shred else AuditAction.FORGET_DONE
            outcome = done if report.ok else AuditAction.FORGET_FAILED
            self.catalog.audit(self.actor, outcome, None, True, report.summary())
        return report

    def encryption_plan(self, products: list[str] | None = None, rotate: bool = False) -> EncryptionPlan:
        """What `encrypt` would rewrite and purge: tables holding protected values in clear, under an
        older key or of shredded subjects (every table, with `rotate`). Reads only."""
        from lakemesh.governance.encryption_plan import plan_encryption, required
        from lakemesh.quality.gate import quarantine_id

        encryptor = required(self.encryptor)
        ids = [self.workspace.product(p).id for p in products] if products else sorted(encryptor.plans)
        return plan_encryption(self.lakehouse, encryptor, [t for p in ids for t in (p, quarantine_id(p))], rotate)

    @writes
    def encrypt(
        self,
        products: list[str] | None = None,
        rotate: bool = False,
        retire: bool = False,
        plan: EncryptionPlan | None = None,
    ) -> dict[str, Any]:
        """Rewrite the tables `plan` lists (by default `encryption_plan`) so their protected columns are
        sealed under the active key, purging their history; with `rotate`, under a new mesh key first;
        `retire` then destroys the older mesh keys, once no table needs them. Nothing to do: no change."""
        from lakemesh.governance.encryption_plan import apply_encryption, check_request, required

        encryptor = required(self.encryptor)
        check_request(rotate, retire, bool(products))
        plan = plan or self.encryption_plan(products, rotate)
        self.authorize(
            [self.workspace.product(p).id for p in products or encryptor.plans], "admin", AuditAction.ENCRYPTION
        )
        details = apply_encryption(self.lakehouse, encryptor, plan, rotate, retire)
        if details is None:
            return {"tables": {}, "key": plan.key, "retired": [], "files_removed": 0, "plan": plan.as_dict()}
        self.catalog.audit(self.actor, AuditAction.ENCRYPTION, None, True, details)
        return {**details, "plan": plan.as_dict()}

    # quality ------------------------------------------------------------------------------------------

    def quality_check(self, product_id: str, as_of: str | None = None, record: bool = True) -> QualityReport:
        """Every expectation of a product's contract over its table in one scan; recorded in the catalog."""
        report = check_product(self.workspace, self.lakehouse, product_id, parse_as_of(as_of), protector=self.encryptor)
        if record:
            self.catalog.record_quality(quality_rows(report, None))
        return report

    def quality_history(self, product_id: str, check: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        return self.catalog.quality_history(self.workspace.product(product_id).id, check, limit)

    def quarantine(self, product_id: str, limit: int | None = 20) -> pa.Table:
        return quarantine_rows(self.lakehouse, self.workspace.product(product_id).id, limit, self.encryptor)

    @writes
    def reprocess_quarantine(self, product_id: str) -> ReprocessResult:
        """Release quarantined rows that pass the contract as it is now; the rest stay, with fresh reasons."""
        pid = self.workspace.product(product_id).id
        self.authorize([pid], "write", AuditAction.QUARANTINE_REPROCESS)
        run_id = str(uuid.uuid4())
        result = reprocess(self.workspace, self.lakehouse, pid, run_id, protector=self.encryptor)
        if result.report is not None:
            result.report.table_version = result.product_version
            self.catalog.record_quality(quality_rows(result.report, None))
        details = {"released": result.released, "still_quarantined": result.still_quarantined, "run": run_id}
        self.catalog.audit(self.actor, AuditAction.QUARANTINE_REPROCESS, pid, True, details)
        return result

    def query(self, sql: str, as_of: str | list[str] | None = None, principal: str | None = None) -> pa.Table:
        """One read-only SELECT over products by id (`FROM orders.analytics_orders`), optionally in the past:
        `as_of` a time, a version (one table only) or `product=version-or-time` per table.

        As a `principal`: only granted products, through its column masks and row filters; audited.
        """
        if principal is None:
            products = list(self.workspace.products)
            return run_query(sql, products, self.lakehouse, AsOf.parse(as_of), self.encryptor, self._read_back())
        from lakemesh.governance.access import AccessDenied, governed_query

        encryptor = self.encryptor
        clear = (lambda pid, who, engine: encryptor.clear_sources(pid, who.roles, engine)) if encryptor else None
        try:
            result, decision = governed_query(
                sql, principal, self.workspace, self.lakehouse, AsOf.parse(as_of), clear, self._read_back()
            )
        except AccessDenied as exc:
            products = exc.decision.products if exc.decision else []
            details = {"sql": sql, "reason": exc.message, "products": products}
            self.catalog.audit(principal, AuditAction.QUERY, ",".join(products) or None, False, details)
            raise
        details = {"sql": sql, "products": decision.products, "rows": result.num_rows}
        self.catalog.audit(principal, AuditAction.QUERY, ",".join(decision.products), True, details)
        return result

    def _read_back(self) -> dict[str, dict[str, str]]:
        """Per product, the columns stored as text for a type Delta cannot hold (a TIME) and that type."""
        from lakemesh.spec.types import read_back

        out = {}
        for entry in self.workspace.products.values():
            tables = entry.contract.tables if entry.contract is not None else []
            if tables:
                out[entry.id] = read_back((c.name, c.logical_type, c.physical_type) for c in tables[0].columns)
        return out

    def history(self, product_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.lakehouse.history(self.workspace.product(product_id).id, limit)

    @writes
    def restore(self, product_id: str, version: str) -> dict[str, Any]:
        target = parse_as_of(version, "--to")
        assert target is not None
        pid = self.workspace.product(product_id).id
        self.authorize([pid], "admin", AuditAction.RESTORE)
        # a restore keeps the input versions the product last read: the next run rebuilds it and its consumers
        result = self.lakehouse.restore(pid, target, {BUILD_APP: RESTORED}, {"lakemesh.restored_to": version})
        result["rebuild_on_next_run"] = rebuilt_after_restore(self.workspace, pid)
        self.catalog.audit(self.actor, AuditAction.RESTORE, product_id, True, {"to": version, **result})
        return result

    @writes
    def optimize(self, product_id: str, zorder: list[str] | None = None) -> dict[str, Any]:
        self.authorize([self.workspace.product(product_id).id], "admin", AuditAction.OPTIMIZE)
        return self.lakehouse.optimize(self.workspace.product(product_id).id, zorder)

    @writes
    def vacuum(
        self, product_id: str, retain_hours: int | None = None, dry_run: bool = True, force: bool = False
    ) -> list[str]:
        if not dry_run:
            self.authorize([self.workspace.product(product_id).id], "admin", AuditAction.VACUUM)
        files = self.lakehouse.vacuum(self.workspace.product(product_id).id, retain_hours, dry_run, force)
        if not dry_run:
            self.catalog.audit(
                self.actor, AuditAction.VACUUM, product_id, True, {"files": len(files), "retain": retain_hours}
            )
        return files

    def doctor(self, product_id: str) -> list[Finding]:
        """What is damaged in the product's table (log or data files) and how to recover; [] when intact."""
        from lakemesh.lakehouse.doctor import diagnose

        return diagnose(self.lakehouse, self.workspace.product(product_id).id)
