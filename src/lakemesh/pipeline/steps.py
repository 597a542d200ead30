"""What every written batch goes through: a tuple of small steps, each `(batch, rows) -> rows`, applied in order.

`BATCH_STEPS` runs in this order, and the order matters:
1. `drop_erased_subjects`: first, so an erased subject's rows reach neither the gate's quarantine nor the table;
2. `quality_gate`: on the rows in clear, so expectations judge values, never ciphertext;
3. `unique_keys`: a merge's key is unique in the batch (unless the gate proved it already);
4. `seal`: protected columns encrypted, as they are stored;
5. `evolve_schema`: whether the commit may widen the stored table, decided on the sealed rows (as written).

Bronze ingestion and transforms apply `BATCH_STEPS`; the CDC apply path `CDC_STEPS`, the same less
`unique_keys` and `evolve_schema` (see there why). Each step is `(batch, rows) -> rows` and testable alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakemesh.engines import DEFAULT_ENGINE, Engine, Protector
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse, WriteResult, plain
from lakemesh.pipeline.columns import SchemaMismatch, evolution
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.quality.gate import QualityGateError, gate, quarantine_id
from lakemesh.quality.results import CheckStatus
from lakemesh.sources.files import ingested_files
from lakemesh.spec.expectations import expectations_of
from lakemesh.spec.models import Layer
from lakemesh.spec.odcs import Table
from lakemesh.spec.workspace import ProductEntry

# drops the rows of erased data subjects from a batch: (kept rows, how many were dropped)
Suppressor = Callable[[ProductEntry, pa.Table], tuple[pa.Table, int]]


@dataclass(frozen=True)
class RunServices:
    """What the steps call out to, the same for every product of a run; None: not in use."""

    engine: str = DEFAULT_ENGINE  # the engine the gate and transforms run on
    suppress: Suppressor | None = None  # erased subjects' rows dropped (governance.erasure.suppress)
    protector: Protector | None = None  # protected columns encrypted on write, decrypted for transforms


@dataclass
class Batch:
    """One product's batch on its way to a commit: where it goes, how it is written, and what the steps decided.

    `partial`: the rows update a larger table (an incremental merge or partition replace), so statistics of
    the whole table are not judged on them. `whole`: the rows are everything the inputs give (a full
    recompute), so what the gate rejects replaces the quarantine instead of adding to it. `rewrite`: the
    commit replaces the table with the contract's schema as it is now, so there is no evolution to decide.
    """

    entry: ProductEntry
    table: Table  # the contract's table
    run: ProductRun
    lakehouse: Lakehouse
    services: RunServices
    checkpoints: dict[str, int] | None = None  # transforms: the input versions the commit carries
    partial: bool = False
    whole: bool = False
    rewrite: bool = False
    merge_keys: tuple[str, ...] = ()  # a merge on these keys: each must be unique in the batch
    engine: Engine | None = None  # an open engine the gate may reuse
    evolve: bool = False  # decided by `evolve_schema`: the commit may add columns to the table

    @property
    def product_id(self) -> str:
        return self.entry.id


Step = Callable[[Batch, pa.Table], pa.Table]


def drop_erased_subjects(batch: Batch, rows: pa.Table) -> pa.Table:
    """The rows without those of erased data subjects: a replayed source or a rebuild from an input
    whose subject keys were shredded must not bring them back."""
    suppress = batch.services.suppress
    if suppress is None:
        return rows
    rows, dropped = suppress(batch.entry, rows)
    if dropped:
        batch.run.details["erased_subject_rows_skipped"] = dropped
    return rows


def quality_gate(batch: Batch, rows: pa.Table) -> pa.Table:
    """The rows that may be committed: raises on a blocking failure, moves quarantined rows aside first."""
    entry, run = batch.entry, batch.run
    suite = expectations_of(batch.table.raw, entry.spec.layer.value)
    if entry.spec.layer is Layer.BRONZE:
        # raw data keeps its duplicates by design and silver enforces the key: grouping every batch by
        # it was a fifth of bronze ingestion time; `quality check` still reports repeated keys
        kept = [e for e in suite.expectations if not (e.implicit and e.where == "primaryKey")]
        if len(kept) < len(suite.expectations):
            run.details["not_gated"] = "primary key uniqueness (raw data; see `lakemesh quality check`)"
        suite.expectations[:] = kept
    if not suite.expectations:
        return rows
    try:
        outcome = gate(entry.id, rows, suite, run.run_id, batch.services.engine, batch.partial, batch.engine)
    except QualityGateError as exc:
        run.quality = exc.report
        raise
    run.quality = outcome.report
    rejected = outcome.quarantined
    qid = quarantine_id(entry.id)
    if rejected is None and batch.whole and batch.lakehouse.exists(qid):
        rejected = pa.schema(batch.lakehouse.table(qid).schema().to_arrow()).empty_table()
    if rejected is not None:
        run.quarantined = quarantine(batch, rejected, batch.checkpoints, replace=batch.whole)
    return outcome.passing


def unique_keys(batch: Batch, rows: pa.Table) -> pa.Table:
    """A merge's batch holds each key once (the gate may have proved it already): MERGE would fail later
    on the duplicates with a message naming neither the product nor the rows."""
    keys = list(batch.merge_keys)
    if not keys or _gate_proved_unique(batch.run, keys):
        return rows
    counts = rows.group_by(keys).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts["count_all"], 1))
    if dupes.num_rows:
        example = {k: dupes[k][0].as_py() for k in keys}
        raise LakemeshError(
            f"{batch.product_id}: the transform produced {dupes.num_rows} primary-key values more than once, "
            f"e.g. {example}",
            "deduplicate in the SQL (e.g. QUALIFY row_number() OVER (PARTITION BY key ...) = 1)",
        )
    return rows


def seal(batch: Batch, rows: pa.Table) -> pa.Table:
    """The rows as they are stored: protected columns encrypted (when the mesh has a protector)."""
    return _sealed(batch.services.protector, batch.product_id, rows)


def evolve_schema(batch: Batch, rows: pa.Table) -> pa.Table:
    """Decides `batch.evolve`: whether the rows may add columns to the stored table. Refuses rows that
    would be sealed beside clear ones written before a policy encrypted their column."""
    lakehouse, pid = batch.lakehouse, batch.product_id
    if batch.rewrite or not lakehouse.exists(pid):
        batch.evolve = False
        return rows
    protector = batch.services.protector
    clear = protector.stored_in_clear(lakehouse, pid) if protector else []
    if clear:  # new rows would be sealed beside clear ones, or not fit the table's type at all
        raise SchemaMismatch(
            f"{pid}: {', '.join(clear)} encrypted by policy now, but the table holds it in clear",
            "encrypt the rows already written first: `lakemesh governance encrypt`, then run again",
        )
    batch.evolve = evolution(lakehouse.dataset(pid).schema, rows.schema, batch.table, pid)
    return rows


BATCH_STEPS: tuple[Step, ...] = (drop_erased_subjects, quality_gate, unique_keys, seal, evolve_schema)
# The CDC apply path screens the folded upserts (`cdc.apply`): their keys are unique by construction (one
# row per key after folding) and the MERGE it builds decides schema evolution from the contract itself.
CDC_STEPS: tuple[Step, ...] = (drop_erased_subjects, quality_gate, seal)


def apply_steps(steps: tuple[Step, ...], batch: Batch, rows: pa.Table) -> pa.Table:
    """The rows after each step in turn: what is committed."""
    for step in steps:
        rows = step(batch, rows)
    return rows


def quarantine(batch: Batch, rows: pa.Table, checkpoints: dict[str, int] | None, replace: bool = False) -> int:
    """Append rejected rows to the quarantine table (`replace`: they become its content), before the
    product's commit and exactly once; how many were written.

    Transforms: the quarantine commit carries the same input checkpoints as the product's will, so a
    rerun after a crash between the two commits finds them there and does not write the rows again.
    Bronze: rows of a source file already in quarantine are not written twice.
    """
    lakehouse, qid = batch.lakehouse, quarantine_id(batch.product_id)
    meta = {"lakemesh.run": batch.run.run_id, "lakemesh.quarantine_of": batch.product_id}
    if "_row" in rows.column_names:  # a CDC batch's row numbers (`cdc.apply`): not data
        rows = rows.drop_columns(["_row"])
    exists = lakehouse.exists(qid)
    if checkpoints is not None:
        if exists and all(lakehouse.checkpoint(qid, a) == v for a, v in checkpoints.items()):
            return 0
    elif "_source_file" in rows.column_names and not replace:
        done = ingested_files(lakehouse, qid)
        if done:
            files = plain(rows["_source_file"].cast(pa.string()))
            rows = rows.filter(pc.invert(pc.is_in(files, pa.array(sorted(done)))))
    protector = batch.services.protector
    if replace and exists:
        lakehouse.replace(qid, _sealed(protector, qid, rows), None, checkpoints or {}, meta, evolve=True)
        return rows.num_rows
    if rows.num_rows == 0:
        return 0
    lakehouse.append(qid, _sealed(protector, qid, rows), checkpoints or {}, meta, exists)
    return rows.num_rows


def written(run: ProductRun, result: WriteResult) -> None:
    """The run's outcome from its commit."""
    run.status = RunStatus.SUCCEEDED
    run.output_version = result.version
    run.rows_written = result.rows_written
    run.inserted, run.updated, run.deleted = result.inserted, result.updated, result.deleted


def _sealed(protector: Protector | None, table_id: str, rows: pa.Table) -> pa.Table:
    return protector.encrypt(table_id, rows) if protector else rows


def _gate_proved_unique(run: ProductRun, keys: list[str]) -> bool:
    """Whether the quality gate already found the batch's primary key unique, at a severity that would
    have stopped the run otherwise: checking again would cost a second grouping of the batch."""
    unique = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
    return run.quality is not None and any(
        r.type in unique and r.severity == "error" and set(r.columns) == set(keys) and r.status is CheckStatus.PASSED
        for r in run.quality.results
    )
