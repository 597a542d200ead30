"""What a transform reads: its inputs' versions, and only the rows changed since the versions last read.

Incremental state is the version of each input last read, committed with the output's data as a Delta
app transaction (`lakemesh:<input product>`). A run reads only the input versions after it:
- merge (silver): the rows the inputs' change feed shows inserted or updated, merged on the primary key;
- partitions (gold): the values of `by` those changes touch, recomputed from the input and replaced;
- full: everything, replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakemesh.engines import Engine, register_revealed
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import CDF_COLUMNS, HistoryPurgedError, Lakehouse, plain
from lakemesh.pipeline.steps import Batch
from lakemesh.pipeline.transform import columns_read, load_sql
from lakemesh.spec.models import RefreshMode
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import lit, q


@dataclass(frozen=True)
class InputPlan:
    """What registering the inputs decided: the rows a replace covers (None: all of them), or nothing to do."""

    predicate: str | None = None
    nothing_affected: bool = False
    complete: bool = False  # every input read in full: the output, and what it rejects, is all of it


def input_versions(ws: Workspace, lakehouse: Lakehouse, entry: ProductEntry) -> dict[str, int]:
    """The current version of each input product; an error when one has no table yet."""
    versions: dict[str, int] = {}
    for port in entry.spec.input_ports:
        producer = ws.producer_of(port.contract_id)
        if producer is None:
            raise LakemeshError(f"{entry.id}: no product serves input contract {port.contract_id}")
        version = lakehouse.version(producer)
        if version is None:
            raise LakemeshError(f"{entry.id}: input {producer} has no table yet", f"run `lakemesh run {producer}`")
        versions[producer] = version
    return versions


def register_inputs(
    batch: Batch, engine: Engine, mode: RefreshMode, current: dict[str, int], last: dict[str, int | None]
) -> InputPlan:
    """Register each input as a view; says which rows a replace covers, or that nothing is affected."""
    entry, run, lakehouse, protector = batch.entry, batch.run, batch.lakehouse, batch.services.protector
    only = next(iter(current)) if len(current) == 1 else None
    incremental = (
        only is not None
        and last[only] is not None
        and lakehouse.exists(entry.id)
        and mode in (RefreshMode.MERGE, RefreshMode.PARTITIONS, RefreshMode.APPEND)
    )
    if incremental and only is not None and mode is not RefreshMode.PARTITIONS:
        added = lakehouse.appended(only, int(last[only] or 0), current[only])
        if added is not None:  # the input only appended: its new files are the changes
            register_revealed(engine, only, added, protector)
            run.rows_read = int(engine.query(f"SELECT count(*) AS n FROM {only}")["n"][0].as_py())
            return InputPlan()
    changes = None
    if incremental and only is not None:
        changes = _changes_since(batch, mode, only, last[only], current[only], engine)
    if changes is None or only is None:
        for product, version in current.items():
            register_revealed(engine, product, lakehouse.scan(product, as_of=version), protector)
            run.rows_read += lakehouse.table(product, version).count()
        return InputPlan(complete=True)
    if mode is not RefreshMode.PARTITIONS:
        # filtered in the engine: Arrow's own kernels do not all take the feed's string_view columns
        kept = "_change_type IN ('insert', 'update_postimage')"
        register_revealed(engine, only, changes, protector, where=kept, exclude=CDF_COLUMNS)
        run.rows_read = int(engine.query(f"SELECT count(*) AS n FROM {only}")["n"][0].as_py())
        return InputPlan()
    return _register_affected(batch, engine, only, current[only], changes)


def _register_affected(batch: Batch, engine: Engine, only: str, version: int, changes: pa.Table) -> InputPlan:
    """Partitions: the input's rows in the values of `by` its changes touch, the partitions to recompute."""
    entry, run = batch.entry, batch.run
    by = entry.spec.build.refresh.by
    assert by is not None
    if by not in changes.column_names:
        raise LakemeshError(f"{entry.id}: refresh.by column '{by}' is not a column of input {only}")
    affected = pc.unique(plain(changes[by])).drop_null()
    run.details["affected"] = len(affected)
    if len(affected) == 0:
        return InputPlan(nothing_affected=True)
    values = ", ".join(lit(str(v)) for v in affected.to_pylist())
    scan = batch.lakehouse.scan(only, as_of=version)
    register_revealed(engine, only, scan, batch.services.protector, where=f"{q(by)} IN ({values})")
    run.rows_read = changes.num_rows
    return InputPlan(predicate=f"{by} IN ({values})")


def _changes_since(
    batch: Batch, mode: RefreshMode, product: str, last: int | None, current: int, engine: Engine
) -> pa.Table | None:
    """The input's change feed after `last`; None when an erasure purged it, so the input is read in full
    (a merge or a partition recompute converges on the same table; an append would duplicate rows)."""
    entry = batch.entry
    by = entry.spec.build.refresh.by
    needed = [by] if mode is RefreshMode.PARTITIONS and by else _columns_needed(batch, product, engine)
    try:
        return batch.lakehouse.changes(product, int(last or 0) + 1, current, needed)
    except HistoryPurgedError as exc:
        if mode is RefreshMode.APPEND:
            raise LakemeshError(
                f"{entry.id}: {exc.message}; an append product cannot catch up without it",
                f"rebuild it from full reads: `lakemesh run --full-refresh {entry.id}`",
            ) from exc
        return None


def _columns_needed(batch: Batch, product: str, engine: Engine) -> list[str] | None:
    """The input columns a SQL transform names: the change feed need not read the others (`_raw`)."""
    transform = batch.entry.spec.build.transform
    if transform is None or transform.sql is None:
        return None
    available = batch.lakehouse.dataset(product).schema.names
    return columns_read(load_sql(batch.entry, [product], engine.dialect), engine.dialect, available)


def change_events(batch: Batch, source: str, first: int | None, version: int) -> pa.Table:
    """Refresh mode cdc: the bronze change events the product has not applied (all of them on a first
    build, or when an erasure purged the feed: folding them all again converges on the same rows)."""
    from lakemesh.cdc.events import BRONZE_SCHEMA

    lakehouse = batch.lakehouse
    if first is not None and lakehouse.exists(batch.product_id):
        try:
            changes = lakehouse.changes(source, first + 1, version, BRONZE_SCHEMA.names)
        except HistoryPurgedError:
            changes = None  # read in full below
        if changes is not None:
            kept = pc.equal(plain(changes["_change_type"]), "insert")
            return pa.table({n: plain(changes[n]) for n in BRONZE_SCHEMA.names}).filter(kept)
    return lakehouse.table(source, version).to_pyarrow_table(columns=BRONZE_SCHEMA.names)
