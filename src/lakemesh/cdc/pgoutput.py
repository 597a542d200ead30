"""The pgoutput logical replication protocol (version 1), decoded into changes with typed values.

Messages (all integers big-endian): Begin `B` (final LSN, commit time, xid), Commit `C`, Relation `R`
(the columns of a table, sent before its first change and after every schema change), Type `Y`,
Origin `O`, Insert `I`, Update `U`, Delete `D`, Truncate `T`. A tuple's column is `n` (NULL), `u`
(an unchanged TOAST value: not sent, never a NULL) or `t` (the value as text, in the output format of
the session: the reader pins DateStyle ISO, TimeZone UTC, bytea hex).

Under REPLICA IDENTITY DEFAULT an update or delete carries only the key columns of the old row (`K`);
the other columns are absent, which `Change.before` records by leaving them out, never as NULL.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED = object()  # an unchanged TOAST value: the column keeps what it held


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
class Change:
    """One row change: `op` c (insert), u (update), d (delete), t (truncate)."""

    op: str
    relation: Relation
    after: dict[str, Any] | None = None
    before: dict[str, Any] | None = None  # only the columns the old image carried
    relations: list[Relation] = field(default_factory=list)  # truncate: every table it emptied


def pg_time(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


class Decoder:
    """Stateful: Relation messages tell the columns of later changes to the same table."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}

    def decode(self, payload: bytes) -> Begin | Commit | Relation | Change | Message | None:
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
            if kind in (b"I", b"U", b"D"):
                return self._change(kind, payload)
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
        return relation

    def _change(self, kind: bytes, payload: bytes) -> Change:
        (oid,) = struct.unpack_from(">I", payload, 1)
        relation = self.relations[oid]
        pos = 5
        before: dict[str, Any] | None = None
        after: dict[str, Any] | None = None
        marker = payload[pos : pos + 1]
        if marker in (b"K", b"O"):
            values, pos = _tuple(payload, pos + 1, relation)
            # K: a key-only image, whose other columns come as NULL markers that mean "not sent"
            before = {k: values[k] for k in relation.key} if marker == b"K" else values
            marker = payload[pos : pos + 1]
        if marker == b"N":
            after, pos = _tuple(payload, pos + 1, relation)
        op = {b"I": "c", b"U": "u", b"D": "d"}[kind]
        return Change(op, relation, after, before)

    def _truncate(self, payload: bytes) -> Change:
        (count,) = struct.unpack_from(">I", payload, 1)
        oids = struct.unpack_from(f">{count}I", payload, 6)
        relations = [self.relations[o] for o in oids]
        return Change("t", relations[0], relations=relations)


def _string(payload: bytes, pos: int) -> tuple[str, int]:
    end = payload.index(b"\0", pos)
    return payload[pos:end].decode(), end + 1


def _tuple(payload: bytes, pos: int, relation: Relation) -> tuple[dict[str, Any], int]:
    (ncols,) = struct.unpack_from(">H", payload, pos)
    pos += 2
    values: dict[str, Any] = {}
    for i in range(ncols):
        kind = payload[pos : pos + 1]
        pos += 1
        column = relation.columns[i]
        if kind == b"n":
            values[column.name] = None
        elif kind == b"u":
            values[column.name] = UNCHANGED
        elif kind == b"t":
            (length,) = struct.unpack_from(">I", payload, pos)
            pos += 4
            values[column.name] = parse_text(payload[pos : pos + length].decode(), column.type_oid)
            pos += length
        else:
            raise ProtocolError(f"unknown tuple column kind {kind!r} in {relation.name}.{column.name}")
    return values, pos


# --- values: PostgreSQL's text output (DateStyle ISO, TimeZone UTC) to Python ----------------------------

BOOL, BYTEA, INT8, INT2, INT4, TEXT, FLOAT4, FLOAT8, NUMERIC = 16, 17, 20, 21, 23, 25, 700, 701, 1700
DATE, TIMESTAMP, TIMESTAMPTZ = 1082, 1114, 1184


def parse_text(text: str, type_oid: int) -> Any:
    """A value in PostgreSQL's text output format as the Python value of its type; numeric as Decimal."""
    if type_oid in (INT2, INT4, INT8, 26):
        return int(text)
    if type_oid == NUMERIC:
        return Decimal(text)  # never a float: exact
    if type_oid in (FLOAT4, FLOAT8):
        return float(text)
    if type_oid == BOOL:
        return text == "t"
    if type_oid == DATE:
        return date.fromisoformat(text) if "BC" not in text and not text.startswith("infinity") else text
    if type_oid == TIMESTAMP:
        return _timestamp(text, aware=False)
    if type_oid == TIMESTAMPTZ:
        return _timestamp(text, aware=True)
    if type_oid == BYTEA:
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    return text


def _timestamp(text: str, aware: bool) -> datetime | str:
    if text in ("infinity", "-infinity") or "BC" in text:
        return text  # no Python datetime holds these: kept as PostgreSQL wrote them
    parsed = datetime.fromisoformat(text)  # ISO with a space; offsets such as +00 (Python 3.11+)
    return parsed.astimezone(UTC) if aware else parsed


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


class FastDecoder(Decoder):
    """Changes as JSON text for bronze: the hot path of the stream."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: dict[int, list[tuple[str, int]]] = {}

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

    def _relation(self, payload: bytes) -> Relation:
        relation = super()._relation(payload)
        self.writers.pop(relation.oid, None)  # a schema change: rebuild the writers
        return relation
