"""`lakemesh cdc run`: PostgreSQL changes into a bronze product, exactly once.

Each bronze commit carries the position of its last event as Delta app transactions
(`lakemesh:cdc:<slot>:commit` = the transaction's commit LSN, `...:seq` = the event's place in it), and
the slot is acknowledged only after that commit, up to the last transaction wholly in bronze. A slot
resumes at a transaction boundary, so after a crash a transaction may be sent again: its events at or
before the durable position are skipped. The initial snapshot is one commit (`...:snapshot`); a crash
during it leaves nothing, and the next run takes a new snapshot from a new slot.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from lakemesh.catalog.records import RunRecord, RunStatus
from lakemesh.cdc.events import EventColumns, bronze_rows
from lakemesh.cdc.pgoutput import Relation
from lakemesh.cdc.postgres import (
    CdcConfig,
    CdcError,
    Position,
    Stream,
    connect,
    create_slot,
    drop_slot,
    emit_marker,
    ensure_publication,
    lsn_text,
    preflight,
    slot_info,
    snapshot_rows,
)
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.spec.models import PostgresCdcSource
from lakemesh.spec.workspace import ProductEntry
from lakemesh.sql import cdc_apps

Progress = Callable[[str, int], None]


# the snapshot app transaction: done, under way (chunks committed; the attempt's LSN in `...:snapshot-lsn`), reset
SNAPSHOT_DONE, SNAPSHOT_UNDER_WAY, SNAPSHOT_RESET = 1, 2, 0


class CaptureReport(BaseModel):
    """One capture: snapshot rows, change events, commits, the LSN reached (`cdc run --json`)."""

    product_id: str
    run_id: str
    snapshot_rows: int = 0
    events: int = 0
    skipped: int = 0  # replayed events already in bronze
    commits: int = 0
    seconds: float = 0.0
    position: str = ""
    details: dict[str, object] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def events_per_second(self) -> float:
        total = self.events + self.snapshot_rows
        return total / self.seconds if self.seconds > 0 else 0.0


def cdc_source(entry: ProductEntry) -> PostgresCdcSource:
    source = entry.spec.build.source
    if not isinstance(source, PostgresCdcSource):
        raise LakemeshError(f"{entry.id} has no postgres-cdc source", "set build.source.type: postgres-cdc")
    return source


def durable_position(lakehouse: Lakehouse, product_id: str, slot: str) -> tuple[Position, bool]:
    commit_app, seq_app, snapshot_app = cdc_apps(slot)
    if not lakehouse.exists(product_id):
        return Position(), False
    table = lakehouse.table(product_id)
    commit, seq = table.transaction_version(commit_app), table.transaction_version(seq_app)
    snapshot_done = table.transaction_version(snapshot_app) == SNAPSHOT_DONE
    return Position(commit or 0, seq if seq is not None else -1), snapshot_done


def capture(
    entry: ProductEntry,
    lakehouse: Lakehouse,
    once: bool = True,
    stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> CaptureReport:
    """Snapshot if needed, then stream changes into the bronze table until drained (`once`) or stopped."""
    config = CdcConfig.of(entry.id, cdc_source(entry))
    report = CaptureReport(product_id=entry.id, run_id=str(uuid.uuid4()))
    started = time.perf_counter()
    commit_app, seq_app, _ = cdc_apps(config.slot)
    columns = _contract_columns(entry)
    conn = connect(config.url)
    conn.autocommit = True
    repl = None
    try:
        preflight(conn, config)
        ensure_publication(conn, config)
        durable, snapshot_done = durable_position(lakehouse, entry.id, config.slot)
        info = slot_info(conn, config.slot)
        if info is None and (durable.commit_lsn or snapshot_done):
            raise CdcError(
                f"replication slot {config.slot} is gone, but {entry.id} has read from it up to "
                f"{lsn_text(durable.commit_lsn)}: changes since then may be lost",
                f"run `lakemesh cdc reset {entry.id}` to start over with a new snapshot",
            )
        if info is not None and info.get("active"):
            raise CdcError(f"replication slot {config.slot} is in use by another reader", "stop the other `cdc run`")
        if not snapshot_done:
            # an earlier first run died during its snapshot: its slot and the rows it wrote go, it starts over
            if info is not None:
                drop_slot(conn, config.slot)
                info = None
            _discard_partial_snapshot(lakehouse, entry.id, config.slot)
        repl = connect(config.url, replication=True)
        if info is None:
            consistent, snapshot = create_slot(repl, config.slot, export=config.snapshot == "initial")
            report.snapshot_rows = _snapshot(entry.id, lakehouse, config, snapshot, consistent, report, progress)

        def check(relation: Relation) -> None:
            table = f"{relation.schema}.{relation.name}"
            unknown = [c.name for c in relation.columns if columns and c.name not in columns]
            if unknown:
                raise CdcError(
                    f"source table {table} now has column(s) {', '.join(unknown)} that the contract of "
                    f"{entry.id} does not declare: the stream is paused, nothing after it was written",
                    "add the column(s) to the contract (optional, so tables evolve), then run again",
                )

        def flush(batch: EventColumns) -> None:
            commit, seq = batch.last_position
            checkpoints = {commit_app: commit, seq_app: seq}
            meta = {"lakemesh.run": report.run_id, "lakemesh.cdc": f"{len(batch)} events"}
            lakehouse.append(entry.id, batch.to_table(report.run_id, datetime.now(UTC)), checkpoints, meta)
            report.commits += 1
            if progress:
                progress("stream", len(batch))

        stream = Stream(repl, config, durable, check)
        stream.start()
        marker = None
        if once:
            marker = str(uuid.uuid4())
            emit_marker(conn, marker)
        stream.run(flush, marker, stop)
        report.events, report.skipped = stream.events, stream.skipped
        report.position = lsn_text(stream.durable.commit_lsn)
    finally:
        if repl is not None:
            repl.close()
        conn.close()
        report.seconds = time.perf_counter() - started
    return report


def _snapshot(
    product_id: str,
    lakehouse: Lakehouse,
    config: CdcConfig,
    snapshot: str | None,
    consistent: int,
    report: CaptureReport,
    progress: Progress | None,
) -> int:
    """The initial rows, a commit per chunk (memory stays bounded), then the mark that it is done.

    Each chunk's commit says the snapshot is under way and at which LSN its rows are: a run that dies in
    between leaves rows a later run can find and remove before it starts over.
    """
    _, _, snapshot_app = cdc_apps(config.slot)
    lsn_app = snapshot_app + "-lsn"
    rows = 0
    meta = {"lakemesh.run": report.run_id, "lakemesh.cdc": f"snapshot at {lsn_text(consistent)}"}
    if snapshot is not None:
        for chunk in snapshot_rows(config.url, snapshot, config.tables, consistent):
            marks = {snapshot_app: SNAPSHOT_UNDER_WAY, lsn_app: consistent}
            lakehouse.append(product_id, bronze_rows(chunk, report.run_id, datetime.now(UTC)), marks, meta)
            report.commits += 1
            rows += len(chunk)
            if progress:
                progress("snapshot", len(chunk))
    empty = bronze_rows([], report.run_id, datetime.now(UTC))
    lakehouse.append(product_id, empty, {snapshot_app: SNAPSHOT_DONE, lsn_app: consistent}, meta)
    return rows


def _discard_partial_snapshot(lakehouse: Lakehouse, product_id: str, slot: str) -> None:
    """Remove the rows of a snapshot that did not finish (all carry its LSN), in one commit."""
    if not lakehouse.exists(product_id):
        return
    _, _, snapshot_app = cdc_apps(slot)
    table = lakehouse.table(product_id)
    if table.transaction_version(snapshot_app) != SNAPSHOT_UNDER_WAY:
        return
    lsn = table.transaction_version(snapshot_app + "-lsn")
    meta = {"lakemesh.cdc": "discarding an unfinished snapshot"}
    lakehouse.delete(
        product_id, f"op = 'r' AND source_commit_lsn = {int(lsn or 0)}", {snapshot_app: SNAPSHOT_RESET}, meta
    )


def _contract_columns(entry: ProductEntry) -> set[str]:
    if entry.contract is None:
        return set()
    return {c.name for t in entry.contract.tables for c in t.columns}


def reset(entry: ProductEntry, lakehouse: Lakehouse) -> None:
    """Forget the slot: drop it and mark the bronze table, so the next run takes a new snapshot.

    Bronze keeps every event it holds; the new snapshot's reads upsert silver to the source's state.
    """
    config = CdcConfig.of(entry.id, cdc_source(entry))
    conn = connect(config.url)
    conn.autocommit = True
    try:
        info = slot_info(conn, config.slot)
        if info is not None and info.get("active"):
            raise CdcError(f"replication slot {config.slot} is in use", "stop the running `cdc run` first")
        drop_slot(conn, config.slot)
    finally:
        conn.close()
    if lakehouse.exists(entry.id):
        commit_app, seq_app, snapshot_app = cdc_apps(config.slot)
        empty = bronze_rows([], "reset", datetime.now(UTC))
        marks = {commit_app: 0, seq_app: 0, snapshot_app: SNAPSHOT_RESET}
        lakehouse.append(entry.id, empty, marks, {"lakemesh.cdc": "reset: the next run takes a new snapshot"})


class SlotState(BaseModel):
    """The replication slot as the server sees it."""

    model_config = ConfigDict(frozen=True)

    slot: str
    plugin: str
    active: bool
    confirmed_lsn: str | None
    restart_lsn: str | None
    current_lsn: str
    lag_bytes: int | None


class CdcRun(BaseModel):
    """The last recorded capture run of a CDC product: when, how it ended, what it moved."""

    model_config = ConfigDict(frozen=True)

    at: datetime | None
    status: RunStatus
    error: str | None = None
    snapshot_rows: int = 0
    events: int = 0
    skipped: int = 0
    commits: int = 0
    position: str | None = None
    events_per_second: float = 0.0

    @classmethod
    def of(cls, run: RunRecord) -> CdcRun:
        """From the catalog's record of a run of kind `cdc` (its counts kept in `details`)."""
        counts = {k: v for k, v in run.details.items() if k in cls.model_fields}
        return cls(at=run.finished_at, status=run.status, error=run.error, **counts)


class CdcStatus(BaseModel):
    """A CDC product's slot, publication and tables, the position bronze holds, and the last run."""

    model_config = ConfigDict(frozen=True)

    product: str
    slot: str
    publication: str
    tables: list[str]
    snapshot_done: bool
    bronze_position: str
    slot_state: SlotState | None  # None: no slot on the server (the first run creates it)
    last_run: CdcRun | None = None  # filled by the mesh from the catalog


def status(entry: ProductEntry, lakehouse: Lakehouse) -> CdcStatus:
    """The slot as the server sees it and the position bronze holds."""
    config = CdcConfig.of(entry.id, cdc_source(entry))
    durable, snapshot_done = durable_position(lakehouse, entry.id, config.slot)
    conn = connect(config.url)
    try:
        slot = slot_info(conn, config.slot)
    finally:
        conn.close()
    return CdcStatus(
        product=entry.id,
        slot=config.slot,
        publication=config.publication,
        tables=list(config.tables),
        snapshot_done=snapshot_done,
        bronze_position=lsn_text(durable.commit_lsn),
        slot_state=SlotState.model_validate(slot) if slot is not None else None,
    )
