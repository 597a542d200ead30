"""The pgoutput logical replication protocol (version 1), decoded into change events as JSON text.

Messages (all integers big-endian): Begin `B` (final LSN, commit time, xid), Commit `C`, Relation `R`
(the columns of a table, sent before its first change and after every schema change), Type `Y`,
Origin `O`, Message `M`, Insert `I`, Update `U`, Delete `D`, Truncate `T`. A tuple's column is `n`
(NULL), `u` (an unchanged TOAST value: not sent, never a NULL) or `t` (the value as text, in the output
format of the session: the reader pins DateStyle ISO, TimeZone UTC, bytea hex).

Tuples go straight to JSON text, the stream's hot path: numbers and booleans as JSON values; numeric,
dates and times as their exact text, never a float; strings escaped by the C JSON encoder. Under
REPLICA IDENTITY DEFAULT an update or delete carries only the key columns of the old row (`K`); the
other columns are left out of `before`, never written as NULL.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class ProtocolError(ValueError):
    """A message that is not valid pgoutput."""


@dataclass
class Column:
    name: str
    type_oid: int
    key: bool


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    replica_identity: str  # d default, n nothing, f full, i index
    columns: list[Column]

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.columns if c.key]


@dataclass
class Begin:
    final_lsn: int  # the LSN of the transaction's commit record
    commit_time: datetime
    xid: int


@dataclass
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_time: datetime


@dataclass
class Message:
    """A logical decoding message (`pg_logical_emit_message`), e.g. the reader's drain marker."""

    lsn: int
    prefix: str
    content: bytes


@dataclass
class Truncate:
    """A TRUNCATE of one or more tables."""

    relations: list[Relation] = field(default_factory=list)


