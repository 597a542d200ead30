"""Running products in dependency order: each attempted (bronze ingested, silver and gold refreshed from their
inputs, one commit each), its hooks told when it starts and finishes, a failure skipping only its dependents.

What a product's rows go through before their commit is `pipeline.steps`; what watches a run (progress,
the catalog's record, lineage) is `pipeline.hooks`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import pyarrow as pa

from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import NATIVE_ERRORS, Lakehouse
from lakemesh.pipeline.hooks import (
    Progress,
    ProgressHook,
    Recorder,
    RecordHook,
    RunAborted,
    RunHook,
    finished,
    started,
)
from lakemesh.pipeline.incremental import InputPlan
from lakemesh.pipeline.ingest import ingest
from lakemesh.pipeline.refresh import refresh
from lakemesh.pipeline.results import ProductRun, RunReport, RunStatus
from lakemesh.pipeline.steps import BATCH_STEPS, Batch, RunServices, Suppressor
from lakemesh.spec.models import Layer
from lakemesh.spec.workspace import ProductEntry, Workspace

__all__ = [
    "BATCH_STEPS",
    "InputPlan",
    "PipelineRunner",
    "Progress",
    "ProgressHook",
    "RecordHook",
    "Recorder",
    "RunAborted",
    "RunHook",
    "RunServices",
    "Suppressor",
]


class PipelineRunner:
    """Builds products of one workspace into one lakehouse.

    `services`: what the batch steps call out to (engine, erased-subject suppressor, protector).
    `hooks`: told of each product's start and finish, in order (`pipeline.hooks`).
    `blocked`: product id -> the critical policy violations that keep it from being built.
    """

    def __init__(
        self,
        workspace: Workspace,
        lakehouse: Lakehouse,
        services: RunServices | None = None,
        hooks: Sequence[RunHook] = (),
        blocked: dict[str, list[str]] | None = None,
    ) -> None:
        self.ws = workspace
        self.lakehouse = lakehouse
        self.services = services or RunServices()
        self.hooks = tuple(hooks)
        self.blocked = blocked or {}
        self.refresh: set[str] = set()  # products rebuilt from full reads whatever their state

    def run(self, product_ids: list[str] | None = None, full_refresh: bool = False) -> RunReport:
        """Run the given products (all when None) in dependency order; a failure skips only its dependents.
        `full_refresh`: the given products are rebuilt from full reads of their inputs. A fatal hook's
        failure raises RunAborted, which carries the report so far."""
        order = self.ws.build_order()
        selected = set(order) if not product_ids else {self.ws.product(p).id for p in product_ids}
        self.refresh = selected if full_refresh else set()
        report, broken = RunReport(), set[str]()
        for pid in (p for p in order if p in selected):
            entry, run = self.ws.product(pid), ProductRun(product_id=pid, run_id=str(uuid.uuid4()))
            started(self.hooks, entry, run, report)
            began = time.perf_counter()
            self._decide(entry, run, broken)
            run.seconds = time.perf_counter() - began
            if run.status in (RunStatus.FAILED, RunStatus.SKIPPED):
                broken.add(pid)
            report.runs.append(run)
            finished(self.hooks, entry, run, self.ws.upstream(pid), report)
        return report

    def _decide(self, entry: ProductEntry, run: ProductRun, broken: set[str]) -> None:
        """Skip the product (an upstream failed), refuse it (critical policies), or attempt it."""
        upstream_failed = [u for u in self.ws.upstream(entry.id) if u in broken]
        if upstream_failed:
            run.status, run.error = RunStatus.SKIPPED, f"upstream {', '.join(upstream_failed)} failed"
        elif entry.id in self.blocked:
            run.status = RunStatus.FAILED
            run.error = f"blocked by critical governance policies: {'; '.join(self.blocked[entry.id])}"
            run.hint = f"see `lakemesh governance check {entry.id}`"
        else:
            self._attempt(entry, run)

    def _attempt(self, entry: ProductEntry, run: ProductRun) -> None:
        try:
            self.build(entry, run)
        except LakemeshError as exc:
            run.status, run.error, run.hint = RunStatus.FAILED, exc.message, exc.hint
        except (*NATIVE_ERRORS, pa.ArrowException, OSError) as exc:
            run.status, run.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"

    def build(self, entry: ProductEntry, run: ProductRun) -> None:
        """Build one product into its table, raising what goes wrong."""
        contract = entry.contract
        if contract is None:
            raise LakemeshError(f"{entry.id} has no contract to build against", "fix `lakemesh validate` first")
        batch = Batch(entry, contract.table(), run, self.lakehouse, self.services)
        full_refresh = entry.id in self.refresh
        if entry.spec.layer is Layer.BRONZE:
            ingest(batch, self.ws.root, full_refresh)
        else:
            refresh(self.ws, batch, full_refresh)
        if run.status is RunStatus.SUCCEEDED:
            compacted = self.lakehouse.maybe_compact(entry.id)
            if compacted:
                run.details["compacted"] = compacted.model_dump(mode="json")
                run.output_version = self.lakehouse.version(entry.id)
