"""Running products in dependency order: bronze ingestion, incremental SQL/Python transforms, one commit each.

Incremental state is the version of each input last read, committed with the output's data as a Delta
app transaction (`lakemesh:<input product>`). A run reads only the input versions after it:
- merge (silver): the rows the inputs' change feed shows inserted or updated, merged on the primary key;
- partitions (gold): the values of `by` those changes touch, recomputed from the input and replaced;
- full: everything, replaced.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

from lakemesh.engines import Engine, Protector, make_engine, register_revealed
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import (
    CDF_COLUMNS,
    NATIVE_ERRORS,
    ConcurrentWriteError,
    HistoryPurgedError,
    Lakehouse,
    WriteResult,
    plain,
)
from lakemesh.pipeline.columns import SchemaMismatch, evolution, shape_output
from lakemesh.pipeline.rebuild import REBUILD_KEY, fingerprint, rebuild_reason
from lakemesh.pipeline.results import ProductRun, RunReport, RunStatus
from lakemesh.pipeline.transform import TransformError, as_arrow, columns_read, load_python, load_sql
from lakemesh.quality.gate import QualityGateError, gate, quarantine_id
from lakemesh.quality.results import CheckStatus
from lakemesh.sources import BatchSource, CaptureSource, open_source
from lakemesh.sources.files import ingested_files
from lakemesh.spec.expectations import expectations_of
from lakemesh.spec.models import Layer, RefreshMode
from lakemesh.spec.odcs import Table
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import BUILD_APP, input_app, lit, q

Recorder = Callable[[ProductRun, list[str]], None]
Progress = Callable[[str, ProductRun | None], None]
# drops the rows of erased data subjects from a bronze batch: (kept rows, how many were dropped)
Suppressor = Callable[[ProductEntry, pa.Table], tuple[pa.Table, int]]
_RACE_RETRIES = 8  # bronze commits lost to racing writers before a run gives up


@dataclass(frozen=True)
class InputPlan:
    """What registering the inputs decided: the rows a replace covers (None: all of them), or nothing to do."""

    predicate: str | None = None
    nothing_affected: bool = False
    complete: bool = False  # every input read in full: the output, and what it rejects, is all of it


class PipelineRunner:
    """Builds products of one workspace into one lakehouse."""

    def __init__(
        self,
        workspace: Workspace,
        lakehouse: Lakehouse,
        record: Recorder | None = None,
        progress: Progress | None = None,
        engine: str = "duckdb",
        blocked: dict[str, list[str]] | None = None,
        suppress: Suppressor | None = None,
        protector: Protector | None = None,
    ) -> None:
        self.ws = workspace
        self.suppress = suppress
        self.protector = protector  # encrypts protected columns on write, decrypts them for transforms
        self.blocked = blocked or {}  # product id -> critical policy violations: not built
        self.lakehouse = lakehouse
        self.record = record
        self.progress = progress
        self.engine_name = engine
        self.refresh: set[str] = set()  # products rebuilt from full reads whatever their state

    def run(self, product_ids: list[str] | None = None, full_refresh: bool = False) -> RunReport:
        """Run the given products (all when None) in dependency order; a failure skips only its dependents.
        `full_refresh`: the given products are rebuilt from full reads of their inputs."""
        order = self.ws.build_order()
        selected = set(order) if not product_ids else {self.ws.product(p).id for p in product_ids}
        self.refresh = selected if full_refresh else set()
        report, broken = RunReport(), set()
        for pid in (p for p in order if p in selected):
            run = ProductRun(product_id=pid, run_id=str(uuid.uuid4()))
            if self.progress:
                self.progress(pid, None)
            blocked = [u for u in self.ws.upstream(pid) if u in broken]
            started = time.perf_counter()
            if blocked:
                run.status, run.error = RunStatus.SKIPPED, f"upstream {', '.join(blocked)} failed"
            elif pid in self.blocked:
                run.status = RunStatus.FAILED
                run.error = f"blocked by critical governance policies: {'; '.join(self.blocked[pid])}"
                run.hint = f"see `lakemesh governance check {pid}`"
            else:
                self._attempt(self.ws.product(pid), run)
            run.seconds = time.perf_counter() - started
            if run.status in (RunStatus.FAILED, RunStatus.SKIPPED):
                broken.add(pid)
            if self.record:
                self.record(run, self.ws.upstream(pid))
            if self.progress:
                self.progress(pid, run)
            report.runs.append(run)
        return report

    def _attempt(self, entry: ProductEntry, run: ProductRun) -> None:
        try:
            self.build(entry, run)
        except LakemeshError as exc:
            run.status, run.error, run.hint = RunStatus.FAILED, exc.message, exc.hint
        except (*NATIVE_ERRORS, pa.ArrowException, OSError) as exc:
            run.status, run.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"

    def build(self, entry: ProductEntry, run: ProductRun) -> None:
        contract = entry.contract
        if contract is None:
            raise LakemeshError(f"{entry.id} has no contract to build against", "fix `lakemesh validate` first")
        table = contract.table()
        if entry.spec.layer is Layer.BRONZE:
            self._ingest(entry, table, run)
        else:
            self._transform(entry, table, run)
        if run.status is RunStatus.SUCCEEDED:
            compacted = self.lakehouse.maybe_compact(entry.id)
            if compacted:
                run.details["compacted"] = compacted.model_dump(mode="json")
                run.output_version = self.lakehouse.version(entry.id)

    # bronze ---------------------------------------------------------------------------------------

    def _ingest(self, entry: ProductEntry, table: Table, run: ProductRun) -> None:
        spec = entry.spec.build.source
        if spec is None:
            raise LakemeshError(f"{entry.id} is bronze but declares no build.source", "add one to product.yaml")
        source = open_source(spec)
        if source.capabilities.captures:
            self._capture(entry, cast(CaptureSource, source), run)
            return
        batches = cast(BatchSource, source)
        files = batches.units(self.ws.root)
        run.details["files_found"] = len(files)
        for _ in range(_RACE_RETRIES):
            try:
                self._ingest_new(entry, batches, table, files, run)
                return
            except ConcurrentWriteError:
                continue  # another writer took files first: choose again from what the table holds now
        raise LakemeshError(f"{entry.id}: other writers kept committing first", "run again")

    def _ingest_new(
        self, entry: ProductEntry, source: BatchSource, table: Table, files: list[Path], run: ProductRun
    ) -> None:
        """Ingest the files the table's current version does not hold, committed right after that version
        only: two writers racing never both take one file (the later commit fails, ConcurrentWriteError)."""
        root = self.ws.root
        read = self.lakehouse.version(entry.id)
        full = read is not None and entry.id in self.refresh  # every file read again, the table replaced
        done = set() if full else source.ingested(self.lakehouse, entry.id, read)
        new = [f for f in files if _rel(f, root) not in done]
        if not new and not full:
            run.status, run.output_version = RunStatus.UP_TO_DATE, read
            return
        if not new:
            raise LakemeshError(
                f"{entry.id}: {source.label} names no file: a full refresh would leave the table empty",
                "check build.source.path; nothing was changed",
            )
        batch = source.read(root, table, new, run.run_id, datetime.now(UTC), entry.id)
        data = self._unforgotten(entry, batch.data, run)
        data = self._sealed(entry.id, self._gated(entry, table, data, run, None, partial=False, whole=full))
        meta = {"lakemesh.run": run.run_id, "lakemesh.files": json.dumps([_rel(f, root) for f in new])}
        if full:
            run.details["rebuilt"] = meta[REBUILD_KEY] = "full refresh asked for"
            self._written(run, self.lakehouse.rewrite(entry.id, data, meta))
        else:
            evolve = self._evolves(entry.id, data, table)
            self._written(run, self.lakehouse.append_at(entry.id, read, data, meta, evolve))
        run.rows_read = batch.data.num_rows
        run.details["files"] = [_rel(f, root) for f in new]
        if batch.warnings:
            run.details["warnings"] = batch.warnings

    def _capture(self, entry: ProductEntry, source: CaptureSource, run: ProductRun) -> None:
        """A capturing source (CDC): drain the changes pending on it, exactly once."""
        report = source.capture(entry, self.lakehouse, once=True)
        run.rows_read = run.rows_written = run.inserted = report.events + report.snapshot_rows
        run.output_version = self.lakehouse.version(entry.id)
        run.status = RunStatus.SUCCEEDED if report.commits else RunStatus.UP_TO_DATE
        run.details.update(
            {
                "snapshot_rows": report.snapshot_rows,
                "events": report.events,
                "skipped": report.skipped,
                "position": report.position,
                "events_per_second": round(report.events_per_second),
            }
        )

    # silver and gold ------------------------------------------------------------------------------

    def _inputs(self, entry: ProductEntry) -> dict[str, int]:
        versions: dict[str, int] = {}
        for port in entry.spec.input_ports:
            producer = self.ws.producer_of(port.contract_id)
            if producer is None:
                raise LakemeshError(f"{entry.id}: no product serves input contract {port.contract_id}")
            version = self.lakehouse.version(producer)
            if version is None:
                raise LakemeshError(f"{entry.id}: input {producer} has no table yet", f"run `lakemesh run {producer}`")
            versions[producer] = version
        return versions

    def _transform(self, entry: ProductEntry, table: Table, run: ProductRun) -> None:
        cdc = entry.spec.build.refresh.mode is RefreshMode.CDC
        if entry.spec.build.transform is None and not cdc:
            raise LakemeshError(f"{entry.id} declares no build.transform", "add sql: or python: to product.yaml")
        current = self._inputs(entry)
        last = {p: self.lakehouse.checkpoint(entry.id, input_app(p)) for p in current}
        run.input_versions = {p: [last[p], v] for p, v in current.items()}
        exists = self.lakehouse.exists(entry.id)
        reason = "full refresh asked for" if exists and entry.id in self.refresh else None
        reason = reason or rebuild_reason(self.lakehouse, entry, current, last)
        if reason is None and exists and all(last[p] == v for p, v in current.items()):
            run.status, run.output_version = RunStatus.UP_TO_DATE, self.lakehouse.version(entry.id)
            return
        declared = entry.spec.build.refresh_mode(entry.spec.layer)
        # a rebuild reads every input in full and replaces the whole table (cdc: folds every event again)
        mode = RefreshMode.FULL if reason and declared is not RefreshMode.CDC else declared
        checkpoints = {input_app(p): v for p, v in current.items()} | {BUILD_APP: fingerprint(entry)}
        meta = {"lakemesh.run": run.run_id}
        if reason:
            run.details["rebuilt"] = reason
            meta[REBUILD_KEY] = reason
            last = dict.fromkeys(current)
        if mode is RefreshMode.CDC:
            self._apply_changes(entry, table, current, last, checkpoints, meta, run)
            return
        engine = make_engine(self.engine_name)
        try:
            plan = self._register_inputs(entry, engine, mode, current, last, run)
            if plan.nothing_affected:  # the inputs' changes touch no partition: only the checkpoint moves
                run.status, run.output_version = (
                    RunStatus.UP_TO_DATE,
                    self.lakehouse.advance(entry.id, checkpoints, meta),
                )
                return
            out = self._compute(entry, table, engine, current)
            keys = table.primary_key
            if declared is RefreshMode.MERGE and not keys:
                raise LakemeshError(f"{entry.id}: merge needs a primary key in the contract", "set primaryKey: true")
            partial = self.lakehouse.exists(entry.id) and mode in (RefreshMode.MERGE, RefreshMode.PARTITIONS)
            out = self._unforgotten(entry, out, run)
            out = self._gated(entry, table, out, run, checkpoints, partial, whole=plan.complete, engine=engine)
        finally:
            engine.close()
        if declared is RefreshMode.MERGE and not _gate_proved_unique(run, keys):
            _check_unique(out, keys, entry.id)
        out = self._sealed(entry.id, out)
        if reason:  # everything recomputed: the table takes the contract's schema as it is now
            self._written(run, self.lakehouse.rewrite(entry.id, out, meta, checkpoints))
            return
        evolve = self._evolves(entry.id, out, table)
        if mode is RefreshMode.MERGE:
            result = self.lakehouse.merge(
                entry.id, out, keys, checkpoints, meta, entry.spec.build.refresh.sequence_by, evolve
            )
        elif mode is RefreshMode.APPEND:
            result = self.lakehouse.append(entry.id, out, checkpoints, meta, evolve)
        else:
            result = self.lakehouse.replace(entry.id, out, plan.predicate, checkpoints, meta, evolve)
        self._written(run, result)

    def _register_inputs(
        self,
        entry: ProductEntry,
        engine: Engine,
        mode: RefreshMode,
        current: dict[str, int],
        last: dict[str, int | None],
        run: ProductRun,
    ) -> InputPlan:
        """Register each input as a view; says which rows a replace covers, or that nothing is affected."""
        only = next(iter(current)) if len(current) == 1 else None
        incremental = (
            only is not None
            and last[only] is not None
            and self.lakehouse.exists(entry.id)
            and mode in (RefreshMode.MERGE, RefreshMode.PARTITIONS, RefreshMode.APPEND)
        )
        by = entry.spec.build.refresh.by
        if incremental and only is not None and mode is not RefreshMode.PARTITIONS:
            added = self.lakehouse.appended(only, int(last[only] or 0), current[only])
            if added is not None:  # the input only appended: its new files are the changes
                register_revealed(engine, only, added, self.protector)
                run.rows_read = int(engine.query(f"SELECT count(*) AS n FROM {only}")["n"][0].as_py())
                return InputPlan()
        changes = None
        if incremental and only is not None:
            changes = self._changes_since(entry, mode, only, last[only], current[only], engine)
        if changes is None or only is None:
            for product, version in current.items():
                register_revealed(engine, product, self.lakehouse.scan(product, as_of=version), self.protector)
                run.rows_read += self.lakehouse.table(product, version).count()
            return InputPlan(complete=True)
        if mode is not RefreshMode.PARTITIONS:
            # filtered in the engine: Arrow's own kernels do not all take the feed's string_view columns
            kept = "_change_type IN ('insert', 'update_postimage')"
            register_revealed(engine, only, changes, self.protector, where=kept, exclude=CDF_COLUMNS)
            run.rows_read = int(engine.query(f"SELECT count(*) AS n FROM {only}")["n"][0].as_py())
            return InputPlan()
        assert by is not None
        if by not in changes.column_names:
            raise LakemeshError(f"{entry.id}: refresh.by column '{by}' is not a column of input {only}")
        affected = pc.unique(plain(changes[by])).drop_null()
        run.details["affected"] = len(affected)
        if len(affected) == 0:
            return InputPlan(nothing_affected=True)
        values = ", ".join(lit(str(v)) for v in affected.to_pylist())
        scan = self.lakehouse.scan(only, as_of=current[only])
        register_revealed(engine, only, scan, self.protector, where=f"{q(by)} IN ({values})")
        run.rows_read = changes.num_rows
        return InputPlan(predicate=f"{by} IN ({values})")

    def _changes_since(
        self, entry: ProductEntry, mode: RefreshMode, product: str, last: int | None, current: int, engine: Engine
    ) -> pa.Table | None:
        """The input's change feed after `last`; None when an erasure purged it, so the input is read in full
        (a merge or a partition recompute converges on the same table; an append would duplicate rows)."""
        by = entry.spec.build.refresh.by
        needed = [by] if mode is RefreshMode.PARTITIONS and by else self._columns_needed(entry, product, engine)
        try:
            return self.lakehouse.changes(product, int(last or 0) + 1, current, needed)
        except HistoryPurgedError as exc:
            if mode is RefreshMode.APPEND:
                raise LakemeshError(
                    f"{entry.id}: {exc.message}; an append product cannot catch up without it",
                    f"rebuild it from full reads: `lakemesh run --full-refresh {entry.id}`",
                ) from exc
            return None

    def _apply_changes(
        self,
        entry: ProductEntry,
        table: Table,
        current: dict[str, int],
        last: dict[str, int | None],
        checkpoints: dict[str, int],
        meta: dict[str, str],
        run: ProductRun,
    ) -> None:
        """refresh mode cdc: the input's new change events, folded per key and merged (`lakemesh.cdc.apply`)."""
        from lakemesh.cdc.apply import apply_changes
        from lakemesh.cdc.events import BRONZE_SCHEMA

        if len(current) != 1:
            raise LakemeshError(f"{entry.id}: refresh mode cdc applies the events of exactly one input")
        ((source, version),) = current.items()
        first = last[source]
        events = None
        if first is not None and self.lakehouse.exists(entry.id):
            try:
                changes = self.lakehouse.changes(source, first + 1, version, BRONZE_SCHEMA.names)
                kept = pc.equal(plain(changes["_change_type"]), "insert")
                events = pa.table({n: plain(changes[n]) for n in BRONZE_SCHEMA.names}).filter(kept)
            except HistoryPurgedError:
                events = None  # every event again: folding them all converges on the same rows
        if events is None:
            events = self.lakehouse.table(source, version).to_pyarrow_table(columns=BRONZE_SCHEMA.names)
        run.rows_read = events.num_rows
        refresh = entry.spec.build.refresh
        exists = self.lakehouse.exists(entry.id)

        def screen(rows: pa.Table) -> pa.Table:  # the quality gate, on the rows about to be upserted
            return self._sealed(entry.id, self._gated(entry, table, rows, run, checkpoints, partial=exists))

        held = {"events": 0}

        def hold(rows: pa.Table) -> None:  # events that do not fit the contract: quarantined once (own marks)
            held["events"] = self._quarantine(entry.id, rows, {f"{a}:misfits": v for a, v in checkpoints.items()}, run)

        result = apply_changes(
            self.lakehouse,
            entry.id,
            table,
            events,
            checkpoints,
            meta,
            refresh.deletes,
            refresh.deleted_at,
            refresh.source_table,
            screen,
            hold,
        )
        self._written(run, result)
        run.quarantined += held["events"]

    def _columns_needed(self, entry: ProductEntry, product: str, engine: Engine) -> list[str] | None:
        """The input columns a SQL transform names: the change feed need not read the others (`_raw`)."""
        transform = entry.spec.build.transform
        if transform is None or transform.sql is None:
            return None
        available = self.lakehouse.dataset(product).schema.names
        return columns_read(load_sql(entry, [product], engine.dialect), engine.dialect, available)

    def _compute(self, entry: ProductEntry, table: Table, engine: Engine, current: dict[str, int]) -> pa.Table:
        transform = entry.spec.build.transform
        assert transform is not None
        where = f"{entry.id} ({transform.sql or transform.python})"
        if transform.sql is not None:
            sql = load_sql(entry, list(current), engine.dialect)
            try:
                produced = engine.columns(sql)
                return engine.query(f"SELECT {shape_output(table, produced, where)} FROM ({sql})")
            except LakemeshError as exc:
                raise TransformError(f"{where}: {exc.message}", exc.hint) from exc
        function = load_python(entry)
        inputs = {p: engine.query(f"SELECT * FROM {p}") for p in current}
        result = as_arrow(function(inputs), where)
        engine.register("lakemesh.python_result", result)
        return engine.query(f"SELECT {shape_output(table, result.column_names, where)} FROM lakemesh.python_result")

    # quality gates --------------------------------------------------------------------------------

    def _gated(
        self,
        entry: ProductEntry,
        table: Table,
        data: pa.Table,
        run: ProductRun,
        checkpoints: dict[str, int] | None,
        partial: bool,
        whole: bool = False,
        engine: Engine | None = None,
    ) -> pa.Table:
        """The rows that may be committed: raises on a blocking failure, moves quarantined rows aside first.

        `partial`: the rows update a larger table (an incremental merge or partition replace), so
        statistics of the whole table are not judged on them. `whole`: the rows are everything the inputs
        give (a full recompute), so what they reject replaces the quarantine instead of adding to it: rows
        rejected by an earlier run are rejected again here, not kept twice.
        """
        suite = expectations_of(table.raw, entry.spec.layer.value)
        if entry.spec.layer is Layer.BRONZE:
            # raw data keeps its duplicates by design and silver enforces the key: grouping every batch by
            # it was a fifth of bronze ingestion time; `quality check` still reports repeated keys
            kept = [e for e in suite.expectations if not (e.implicit and e.where == "primaryKey")]
            if len(kept) < len(suite.expectations):
                run.details["not_gated"] = "primary key uniqueness (raw data; see `lakemesh quality check`)"
            suite.expectations[:] = kept
        if not suite.expectations:
            return data
        try:
            outcome = gate(entry.id, data, suite, run.run_id, self.engine_name, partial, engine)
        except QualityGateError as exc:
            run.quality = exc.report
            raise
        run.quality = outcome.report
        rejected = outcome.quarantined
        if rejected is None and whole and self.lakehouse.exists(quarantine_id(entry.id)):
            rejected = pa.schema(self.lakehouse.table(quarantine_id(entry.id)).schema().to_arrow()).empty_table()
        if rejected is not None:
            run.quarantined = self._quarantine(entry.id, rejected, checkpoints, run, replace=whole)
        return outcome.passing

    def _quarantine(
        self,
        product_id: str,
        rows: pa.Table,
        checkpoints: dict[str, int] | None,
        run: ProductRun,
        replace: bool = False,
    ) -> int:
        """Append rejected rows to the quarantine table (`replace`: they become its content), before the
        product's commit and exactly once.

        Transforms: the quarantine commit carries the same input checkpoints as the product's will, so a
        rerun after a crash between the two commits finds them there and does not write the rows again.
        Bronze: rows of a source file already in quarantine are not written twice.
        """
        qid = quarantine_id(product_id)
        meta = {"lakemesh.run": run.run_id, "lakemesh.quarantine_of": product_id}
        if "_row" in rows.column_names:  # a CDC batch's row numbers (`cdc.apply`): not data
            rows = rows.drop_columns(["_row"])
        if checkpoints is not None:
            if self.lakehouse.exists(qid) and all(
                self.lakehouse.checkpoint(qid, a) == v for a, v in checkpoints.items()
            ):
                return 0
        elif "_source_file" in rows.column_names and not replace:
            done = ingested_files(self.lakehouse, qid)
            if done:
                files = plain(rows["_source_file"].cast(pa.string()))
                rows = rows.filter(pc.invert(pc.is_in(files, pa.array(sorted(done)))))
        exists = self.lakehouse.exists(qid)
        if replace and exists:
            self.lakehouse.replace(qid, self._sealed(qid, rows), None, checkpoints or {}, meta, evolve=True)
            return rows.num_rows
        if rows.num_rows == 0:
            return 0
        self.lakehouse.append(qid, self._sealed(qid, rows), checkpoints or {}, meta, exists)
        return rows.num_rows

    # shared ---------------------------------------------------------------------------------------

    def _unforgotten(self, entry: ProductEntry, data: pa.Table, run: ProductRun) -> pa.Table:
        """The rows without those of erased data subjects: a replayed source or a rebuild from an input
        whose subject keys were shredded must not bring them back."""
        if self.suppress is None:
            return data
        data, dropped = self.suppress(entry, data)
        if dropped:
            run.details["erased_subject_rows_skipped"] = dropped
        return data

    def _sealed(self, table_id: str, data: pa.Table) -> pa.Table:
        """The rows as they are stored: protected columns encrypted."""
        return self.protector.encrypt(table_id, data) if self.protector else data

    def _evolves(self, product_id: str, data: pa.Table, table: Table) -> bool:
        if not self.lakehouse.exists(product_id):
            return False
        clear = self.protector.stored_in_clear(self.lakehouse, product_id) if self.protector else []
        if clear:  # new rows would be sealed beside clear ones, or not fit the table's type at all
            raise SchemaMismatch(
                f"{product_id}: {', '.join(clear)} encrypted by policy now, but the table holds it in clear",
                "encrypt the rows already written first: `lakemesh governance encrypt`, then run again",
            )
        return evolution(self.lakehouse.dataset(product_id).schema, data.schema, table, product_id)

    @staticmethod
    def _written(run: ProductRun, result: WriteResult) -> None:
        run.status = RunStatus.SUCCEEDED
        run.output_version = result.version
        run.rows_written = result.rows_written
        run.inserted, run.updated, run.deleted = result.inserted, result.updated, result.deleted


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _gate_proved_unique(run: ProductRun, keys: list[str]) -> bool:
    """Whether the quality gate already found the batch's primary key unique, at a severity that would
    have stopped the run otherwise: checking again would cost a second grouping of the batch."""
    unique = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
    return run.quality is not None and any(
        r.type in unique and r.severity == "error" and set(r.columns) == set(keys) and r.status is CheckStatus.PASSED
        for r in run.quality.results
    )


def _check_unique(data: pa.Table, keys: list[str], product_id: str) -> None:
    counts = data.group_by(keys).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts["count_all"], 1))
    if dupes.num_rows:
        example = {k: dupes[k][0].as_py() for k in keys}
        raise LakemeshError(
            f"{product_id}: the transform produced {dupes.num_rows} primary-key values more than once, e.g. {example}",
            "deduplicate in the SQL (e.g. QUALIFY row_number() OVER (PARTITION BY key ...) = 1)",
        )