def pg_time(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


class Decoder:
    """Stateful: Relation messages tell the columns of later changes to the same table."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self.writers: dict[int, list[tuple[str, int]]] = {}

    def decode(self, payload: bytes) -> Begin | Commit | Relation | Truncate | Message | None:
        """Every message but a row change (`change_json` decodes those)."""
        kind = payload[:1]
        try:
            if kind == b"B":
                final_lsn, ts, xid = struct.unpack_from(">QqI", payload, 1)
                return Begin(final_lsn, pg_time(ts), xid)
            if kind == b"C":
                _, commit_lsn, end_lsn, ts = struct.unpack_from(">BQQq", payload, 1)
                return Commit(commit_lsn, end_lsn, pg_time(ts))
            if kind == b"R":
                return self._relation(payload)
            if kind == b"T":
                return self._truncate(payload)
            if kind == b"M":
                _flags, lsn = struct.unpack_from(">BQ", payload, 1)
                prefix, pos = _string(payload, 10)
                (length,) = struct.unpack_from(">I", payload, pos)
                return Message(lsn, prefix, payload[pos + 4 : pos + 4 + length])
            if kind in (b"Y", b"O"):
                return None  # types are read from the relation's OIDs; origins are not changes
        except (struct.error, IndexError, KeyError) as exc:
            raise ProtocolError(f"malformed pgoutput message {kind!r}: {exc}") from exc
        raise ProtocolError(f"unknown pgoutput message {kind!r}")

    def _relation(self, payload: bytes) -> Relation:
        (oid,) = struct.unpack_from(">I", payload, 1)
        pos = 5
        schema, pos = _string(payload, pos)
        name, pos = _string(payload, pos)
        identity = chr(payload[pos])
        (ncols,) = struct.unpack_from(">H", payload, pos + 1)
        pos += 3
        columns = []
        for _ in range(ncols):
            flags = payload[pos]
            col_name, pos = _string(payload, pos + 1)
            type_oid, _typmod = struct.unpack_from(">Ii", payload, pos)
            pos += 8
            columns.append(Column(col_name, type_oid, bool(flags & 1)))
        relation = Relation(oid, schema, name, identity, columns)
        self.relations[oid] = relation
        self.writers.pop(oid, None)  # a schema change: rebuild the JSON writers
        return relation

    def change_json(self, payload: bytes) -> tuple[str, Relation, str | None, str | None, list[str]]:
        """(op, relation, before JSON, after JSON, unchanged columns) of an I/U/D message."""
        kind = payload[:1]
        (oid,) = struct.unpack_from(">I", payload, 1)
        relation = self.relations[oid]
        writers = self.writers.get(oid)
        if writers is None:
            writers = self.writers[oid] = _json_writers(relation)
        pos = 5
        before = after = None
        unchanged: list[str] = []
        marker = payload[pos : pos + 1]
        if marker in (b"K", b"O"):
            before, _, pos = tuple_json(payload, pos + 1, relation, writers, marker == b"K")
            marker = payload[pos : pos + 1]
        if marker == b"N":
            after, unchanged, pos = tuple_json(payload, pos + 1, relation, writers, False)
        op = "c" if kind == b"I" else "u" if kind == b"U" else "d"
        if op == "d" and before is None:
            before = "{}"
        return op, relation, before, after, unchanged

    def _truncate(self, payload: bytes) -> Truncate:
        (count,) = struct.unpack_from(">I", payload, 1)
        oids = struct.unpack_from(f">{count}I", payload, 6)
        return Truncate([self.relations[o] for o in oids])


def _string(payload: bytes, pos: int) -> tuple[str, int]:
    end = payload.index(b"\0", pos)
    return payload[pos:end].decode(), end + 1


# --- row changes: tuples straight to JSON text ---------------------------------------------------------------

BOOL, BYTEA, INT8, INT2, INT4, TEXT, FLOAT4, FLOAT8, NUMERIC = 16, 17, 20, 21, 23, 25, 700, 701, 1700
DATE, TIMESTAMP, TIMESTAMPTZ = 1082, 1114, 1184


# --- the fast path: tuples straight to JSON text, no Python value in between ------------------------------

_NUMBER_OIDS = {INT2, INT4, INT8, 26}
_QUOTED_EXACT = {NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ}  # digits and punctuation only: no escaping needed


def _json_writers(relation: Relation) -> list[tuple[str, int]]:
    """Per column: its JSON key (`"name":`) and how to write its text: 0 raw number, 1 bool, 2 quoted
    as is, 3 escaped string, 4 float (quoted when not finite)."""
    out = []
    for c in relation.columns:
        key = _escape(c.name) + ":"
        if c.type_oid in _NUMBER_OIDS:
            out.append((key, 0))
        elif c.type_oid == BOOL:
            out.append((key, 1))
        elif c.type_oid in _QUOTED_EXACT:
            out.append((key, 2))
        elif c.type_oid in (FLOAT4, FLOAT8):
            out.append((key, 4))
        else:
            out.append((key, 3))
    return out


def tuple_json(
    payload: bytes, pos: int, relation: Relation, writers: list[tuple[str, int]], keys_only: bool
) -> tuple[str, list[str], int]:
    """(JSON object text, names of unchanged TOAST columns, next position) of a TupleData.

    `keys_only`: a key-only old image, whose other columns are NULL markers meaning "not sent".
    """
    (ncols,) = struct.unpack_from(">H", payload, pos)
    pos += 2
    parts: list[str] = []
    unchanged: list[str] = []
    columns = relation.columns
    for i in range(ncols):
        kind = payload[pos]
        pos += 1
        if kind == 110:  # n
            if not keys_only or columns[i].key:
                parts.append(writers[i][0] + "null")
        elif kind == 117:  # u
            unchanged.append(columns[i].name)
        elif kind == 116:  # t
            (length,) = struct.unpack_from(">I", payload, pos)
            pos += 4
            if keys_only and not columns[i].key:
                pos += length
                continue
            key, how = writers[i]
            raw = payload[pos : pos + length]
            pos += length
            if how == 0:
                parts.append(key + raw.decode())
            elif how == 1:
                parts.append(key + ("true" if raw == b"t" else "false"))
            elif how == 2:
                parts.append(key + '"' + raw.decode() + '"')
            elif how == 4:
                text = raw.decode()
                parts.append(key + (text if text not in ("NaN", "Infinity", "-Infinity") else '"' + text + '"'))
            else:
                parts.append(key + _escape(raw.decode()))
        else:
            raise ProtocolError(f"unknown tuple column kind {bytes([kind])!r} in {relation.name}.{columns[i].name}")
    return "{" + ",".join(parts) + "}", unchanged, pos


def _escape(text: str) -> str:
    return str(encode_basestring(text))
