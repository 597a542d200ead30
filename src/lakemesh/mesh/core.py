"""`Mesh`: one workspace, the catalog it registers into, its lakehouse, and the guard every action goes
through. Families of actions are namespaces (`mesh.tables`, `mesh.quality`, `mesh.governance`,
`mesh.streams`); what stays here is opening and closing, validation, registration, runs and queries."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from lakemesh.catalog import AuditAction, Catalog, ProductRecord, SearchHit, SyncReport
from lakemesh.catalog.lock import Notice, WriterLock
from lakemesh.errors import SpecError
from lakemesh.mesh.governance import Governance
from lakemesh.mesh.guard import Guard
from lakemesh.mesh.lineage import Lineage
from lakemesh.mesh.quality import Quality
from lakemesh.mesh.streams import Streams
from lakemesh.mesh.tables import Tables
from lakemesh.mesh.validation import ValidationReport, validate
from lakemesh.mesh.versions import Versions
from lakemesh.settings import Settings
from lakemesh.spec.models import AccessLevel
from lakemesh.spec.workspace import Workspace, load_workspace

if TYPE_CHECKING:  # imported where used: the data stack loads only for what needs it
    import pyarrow as pa

    from lakemesh.governance.encryption import Encryptor
    from lakemesh.governance.tombstones import CatalogRebuild
    from lakemesh.lakehouse import Lakehouse
    from lakemesh.lineage.model import ProductLineage
    from lakemesh.pipeline import RunReport
    from lakemesh.pipeline.runner import Progress, RunHook
    from lakemesh.quality.results import CheckReport
    from lakemesh.querying import AsOf
    from lakemesh.spec.odcs import Contract
    from lakemesh.spec.workspace import ProductEntry


class Mesh:
    """One mesh workspace and the catalog it registers into. A context manager: `close` on exit."""

    def __init__(self, workspace: Workspace, settings: Settings | None = None) -> None:
        self.workspace = workspace
        self.settings = settings or Settings()
        self.lock_wait: float | None = self.settings.lock_wait  # seconds to wait for another writer
        self.lock_notice: Notice | None = None  # told while waiting for another writer (default: stderr)

    @classmethod
    def open(cls, path: str | Path = ".", settings: Settings | None = None) -> Mesh:
        """Load the workspace at or above `path`. Spec problems are kept, not raised: see `validate`."""
        return cls(load_workspace(Path(path)), settings)

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the catalog's connections and the key store; the Mesh can be used again (it reconnects)."""
        for name in ("catalog", "_spec_catalog"):
            catalog = self.__dict__.pop(name, None)
            if catalog is not None:
                catalog.close()
        encryptor = self.__dict__.pop("encryptor", None)
        if encryptor is not None:
            encryptor.store.close()

    # what it is made of ---------------------------------------------------------------------------

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

        # the connection validation opened to read contracts, if any: connecting (and migrating) once is enough
        opened = self.__dict__.pop("_spec_catalog", None)
        return check_catalog(opened or Catalog.connect(self.catalog_url), self.lakehouse)

    @cached_property
    def lakehouse(self) -> Lakehouse:
        from lakemesh.lakehouse import Lakehouse

        lakehouse = Lakehouse(self.settings.storage or self.workspace.storage_root)
        lakehouse.kept_versions = lambda product_id: self.versions.kept_versions(product_id)  # tags keep files
        return lakehouse

    @cached_property
    def encryptor(self) -> Encryptor | None:
        """Encrypts the PII columns the policies mark, on write; None when no policy encrypts anything."""
        from lakemesh.governance.encryption import Encryptor, KeyStore, column_plans

        plans = column_plans(self.workspace)
        return Encryptor(plans, KeyStore(self.workspace.mesh.name)) if plans else None

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

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the lakehouse's writer lock: writers of one lakehouse exclude each other (reentrant)."""
        lock = WriterLock(self.catalog_url, self.lakehouse.root, self.lock_wait)
        with lock.hold(self.lock_notice):
            yield

    @cached_property
    def guard(self) -> Guard:
        """Lock, authorize, act, audit: every changing action (and every read as a principal) goes through it."""
        return Guard(lambda: self.workspace.mesh.access, lambda: self.catalog, lambda: self.actor, self.writer_lock)

    # the families of actions ----------------------------------------------------------------------

    @cached_property
    def tables(self) -> Tables:
        return Tables(self)

    @cached_property
    def quality(self) -> Quality:
        return Quality(self)

    @cached_property
    def governance(self) -> Governance:
        return Governance(self)

    @cached_property
    def streams(self) -> Streams:
        return Streams(self)

    @cached_property
    def lineage(self) -> Lineage:
        return Lineage(self)

    @cached_property
    def versions(self) -> Versions:
        return Versions(self)

    # specs and the catalog ------------------------------------------------------------------------

    def validate(self, skip_catalog: bool = False, transforms: bool = True) -> ValidationReport:
        """Spec problems of every file, plus contracts changed in a breaking way without a major bump.
        A catalog that cannot be read is an error unless `skip_catalog` (none yet is fine). `transforms`:
        parse SQL transforms too (a run leaves that to each product, so a bad one fails alone)."""
        return validate(self.workspace, self._registered_catalog, skip_catalog, transforms)

    def _registered_catalog(self) -> Catalog | None:
        """The catalog if one exists already, to read the registered contracts from; validation never
        creates one. Not checked against the lakehouse's marker (that reads a Delta table: the data stack,
        a second of start-up): reading contracts cannot bring an erased subject back; writers check."""
        if "catalog" in self.__dict__:
            return self.catalog
        if "_spec_catalog" not in self.__dict__:
            self.__dict__["_spec_catalog"] = Catalog.connect(self.catalog_url, create=False)
        catalog: Catalog = self.__dict__["_spec_catalog"]
        return catalog

    def sync(self) -> SyncReport:
        """Register the workspace in the catalog; refuses, changing nothing, if validation finds errors."""
        report = self.validate()
        if not report.ok:
            raise SpecError(report.errors, "fix these first: nothing was registered")
        synced = self.catalog.sync(self.workspace, self.actor)
        self.lineage.refresh()  # column lineage versioned with the specs just registered
        return synced

    def rebuild_catalog(self) -> CatalogRebuild:
        """Re-create the catalog from the tables after it was lost: the workspace registered, the erased
        subjects restored from the lakehouse's tombstones, and the catalog adopted as the lakehouse's."""
        from lakemesh.governance.tombstones import rebuild_catalog

        with self.guard.act(AuditAction.CATALOG_REBUILD, [], None) as act:
            catalog = self.__dict__["catalog"] = Catalog.connect(self.catalog_url)
            registered = self.sync().count("created")
            result = rebuild_catalog(catalog, self.workspace, self.lakehouse, self.actor)
            act.details = result.model_dump(mode="json")
        return result.model_copy(update={"registered": registered})

    def search(
        self, query: str, domain: str | None = None, tag: str | None = None, owner: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        return self.catalog.search(query, domain=domain, tag=tag, owner=owner, limit=limit)

    def product_record(self, product_id: str) -> ProductRecord:
        return self.catalog.product(product_id)

    def check(self, contract: Contract, data: Path, table: str | None = None, fmt: str | None = None) -> CheckReport:
        """A data file checked against a contract, before it is ever ingested."""
        from lakemesh.quality.contract_check import check_file

        return check_file(contract, data, table=table, fmt=fmt)

    # runs and queries -----------------------------------------------------------------------------

    def run(
        self, products: list[str] | None = None, progress: Progress | None = None, full_refresh: bool = False
    ) -> RunReport:
        """Build products (all when None) in dependency order; every run is recorded in the catalog.
        `full_refresh`: the products (all when None) are rebuilt from full reads of their inputs."""
        from lakemesh.governance.policies import blocked_products
        from lakemesh.mesh.recording import record_run
        from lakemesh.pipeline.hooks import BackgroundHook
        from lakemesh.pipeline.runner import PipelineRunner, ProgressHook, RecordHook, RunServices

        report = self.validate(transforms=False)
        if not report.ok:
            raise SpecError(report.errors, "fix these first: nothing was run")
        ids = [self.workspace.product(p).id for p in products or self.workspace.products]
        with self.guard.act(AuditAction.RUN, ids, AccessLevel.WRITE) as act:
            act.audited = False  # each product's run is recorded in the catalog, with its outcome
            # observers first, the catalog's record (fatal) last: what an observer notes is recorded
            hooks: list[RunHook] = [ProgressHook(progress)] if progress else []
            # events built and sent beside the run, not in it; nothing at all when mesh.yaml turns them off
            lineage = BackgroundHook(self._lineage_hook) if self.workspace.mesh.lineage.enabled else None
            hooks += [lineage] if lineage is not None else []
            hooks.append(RecordHook(lambda run, inputs: record_run(self.catalog, run, inputs)))
            services = RunServices(suppress=self.governance.suppressor(), protector=self.encryptor)
            runner = PipelineRunner(self.workspace, self.lakehouse, services, hooks, blocked_products(self.workspace))
            try:
                result = runner.run(products, full_refresh=full_refresh)
            finally:
                if lineage is not None:
                    lineage.close()
            self.versions.publish(AuditAction.RUN)  # the run's tables seen together, from now on
            return result

    def _lineage_hook(self) -> RunHook:
        """OpenLineage START/COMPLETE/FAIL events for each product built, to the `lineage:` transports of
        mesh.yaml (by default a journal in the workspace), with column lineage and masked columns marked."""
        from lakemesh.lineage.columns import product_lineage
        from lakemesh.lineage.transports import Emitter, OpenLineageHook

        ws = self.workspace
        derived: dict[str, ProductLineage] = {}

        def lineage_of(entry: ProductEntry) -> ProductLineage:
            if entry.id not in derived:  # derived once per run: START and COMPLETE share it
                derived[entry.id] = product_lineage(ws, entry)
            return derived[entry.id]

        emitter = Emitter(ws.mesh.lineage, self.root)
        masked = frozenset((p, c) for p, columns in self.lineage.masked_columns().items() for c in columns)
        return OpenLineageHook(ws.mesh.name, emitter, lineage_of, masked)

    def query(
        self, sql: str, as_of: str | list[str] | None = None, principal: str | None = None, at: str | None = None
    ) -> pa.Table:
        """One read-only SELECT over products by id (`FROM orders.analytics_orders`), optionally in the past:
        `as_of` a time, a version (one table only) or `product=version-or-time` per table; `at` a tag or
        mesh version. Otherwise each table is read at the latest published mesh version (`mesh.versions`).

        As a `principal`: only granted products, through its column masks and row filters; audited.
        """
        from lakemesh.querying import run_query

        when = self._as_of(as_of, at)
        if principal is None:
            products = list(self.workspace.products)
            return self.versions.read(
                when, at, lambda w: run_query(sql, products, self.lakehouse, w, self.encryptor, self._read_back())
            )
        from lakemesh.governance.access import governed_query

        encryptor = self.encryptor
        clear = (lambda pid, who, engine: encryptor.clear_sources(pid, who.roles, engine)) if encryptor else None
        with self.guard.act(AuditAction.QUERY, [], AccessLevel.READ, actor=principal, writes=False) as act:
            act.details = {"sql": sql}
            result, decision = self.versions.read(
                when,
                at,
                lambda w: governed_query(sql, principal, self.workspace, self.lakehouse, w, clear, self._read_back()),
            )
            act.target = ",".join(decision.products)
            act.details = {"sql": sql, "products": decision.products, "rows": result.num_rows}
        return result

    def _as_of(self, as_of: str | list[str] | None, at: str | None) -> AsOf:
        """What `--as-of` says, over the table versions of the latest mesh version or of `at`."""
        from dataclasses import replace

        from lakemesh.querying import AsOf, QueryError

        parsed = AsOf.parse(as_of)
        if at is not None and (parsed.default is not None or parsed.tables):
            raise QueryError("--at and --as-of together", "--at reads every product at one point: give one of them")
        return replace(parsed, pinned=self.versions.pins(at))

    def _read_back(self) -> dict[str, dict[str, str]]:
        """Per product, the columns stored as text for a type Delta cannot hold (a TIME) and that type."""
        from lakemesh.spec.types import read_back

        out = {}
        for entry in self.workspace.products.values():
            tables = entry.contract.tables if entry.contract is not None else []
            if tables:
                out[entry.id] = read_back((c.name, c.logical_type, c.physical_type) for c in tables[0].columns)
        return out
