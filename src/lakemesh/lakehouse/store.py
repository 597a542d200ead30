"""Delta tables of products on delta-rs: write, merge, replace, change feed, history, restore, maintenance.

Every change is one Delta commit. Checkpoints travel in the same commit as the data (Delta app
transactions), so a crash leaves either the old version or the new one with its checkpoint: a rerun
neither loses nor duplicates rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from deltalake import ColumnProperties, CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from lakemesh.errors import NotFoundError
from lakemesh.lakehouse import parallel_writer
from lakemesh.lakehouse.base import (
    ConcurrentWriteError,
    HistoryPurgedError,
    LakehouseError,
    MergeClause,
    ParquetScan,
    TableStore,
    WriteResult,
)
from lakemesh.lakehouse.results import CompactionResult, RestoreResult, TableVersion
from lakemesh.spec.problems import did_you_mean

if TYPE_CHECKING:
    import pyarrow.dataset as ds

TABLE_PROPERTIES = {"delta.enableChangeDataFeed": "true"}
CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
# a table with more files than this gets compacted after a write
AUTO_COMPACT_FILES = 64
# errors of delta-rs that can still escape through a `DeltaTable` handed out by `Lakehouse.table`: for the
# runner and the CLI to report, without naming deltalake
NATIVE_ERRORS: tuple[type[Exception], ...] = (DeltaError,)
# Delta's default retention: a vacuum keeping less may delete files a running reader or time travel needs
MIN_RETAIN_HOURS = 168


_PLAIN_BLOCKERS = {"deletionVectors", "columnMapping"}
_LOG_RETENTION = "delta.logRetentionDuration"
_DEFAULT_LOG_RETENTION = "interval 30 days"


def check_as_of(table: DeltaTable, product_id: str, as_of: int | str | datetime) -> None:
    """One clear line for a version or time the table does not have (delta-rs would say it in
    delta-kernel's words, or silently read version 0 for a time before the table existed)."""
    if isinstance(as_of, int):
        latest = table.version()
        if as_of < 0:
            raise LakehouseError(f"{product_id}: version {as_of} does not exist: versions start at 0")
        if as_of > latest:
            have = f"has versions 0..{latest}" if latest else "has only version 0"
            raise LakehouseError(f"{product_id} {have}; {as_of} does not exist", "see `lakemesh history`")
        return
    try:
        when = datetime.fromisoformat(as_of.replace("Z", "+00:00")) if isinstance(as_of, str) else as_of
    except ValueError as exc:
        raise LakehouseError(f"{product_id}: '{as_of}' is neither a version number nor an ISO timestamp") from exc
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # a time without a zone is UTC
    oldest = table.history()[-1]
    first = datetime.fromtimestamp(int(oldest["timestamp"]) / 1000, UTC)
    if when < first:
        if int(oldest["version"]) > 0:
            raise HistoryPurgedError(
                f"{product_id}: the versions before {first.isoformat(timespec='milliseconds')} were purged"
                " by an erasure or retention",
                "`lakemesh history` lists the versions left",
            )
        raise LakehouseError(
            f"{product_id} did not exist at {when.isoformat()}: its first commit was at "
            f"{first.isoformat(timespec='milliseconds')}",
            "see `lakemesh history`",
        )


def _travel(table: DeltaTable, product_id: str, as_of: int | str | datetime) -> None:
    """Load the version `as_of` names (a number or a time) into `table`."""
    check_as_of(table, product_id, as_of)
    try:
        table.load_as_version(as_of)
    except (DeltaError, ValueError) as exc:
        if "No files in log segment" in str(exc):
            raise HistoryPurgedError(
                f"{product_id}: version {as_of} was purged by an erasure or retention",
                "`lakemesh history` lists the versions left",
            ) from exc
        # the cause (delta-kernel's own words) stays chained for --debug
        raise LakehouseError(f"{product_id} cannot be read as of {as_of}", "see `lakemesh history`") from exc


def _commit(checkpoints: dict[str, int], metadata: dict[str, str], exclusive: bool = False) -> CommitProperties:
    txns = [Transaction(app_id, version) for app_id, version in checkpoints.items()]
    retries = 0 if exclusive else None  # no retry on top of another writer's commit: the caller re-reads
    return CommitProperties(app_transactions=txns or None, custom_metadata=metadata or None, max_commit_retries=retries)


# row numbers (bronze's `_record`): delta-encoded they take almost no space, where plain encoding of
# 10M distinct integers cost 80 MB and 7% of a bronze write
SEQUENCE_COLUMNS = ("_record",)


def _writer_properties(schema: pa.Schema) -> WriterProperties | None:
    sequences = [c for c in SEQUENCE_COLUMNS if c in schema.names and pa.types.is_integer(schema.field(c).type)]
    if not sequences:
        return None
    packed = ColumnProperties(dictionary_enabled=False, encoding="DELTA_BINARY_PACKED")
    return WriterProperties(column_properties=dict.fromkeys(sequences, packed))


def _size(path: str) -> int:
    """A local file's size; 0 for object stores, where listing sizes would cost a request per file."""
    local = Path(path.removeprefix("file://"))
    return local.stat().st_size if "://" not in path.removeprefix("file://") and local.exists() else 0


def doctor_hint(product_id: str) -> str:
    return f"run `lakemesh doctor {product_id}` to see what is damaged and how to recover"


def damaged_log(product_id: str, uri: str, exc: Exception) -> LakehouseError:
    """The error for a table whose log cannot be read: a file missing, truncated or unreadable."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LakehouseError(
        f"{product_id}: the Delta log of its table at {uri} cannot be read ({first})", doctor_hint(product_id)
    )


def local_path(uri: str) -> Path | None:
    """The local file behind a table file URI; None on an object store."""
    bare = uri.removeprefix("file://")
    return None if "://" in bare else Path(bare)


class Lakehouse:
    """The Delta tables of one mesh: product `domain.name` lives at `<root>/<domain>/<name>`."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        # versions whose files tags need: vacuum and retention keep them, an erasure does not (`purge_history`)
        self.kept_versions: Callable[[str], list[int]] = lambda _product_id: []
        if "://" not in self.root:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def uri(self, product_id: str) -> str:
        domain, name = product_id.split(".", 1)
        return f"{self.root}/{domain}/{name}"

    def exists(self, product_id: str) -> bool:
        return bool(DeltaTable.is_deltatable(self.uri(product_id)))

    def table(self, product_id: str, as_of: int | str | datetime | None = None) -> DeltaTable:
        """The product's table, at a version or a timestamp when `as_of` is given."""
        if isinstance(as_of, int) and as_of >= 0:
            try:  # straight to the version (a pinned read): no replay of the newest log first
                return DeltaTable(self.uri(product_id), version=as_of)
            except (DeltaError, OSError, ValueError):
                pass  # the path below says what is wrong in one line
        try:
            table = DeltaTable(self.uri(product_id))
        except TableNotFoundError as exc:
            raise NotFoundError(f"{product_id} has no table yet", f"build it with `lakemesh run {product_id}`") from exc
        except (DeltaError, OSError) as exc:
            raise damaged_log(product_id, self.uri(product_id), exc) from exc
        if as_of is not None:
            _travel(table, product_id, as_of)
        return table

    def version(self, product_id: str) -> int | None:
        return self.table(product_id).version() if self.exists(product_id) else None

    def current_versions(self, product_ids: list[str]) -> dict[str, int]:
        """The newest version of each product that has a table: on local storage the highest commit file
        in its log (a directory listing, no log replay: publishing a mesh version stays cheap)."""
        out = {}
        for pid in product_ids:
            log = local_path(f"{self.uri(pid)}/_delta_log")
            names = [p.name for p in log.iterdir()] if log is not None and log.is_dir() else []
            commits = [int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()]
            version = self.version(pid) if log is None else max(commits, default=None)
            if version is not None:
                out[pid] = version
        return out

    def dataset(self, product_id: str, as_of: int | str | datetime | None = None) -> ds.Dataset:
        table = self.table(product_id, as_of)
        self.require_files(product_id, table)
        return table.to_pyarrow_dataset()

    def scan(self, product_id: str, as_of: int | str | datetime | None = None) -> ParquetScan | ds.Dataset:
        """What an engine reads for a table version: its Parquet files when they are the table, else a dataset."""
        table = self.table(product_id, as_of)
        self.require_files(product_id, table)
        files = self._plain_files(table)
        if not files:
            return table.to_pyarrow_dataset()
        return ParquetScan(files, pa.schema(table.schema().to_arrow()))

    def require_files(self, product_id: str, table: DeltaTable) -> None:
        """A LakehouseError naming the first data file of this version that is gone from local storage."""
        for uri in table.file_uris():
            path = local_path(uri)
            if path is not None and not path.exists():
                raise LakehouseError(
                    f"{product_id}: data file {path.name} of version {table.version()} is missing from {path.parent}",
                    doctor_hint(product_id),
                )

    def _plain_files(self, table: DeltaTable) -> tuple[str, ...] | None:
        """The version's Parquet files when they hold its rows exactly, else None."""
        features = set(table.protocol().reader_features or ())
        config = table.metadata().configuration or {}
        plain_files = (
            not table.metadata().partition_columns
            and not features & _PLAIN_BLOCKERS
            and config.get("delta.columnMapping.mode", "none") == "none"
            and "://" not in self.root
        )
        return tuple(table.file_uris()) if plain_files else None

    def appended(self, product_id: str, after: int, upto: int) -> ParquetScan | None:
        """The rows versions after+1..upto added, as the Parquet files holding exactly them, when those
        versions only added rows (appends, or compactions of what they appended); None otherwise.

        It is what the change feed's inserts would be, without decoding the feed: a consumer reads the
        files with its own reader, only the columns it needs.
        """
        try:
            before, now = self.table(product_id, after), self.table(product_id, upto)
        except LakehouseError:
            return None  # purged history: the caller's change-feed read says so
        old, new = self._plain_files(before), self._plain_files(now)
        if old is None or new is None or before.schema() != now.schema():
            return None
        kept = set(old)
        added = tuple(f for f in new if f not in kept)
        if not kept <= set(new) or not added:
            return None  # rows were removed or rewritten: only the change feed tells what changed
        return ParquetScan(added, pa.schema(now.schema().to_arrow()))

    def checkpoint(self, product_id: str, app_id: str) -> int | None:
        """The checkpoint `app_id` last committed with this table's data, or None."""
        if not self.exists(product_id):
            return None
        return self.table(product_id).transaction_version(app_id)

    def changes(self, product_id: str, first: int, last: int, columns: list[str] | None = None) -> pa.Table:
        """Every change in versions first..last from the change data feed (`_change_type` says which).

        `columns` limits what is read (the feed's own columns come along); None reads every column.
        """
        wanted = None if columns is None else [*columns, *CDF_COLUMNS]
        try:
            reader = self.table(product_id).load_cdf(starting_version=first, ending_version=last, columns=wanted)
        except DeltaError as exc:
            if "Invalid table version" in str(exc):
                raise HistoryPurgedError(
                    f"{product_id}: the change feed from version {first} was purged", "read the table in full"
                ) from exc
            raise
        return pa.table(reader.read_all())

    def append(
        self,
        product_id: str,
        data: pa.Table,
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        evolve: bool = False,
    ) -> WriteResult:
        """Append `data` in one commit (creating the table on first write)."""
        self._write(product_id, data, "append", None, checkpoints, metadata, evolve)
        return WriteResult(self.table(product_id).version(), data.num_rows, inserted=data.num_rows)

    def append_at(
        self,
        product_id: str,
        read_version: int | None,
        data: pa.Table,
        metadata: dict[str, str],
        evolve: bool = False,
    ) -> WriteResult:
        """Append `data` as the version right after `read_version` (None: creating the table), the one the
        rows were chosen against; ConcurrentWriteError if another writer committed in between."""
        base = None if read_version is None else self.table(product_id, read_version)
        try:
            self._write(product_id, data, "append", None, {}, metadata, evolve, base)
        except LakehouseError as exc:
            if isinstance(exc.__cause__, CommitFailedError) or (base is None and self.exists(product_id)):
                raise ConcurrentWriteError(
                    f"{product_id} changed while it was being written (another writer committed first)",
                    "nothing was committed; run again",
                ) from exc
            raise
        return WriteResult(self.table(product_id).version(), data.num_rows, inserted=data.num_rows)

    def rewrite(
        self, product_id: str, data: pa.Table, metadata: dict[str, str], checkpoints: dict[str, int] | None = None
    ) -> WriteResult:
        """Replace the whole table, its schema included (a column now stored encrypted, a product rebuilt
        under a changed contract), in one commit; the checkpoints committed before stay, `checkpoints` move."""
        try:
            write_deltalake(
                self.uri(product_id),
                data,
                mode="overwrite",
                schema_mode="overwrite",
                commit_properties=_commit(checkpoints or {}, metadata),
            )
        except (DeltaError, ValueError, pa.ArrowException) as exc:
            raise LakehouseError(f"rewriting {product_id} failed, nothing was committed: {exc}") from exc
        return WriteResult(self.table(product_id).version(), data.num_rows, inserted=data.num_rows)

    def advance(self, product_id: str, checkpoints: dict[str, int], metadata: dict[str, str]) -> int:
        """Commit the checkpoints with no data (inputs read, nothing to change); returns the new version."""
        empty = pa.schema(self.table(product_id).schema().to_arrow()).empty_table()
        self._write(product_id, empty, "append", None, checkpoints, metadata, False)
        return self.table(product_id).version()

    def replace(
        self,
        product_id: str,
        data: pa.Table,
        predicate: str | None,
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        evolve: bool = False,
    ) -> WriteResult:
        """Replace the rows matching `predicate` (all rows when None) with `data`, in one commit."""
        self._write(product_id, data, "overwrite", predicate, checkpoints, metadata, evolve)
        return WriteResult(self.table(product_id).version(), data.num_rows, inserted=data.num_rows)

    def _write(
        self,
        product_id: str,
        data: pa.Table,
        mode: str,
        predicate: str | None,
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        evolve: bool,
        base: DeltaTable | bool | None = False,
    ) -> None:
        """`base`: False for a write on the newest version; a table version (None: no table yet) for an
        exclusive append that commits right after it or not at all."""
        exclusive = base is not False
        creating = base is None if exclusive else not self.exists(product_id)
        options: dict[str, Any] = {
            "schema_mode": "merge" if evolve and not creating else None,
            "configuration": TABLE_PROPERTIES if creating else None,
            "commit_properties": _commit(checkpoints, metadata, exclusive),
            "writer_properties": _writer_properties(data.schema),
        }
        uri = self.uri(product_id)
        target: str | DeltaTable = base if isinstance(base, DeltaTable) else uri
        try:
            if mode == "append" or creating:
                if not evolve and self._parallel_append(product_id, creating, data, checkpoints, metadata, base):
                    return
                write_deltalake(target, data, mode="error" if exclusive and creating else "append", **options)
            else:
                write_deltalake(uri, data, mode="overwrite", predicate=predicate, **options)
        except (DeltaError, ValueError, pa.ArrowException, OSError) as exc:
            raise LakehouseError(f"writing {product_id} failed, nothing was committed: {exc}") from exc

    def _parallel_append(
        self,
        product_id: str,
        creating: bool,
        data: pa.Table,
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        base: DeltaTable | bool | None = False,
    ) -> bool:
        """Append with Parquet encoded on every core (`parallel_writer`) where the table allows; False if not."""
        if data.num_rows < parallel_writer.MIN_ROWS:
            return False  # not worth loading the table to find out
        uri = self.uri(product_id)
        exclusive = base is not False
        table = base if isinstance(base, DeltaTable) else None if creating else self.table(product_id)
        if not parallel_writer.eligible(uri, table, data):
            return False
        parallel_writer.append(
            uri, table, data, TABLE_PROPERTIES, checkpoints, metadata, SEQUENCE_COLUMNS, exclusive=exclusive
        )
        return True

    def merge(
        self,
        product_id: str,
        data: pa.Table,
        keys: list[str],
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        sequence_by: str | None = None,
        evolve: bool = False,
    ) -> WriteResult:
        """MERGE on `keys`: update matched rows (only when newer by `sequence_by`), insert new ones."""
        if not self.exists(product_id):
            return self.append(product_id, data, checkpoints, metadata)
        newer = f's."{sequence_by}" >= t."{sequence_by}"' if sequence_by else None
        clauses = [MergeClause("update", newer), MergeClause("insert")]
        return self.merge_with(product_id, data, keys, clauses, checkpoints, metadata, evolve)

    def merge_with(
        self,
        product_id: str,
        data: pa.Table,
        keys: list[str],
        clauses: list[MergeClause],
        checkpoints: dict[str, int],
        metadata: dict[str, str],
        evolve: bool = False,
    ) -> WriteResult:
        """One MERGE on `keys` (source `s`, target `t`) applying `clauses` in order, in one commit."""
        on = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        before = self.table(product_id).version()
        try:
            merger = self.table(product_id).merge(
                data,
                predicate=on,
                source_alias="s",
                target_alias="t",
                merge_schema=evolve,
                commit_properties=_commit(checkpoints, metadata),
            )
            for c in clauses:
                if c.kind == "delete":
                    merger = merger.when_matched_delete(predicate=c.predicate)
                elif c.kind == "update":
                    if c.updates is None:
                        merger = merger.when_matched_update_all(predicate=c.predicate)
                    else:
                        merger = merger.when_matched_update(updates=c.updates, predicate=c.predicate)
                elif c.updates is None:
                    merger = merger.when_not_matched_insert_all(predicate=c.predicate)
                else:
                    merger = merger.when_not_matched_insert(updates=c.updates, predicate=c.predicate)
            stats: dict[str, Any] = merger.execute()
        except (DeltaError, ValueError, pa.ArrowException) as exc:
            raise LakehouseError(f"merging into {product_id} failed, nothing was committed: {exc}") from exc
        version = self.table(product_id).version()
        if version == before and checkpoints:
            # delta-rs commits nothing for a merge that changes nothing; the checkpoint must still move on,
            # or the next run reads the same changes again (and, after an erasure purge, cannot)
            version = self.advance(product_id, checkpoints, metadata)
        return WriteResult(
            version,
            data.num_rows,
            inserted=int(stats.get("num_target_rows_inserted", 0)),
            updated=int(stats.get("num_target_rows_updated", 0)),
            deleted=int(stats.get("num_target_rows_deleted", 0)),
        )

    def delete(
        self, product_id: str, predicate: str, checkpoints: dict[str, int], metadata: dict[str, str]
    ) -> dict[str, Any]:
        """Delete the rows matching `predicate` (SQL) in one commit carrying `checkpoints`."""
        try:
            return dict(self.table(product_id).delete(predicate, commit_properties=_commit(checkpoints, metadata)))
        except (DeltaError, ValueError) as exc:
            raise LakehouseError(f"deleting from {product_id} failed, nothing was committed: {exc}") from exc

    def history(self, product_id: str, limit: int | None = None) -> list[TableVersion]:
        """The table's commits, newest first; a parallel write's metrics shown as delta-rs's own."""
        try:
            entries = list(self.table(product_id).history(limit))
        except (DeltaError, OSError) as exc:
            raise damaged_log(product_id, self.uri(product_id), exc) from exc
        for entry in entries:
            if parallel_writer.METRICS in entry and not entry.get("operationMetrics"):
                entry["operationMetrics"] = json.loads(entry.pop(parallel_writer.METRICS))
        return [TableVersion.from_commit(entry) for entry in entries]

    def restore(
        self,
        product_id: str,
        version: int | str | datetime,
        checkpoints: dict[str, int] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> RestoreResult:
        """Make `version` the table's content again, in one commit carrying `checkpoints`: app transactions
        are not rolled back by a restore, so the caller says what its readers must know (rebuild)."""
        table = self.table(product_id)
        check_as_of(table, product_id, version)
        if version == table.version():
            raise LakehouseError(f"{product_id} is already at version {version}: nothing to restore")
        try:
            metrics = dict(table.restore(version, commit_properties=_commit(checkpoints or {}, metadata or {})))
        except (DeltaError, ValueError) as exc:
            # the cause (delta-kernel's own words) stays chained for --debug
            raise LakehouseError(f"restoring {product_id} to {version} failed", "see `lakemesh history`") from exc
        return RestoreResult(
            product_id=product_id,
            restored_to=version if isinstance(version, int) else str(version),
            version=self.table(product_id).version(),
            files_restored=int(metrics.get("numRestoredFile", 0)),
            files_removed=int(metrics.get("numRemovedFile", 0)),
        )

    def optimize(self, product_id: str, zorder: list[str] | None = None) -> CompactionResult:
        """Compact small files, or rewrite them clustered by `zorder` columns; one commit."""
        table = self.table(product_id)
        names = pa.schema(table.schema().to_arrow()).names
        for column in zorder or []:
            if column not in names:
                raise LakehouseError(
                    f"{product_id} has no column '{column}'{did_you_mean(column, names)}",
                    f"Z-order by its columns: {', '.join(names)}",
                )
        self.require_files(product_id, table)
        try:
            metrics = table.optimize.z_order(zorder) if zorder else table.optimize.compact()
        except (DeltaError, OSError) as exc:
            raise LakehouseError(
                f"optimizing {product_id} failed, nothing was committed: {exc}", doctor_hint(product_id)
            ) from exc
        version = self.table(product_id).version() if metrics.get("numFilesAdded") else None
        return CompactionResult.from_metrics(product_id, dict(metrics), zorder, version)

    def maybe_compact(self, product_id: str) -> CompactionResult | None:
        """Compact when a table has accumulated many small files."""
        if len(self.table(product_id).file_uris()) > AUTO_COMPACT_FILES:
            return self.optimize(product_id)
        return None

    def files(self, product_id: str) -> dict[str, int]:
        """The data files of the table's current version, with their sizes in bytes."""
        actions = pa.table(self.table(product_id).get_add_actions(flatten=True))
        return dict(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist(), strict=True))

    def purge_history(self, product_id: str, reason: str, keep: bool = False) -> dict[str, int]:
        """Remove every trace of versions before the current one from storage: what erasure needs.

        A delete leaves the rows in the files older versions read, in the change data feed files and in
        the log (column statistics, the delete's predicate). A full vacuum with no retention removes every
        file the current version does not reference, change feed included; a checkpoint then lets the
        log before it be cleaned up, which the table's log retention is set to allow only for that moment.
        Time travel and the change feed start again at the purge.

        `keep` (retention): the versions tags need (`kept_versions`) keep their files and the log.
        """
        table = self.table(product_id)
        kept_versions = self.kept_versions(product_id) if keep else []
        options: dict[str, Any] = {"retention_hours": 0, "enforce_retention_duration": False, "full": True}
        if kept_versions:
            options["keep_versions"] = kept_versions
        stale = table.vacuum(dry_run=True, **options)
        # full vacuum lists data files by absolute path, change feed files relative to the table
        size = sum(_size(f if f.startswith("/") or "://" in f else f"{self.uri(product_id)}/{f}") for f in stale)
        removed = table.vacuum(dry_run=False, **options)
        if kept_versions:  # the tagged versions stay readable: their log stays too
            return {"files_removed": len(removed), "bytes_removed": size, "log_files_removed": 0}
        log = Path(self.uri(product_id)) / "_delta_log"
        before = {p.name for p in log.iterdir()} if log.is_dir() else set()
        kept = (table.metadata().configuration or {}).get(_LOG_RETENTION, _DEFAULT_LOG_RETENTION)
        commit = _commit({}, {"lakemesh.purge": reason})
        table.alter.set_table_properties({_LOG_RETENTION: "interval 0 seconds"}, commit_properties=commit)
        table = self.table(product_id)
        table.create_checkpoint()
        table.cleanup_metadata()
        table.alter.set_table_properties({_LOG_RETENTION: kept}, commit_properties=commit)
        after = {p.name for p in log.iterdir()} if log.is_dir() else set()
        return {"files_removed": len(removed), "bytes_removed": size, "log_files_removed": len(before - after)}

    def vacuum(self, product_id: str, retain_hours: int | None, dry_run: bool, force: bool = False) -> list[str]:
        """Delete files no version of the last `retain_hours` needs, nor a tagged version (`kept_versions`);
        below a week only when `force`d, as Delta."""
        if retain_hours is not None and retain_hours < MIN_RETAIN_HOURS and not force:
            raise LakehouseError(
                f"{product_id}: a retention of {retain_hours} hours is below {MIN_RETAIN_HOURS} hours (7 days), "
                "Delta's safety limit: a reader still on an older version, or time travel to it, would find "
                "its files deleted",
                "pass --force to vacuum anyway, or keep --retain at 168 or more",
            )
        table = self.table(product_id)
        enforce = retain_hours is None or retain_hours >= MIN_RETAIN_HOURS
        keep = self.kept_versions(product_id) or None
        return list(
            table.vacuum(
                retention_hours=retain_hours, dry_run=dry_run, enforce_retention_duration=enforce, keep_versions=keep
            )
        )


if TYPE_CHECKING:  # mypy holds the store to the protocol
    _CONFORMS: TableStore = Lakehouse("")
