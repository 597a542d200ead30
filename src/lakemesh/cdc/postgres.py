"""Reading PostgreSQL changes by logical replication: checks, publication and slot, snapshot, stream.

The replication connection pins DateStyle ISO, TimeZone UTC and bytea hex, so every value pgoutput sends
as text parses one way. A slot created with an exported snapshot gives a consistent initial read: the
snapshot's rows, then exactly the changes committed after it.
"""

from __future__ import annotations

import os
import re
import select
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from lakemesh.cdc.events import ChangeEvent, EventColumns
from lakemesh.cdc.pgoutput import Begin, Commit, Decoder, Message, Relation, Truncate
from lakemesh.errors import LakemeshError
from lakemesh.spec.models import PostgresCdcSource

MARKER_PREFIX = "lakemesh.drain"
SESSION = "-c DateStyle=ISO -c TimeZone=UTC -c bytea_output=hex -c extra_float_digits=3"


class CdcError(LakemeshError):
    """Change data capture cannot proceed; the message names what and the hint says how to fix it."""


def lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _expand(url: str) -> str:
    """`${NAME}` in a URL is read from the environment, so passwords stay out of the workspace."""

    def value(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise CdcError(f"environment variable {m.group(1)} (named in the CDC url) is not set")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{(\w+)\}", value, url)


def _safe_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())[:60]


@dataclass
class CdcConfig:
    url: str
    tables: list[str]
    publication: str
    slot: str
    snapshot: str
    batch_size: int
    flush_seconds: float

    @classmethod
    def of(cls, product_id: str, source: PostgresCdcSource) -> CdcConfig:
        name = _safe_name(f"lakemesh_{product_id}")
        tables = [t if "." in t else f"public.{t}" for t in source.tables]
        return cls(
            _expand(source.url),
            tables,
            source.publication or name,
            source.slot or name,
            source.snapshot,
            source.batch_size,
            source.flush_seconds,
        )


def connect(url: str, replication: bool = False) -> Any:
    factory = psycopg2.extras.LogicalReplicationConnection if replication else None
    try:
        return psycopg2.connect(url, connection_factory=factory, options=SESSION)
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0]
        if replication and "replication" in str(exc).lower():
            raise CdcError(
                f"cannot open a replication connection: {first}",
                "the role needs the REPLICATION attribute (ALTER ROLE <user> WITH REPLICATION) and pg_hba.conf "
                "must allow its replication connections",
            ) from exc
        raise CdcError(
            f"cannot connect to the CDC source: {first}", "check build.source.url and that the server is up"
        ) from exc


def preflight(conn: Any, config: CdcConfig) -> None:
    """Every reason logical replication would fail, as a clear error with the fix."""
    with conn.cursor() as cur:
        cur.execute("SHOW wal_level")
        (level,) = cur.fetchone()
        if level != "logical":
            raise CdcError(
                f"wal_level is '{level}' on the source: logical replication needs 'logical'",
                "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL",
            )
        cur.execute("SELECT rolreplication OR rolsuper, current_user FROM pg_roles WHERE rolname = current_user")
        allowed, user = cur.fetchone()
        if not allowed:
            raise CdcError(f"role {user} may not start replication", f"ALTER ROLE {user} WITH REPLICATION")
        for table in config.tables:
            cur.execute("SELECT to_regclass(%s)", (table,))
            if cur.fetchone()[0] is None:
                raise CdcError(f"source table {table} does not exist", "fix build.source.tables")
            cur.execute(
                "SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)",
                (table,),
            )
            identity, has_pk = cur.fetchone()
            if identity == "n" or (identity == "d" and not has_pk):
                raise CdcError(
                    f"source table {table} has no primary key or replica identity: its updates and deletes "
                    "cannot name the row they change",
                    f"add a primary key, or ALTER TABLE {table} REPLICA IDENTITY FULL",
                )


def ensure_publication(conn: Any, config: CdcConfig) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (config.publication,))
        tables = ", ".join(_quote_table(t) for t in config.tables)
        if cur.fetchone() is None:
            cur.execute(f"CREATE PUBLICATION {_ident(config.publication)} FOR TABLE {tables}")
            return
        cur.execute(
            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s", (config.publication,)
        )
        present = {r[0] for r in cur.fetchall()}
        missing = [t for t in config.tables if t not in present]
        if missing:
            added = ", ".join(_quote_table(t) for t in missing)
            cur.execute(f"ALTER PUBLICATION {_ident(config.publication)} ADD TABLE {added}")


def slot_info(conn: Any, slot: str) -> dict[str, Any] | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT slot_name, plugin, active, confirmed_flush_lsn::text, restart_lsn::text, "
            "pg_current_wal_lsn()::text, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
            "FROM pg_replication_slots WHERE slot_name = %s",
            (slot,),
        )
        row = cur.fetchone()
    if row is None:
        return None
    keys = ("slot", "plugin", "active", "confirmed_lsn", "restart_lsn", "current_lsn", "lag_bytes")
    return dict(zip(keys, row, strict=True))


def drop_slot(conn: Any, slot: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_drop_replication_slot(%s) FROM pg_replication_slots WHERE slot_name = %s", (slot, slot))


def emit_marker(conn: Any, token: str) -> None:
    """A message in the WAL after every change committed so far: the reader drains up to it."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_logical_emit_message(false, %s, %s)", (MARKER_PREFIX, token))


def create_slot(repl: Any, slot: str, export: bool) -> tuple[int, str | None]:
    """Create the slot; (its consistent point, the exported snapshot's name when `export`)."""
    with repl.cursor() as cur:
        mode = "EXPORT_SNAPSHOT" if export else "NOEXPORT_SNAPSHOT"
        try:
            cur.execute(f"CREATE_REPLICATION_SLOT {_ident(slot)} LOGICAL pgoutput {mode}")
        except psycopg2.Error as exc:
            raise CdcError(f"cannot create replication slot {slot}: {str(exc).strip().splitlines()[0]}") from exc
        _, consistent, snapshot, _ = cur.fetchone()
    high, low = consistent.split("/")
    return (int(high, 16) << 32) + int(low, 16), snapshot


def snapshot_rows(
    url: str, snapshot: str, tables: list[str], consistent_lsn: int, chunk: int = 50_000
) -> Iterator[list[ChangeEvent]]:
    """The exported snapshot's rows as `r` events, read in chunks by a server-side cursor per table."""
    conn = connect(url)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
        seq = 0
        for table in tables:
            schema, name = table.split(".", 1)
            with conn.cursor(name=f"lakemesh_snapshot_{seq}", cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.itersize = chunk
                cur.execute(f"SELECT * FROM {_quote_table(table)}")
                while True:
                    rows = cur.fetchmany(chunk)
                    if not rows:
                        break
                    events = []
                    for row in rows:
                        events.append(
                            ChangeEvent(
                                "r", schema, name, consistent_lsn, seq, consistent_lsn, snapshot="true", after=dict(row)
                            )
                        )
                        seq += 1
                    yield events
        conn.commit()
    finally:
        conn.close()


@dataclass
class Position:
    """The last event durably in bronze: its transaction's commit LSN and its place in that transaction."""

    commit_lsn: int = 0
    seq: int = -1

    def covers(self, commit_lsn: int, seq: int) -> bool:
        """Whether the event at (commit_lsn, seq) is in bronze already (a transaction sent again)."""
        return (commit_lsn, seq) <= (self.commit_lsn, self.seq)


Flush = Callable[[EventColumns], None]


class Stream:
    """The changes after the slot's confirmed position, fed to `flush` in batches; the slot is told a
    transaction is done only after the batch holding its end was flushed."""

    def __init__(self, repl: Any, config: CdcConfig, durable: Position, check_relation: Callable[[Relation], None]):
        self.repl = repl
        self.config = config
        self.durable = durable
        self.check_relation = check_relation
        self.decoder = Decoder()
        self.cursor = repl.cursor()
        self.buffer = EventColumns()
        self.txn: Begin | None = None
        self.seq = 0
        self.acked = 0  # end LSN of the last transaction acknowledged to the slot
        self.complete_end = 0  # end LSN of the last transaction wholly received
        self.events = 0
        self.skipped = 0
        self.marker: str | None = None
        self.txn_ms = 0
        self.drained = False
        self.marker_lsn = 0

    def start(self) -> None:
        try:
            self.cursor.start_replication(
                slot_name=self.config.slot,
                decode=False,
                options={"proto_version": "1", "publication_names": self.config.publication, "messages": "true"},
            )
        except psycopg2.Error as exc:
            first = str(exc).strip().splitlines()[0]
            if "does not exist" in first:
                raise CdcError(
                    f"replication slot {self.config.slot} does not exist (dropped?): changes since the last "
                    "committed LSN may be lost",
                    "run `lakemesh cdc reset PRODUCT` to take a new snapshot",
                ) from exc
            raise CdcError(f"cannot start replication: {first}") from exc

    def run(self, flush: Flush, marker: str | None, stop: Callable[[], bool], idle_timeout: float = 1.0) -> None:
        """Read until the drain `marker` message arrives (every change committed before it is in), or `stop()`.

        The slot is acknowledged only up to the end of transactions whose events are in bronze, and to
        the marker once everything before it is: never to a keepalive's WAL position, which may be
        ahead of what was received.
        """
        import time

        last_flush = time.monotonic()
        self.marker = marker
        while not self.drained:
            try:
                msg = self.cursor.read_message()
            except psycopg2.Error as exc:
                raise CdcError(
                    f"the replication connection was lost: {str(exc).strip().splitlines()[0]}",
                    "run again: the stream resumes after the last committed LSN",
                ) from exc
            if msg is not None:
                self._handle(msg.payload)
                if len(self.buffer) >= self.config.batch_size or (
                    self.buffer and self.txn is None and time.monotonic() - last_flush >= self.config.flush_seconds
                ):
                    self._flush(flush)
                    last_flush = time.monotonic()
                continue
            if self.buffer and self.txn is None:  # idle: write what is whole
                self._flush(flush)
                last_flush = time.monotonic()
            if stop():
                return
            select.select([self.repl], [], [], idle_timeout)
        if self.buffer:
            self._flush(flush)
        if self.marker_lsn > self.acked:
            self.cursor.send_feedback(flush_lsn=self.marker_lsn, force=True)
            self.acked = self.marker_lsn

    def _handle(self, payload: bytes) -> None:
        kind = payload[:1]
        if kind in (b"I", b"U", b"D"):
            txn = self.txn
            if txn is None:
                return
            seq = self.seq
            self.seq += 1
            if self.durable.covers(txn.final_lsn, seq):
                self.skipped += 1  # replayed after a restart inside this transaction: already in bronze
                return
            op, relation, before, after, unchanged = self.decoder.change_json(payload)
            self.buffer.add(
                op,
                before,
                after,
                unchanged,
                relation.schema,
                relation.name,
                txn.final_lsn,
                txn.final_lsn,
                seq,
                txn.xid,
                self.txn_ms,
            )
            return
        message = self.decoder.decode(payload)
        if isinstance(message, Begin):
            self.txn, self.seq = message, 0
            self.txn_ms = int(message.commit_time.timestamp() * 1000)
        elif isinstance(message, Commit):
            self.txn = None
            self.complete_end = message.end_lsn
        elif isinstance(message, Relation):
            self.check_relation(message)
        elif isinstance(message, Message):
            if message.prefix == MARKER_PREFIX and message.content.decode() == self.marker:
                self.drained, self.marker_lsn = True, message.lsn
        elif isinstance(message, Truncate) and self.txn is not None:
            for relation in message.relations:
                seq = self.seq
                self.seq += 1
                if self.durable.covers(self.txn.final_lsn, seq):
                    self.skipped += 1
                    continue
                self.buffer.add(
                    "t",
                    None,
                    None,
                    [],
                    relation.schema,
                    relation.name,
                    self.txn.final_lsn,
                    self.txn.final_lsn,
                    seq,
                    self.txn.xid,
                    self.txn_ms,
                )

    def _flush(self, flush: Flush) -> None:
        batch, self.buffer = self.buffer, EventColumns()
        flush(batch)
        self.events += len(batch)
        self.durable = Position(*batch.last_position)
        # acknowledged: the transactions wholly received (and so wholly in bronze now); never one still open
        if self.complete_end > self.acked:
            self.cursor.send_feedback(flush_lsn=self.complete_end, force=True)
            self.acked = self.complete_end


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_table(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{_ident(schema)}.{_ident(name)}"
