"""Change events in the Debezium envelope: what the reader produces, bronze keeps, and `cdc apply` reads.

An event is `{before, after, op, source: {lsn, txId, schema, table, ts_ms, snapshot, ...}, ts_ms}` with
`op` c (create), u (update), d (delete), r (snapshot read), t (truncate). Bronze keeps every event as a
row; `before`/`after` as JSON text with exact values (decimals as strings, times as ISO 8601 in UTC).
Columns an event did not carry (an unchanged TOAST value, the non-key columns of a key-only old image)
are left out of the JSON and, for `after`, named in `unchanged`: they are never NULLs.

Reading Debezium JSON from Kafka Connect (`{schema, payload}`), the schema says how values are encoded:
every semantic type of Debezium's PostgreSQL connector is decoded (`lakemesh.cdc.debezium_types`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa

from lakemesh.cdc.debezium_types import decode
from lakemesh.errors import LakemeshError

OPS = {"c", "u", "d", "r", "t"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BRONZE_SCHEMA = pa.schema(
    [
        ("op", pa.string()),
        ("before", pa.string()),
        ("after", pa.string()),
        ("unchanged", pa.string()),
        ("source_schema", pa.string()),
        ("source_table", pa.string()),
        ("source_lsn", pa.int64()),
        ("source_commit_lsn", pa.int64()),
        ("source_seq", pa.int64()),
        ("source_tx_id", pa.int64()),
        ("source_ts_ms", pa.int64()),
        ("source_snapshot", pa.string()),
        ("ts_ms", pa.int64()),
        ("_batch_id", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


class EventError(LakemeshError):
    """A change event that cannot be read."""


@dataclass
class ChangeEvent:
    op: str
    schema: str
    table: str
    commit_lsn: int  # the transaction's commit LSN (the slot's position after it)
    seq: int  # the event's place in its transaction: (commit_lsn, seq) orders every event
    lsn: int = 0
    tx_id: int | None = None
    ts_ms: int = 0  # when the source committed it
    snapshot: str = "false"
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    unchanged: tuple[str, ...] = ()  # columns `after` does not carry: keep the current value
    emitted_ms: int = field(default_factory=lambda: int(datetime.now(UTC).timestamp() * 1000))


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: _json_value(v) for k, v in values.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def to_json(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(_plain(values), separators=(",", ":"))


def bronze_rows(events: list[ChangeEvent], batch_id: str, now: datetime) -> pa.Table:
    """Events as bronze rows, in the bronze schema."""
    columns: dict[str, list[Any]] = {name: [] for name in BRONZE_SCHEMA.names}
    for e in events:
        columns["op"].append(e.op)
        columns["before"].append(to_json(e.before))
        columns["after"].append(to_json(e.after))
        columns["unchanged"].append("," + ",".join(e.unchanged) + "," if e.unchanged else None)
        columns["source_schema"].append(e.schema)
        columns["source_table"].append(e.table)
        columns["source_lsn"].append(e.lsn)
        columns["source_commit_lsn"].append(e.commit_lsn)
        columns["source_seq"].append(e.seq)
        columns["source_tx_id"].append(e.tx_id)
        columns["source_ts_ms"].append(e.ts_ms)
        columns["source_snapshot"].append(e.snapshot)
        columns["ts_ms"].append(e.emitted_ms)
        columns["_batch_id"].append(batch_id)
        columns["_ingested_at"].append(now)
    return pa.table(columns, schema=BRONZE_SCHEMA)


# --- reading Debezium JSON (plain payloads or Kafka Connect's {schema, payload}) --------------------------


def parse_lsn(value: Any) -> int:
    """An LSN as an integer, from an integer or PostgreSQL's `16/B374D848` text."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and "/" in value:
        high, low = value.split("/")
        return (int(high, 16) << 32) + int(low, 16)
    return int(value or 0)


def from_debezium(obj: Any, where: str, seq: int) -> ChangeEvent:
    """One Debezium event (plain payload or `{schema, payload}`), values decoded by the schema when given."""
    if not isinstance(obj, dict):
        raise EventError(f"{where}: a change event must be a JSON object")
    fields: dict[str, dict[str, Any]] = {}
    if "payload" in obj and "schema" in obj:
        fields = _value_fields(obj["schema"])
        obj = obj["payload"]
        if not isinstance(obj, dict):
            raise EventError(f"{where}: payload is not an object")
    op = obj.get("op")
    if op not in OPS:
        raise EventError(f"{where}: op must be one of c, u, d, r, t, not {op!r}", "is this a Debezium change event?")
    source = obj.get("source") or {}
    if not isinstance(source, dict):
        raise EventError(f"{where}: source is not an object")
    before, after = obj.get("before"), obj.get("after")
    for name, image in (("before", before), ("after", after)):
        if image is not None and not isinstance(image, dict):
            raise EventError(f"{where}: {name} must be an object or null")
    if op in ("c", "u", "r") and after is None:
        raise EventError(f"{where}: a '{op}' event needs an after image")
    if op == "d" and before is None:
        raise EventError(f"{where}: a delete needs a before image (at least the key)")
    # changes to one row are ordered by their LSN (a row's next change waits for the previous commit);
    # `seq`, the event's place in the file, breaks ties (snapshot reads share one LSN)
    return ChangeEvent(
        op=op,
        schema=str(source.get("schema") or ""),
        table=str(source.get("table") or ""),
        commit_lsn=parse_lsn(source.get("lsn")),
        seq=seq,
        lsn=parse_lsn(source.get("lsn")),
        tx_id=source.get("txId"),
        ts_ms=int(source.get("ts_ms") or 0),
        snapshot=str(source.get("snapshot", "false")).lower(),
        before=_decode(before, fields.get("before", {}), where),
        after=_decode(after, fields.get("after", {}), where),
        emitted_ms=int(obj.get("ts_ms") or 0),
    )


def parse_debezium_lines(lines: Iterable[str | bytes], name: str) -> tuple[list[ChangeEvent], str]:
    """Debezium JSON events, one per line of the file `name`, and a digest of the whole content (the
    same file applied twice is recognised by it). Blank lines are skipped; anything else must parse."""
    events = []
    digest = hashlib.sha256()
    for n, line in enumerate(lines, 1):
        raw = line.encode() if isinstance(line, str) else line
        digest.update(raw)
        text = raw.decode().strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise EventError(f"{name}:{n}: not JSON: {exc}", "one Debezium event per line") from exc
        events.append(from_debezium(obj, f"{name}:{n}", n))
    return events, digest.hexdigest()[:32]


def _value_fields(schema: Any) -> dict[str, dict[str, Any]]:
    """{"before": {column: field schema}, "after": {...}} from a Kafka Connect envelope schema."""
    out: dict[str, dict[str, Any]] = {}
    for f in (schema or {}).get("fields") or []:
        if f.get("field") in ("before", "after"):
            out[f["field"]] = {c["field"]: c for c in f.get("fields") or [] if "field" in c}
    return out


def _decode(image: dict[str, Any] | None, fields: dict[str, dict[str, Any]], where: str) -> dict[str, Any] | None:
    if image is None:
        return None
    return {k: _decode_value(v, fields.get(k), f"{where} {k}") for k, v in image.items()}


def _decode_value(value: Any, spec: dict[str, Any] | None, where: str) -> Any:
    if value is None or spec is None:
        return value
    try:
        return decode(value, spec)
    except (ValueError, TypeError, KeyError, struct.error) as exc:
        raise EventError(f"{where}: cannot decode {value!r} as {spec.get('name') or spec.get('type')}: {exc}") from exc


class EventColumns:
    """Events of the stream kept as the bronze table's columns: no object per event on the hot path."""

    def __init__(self) -> None:
        self.op: list[str] = []
        self.before: list[str | None] = []
        self.after: list[str | None] = []
        self.unchanged: list[str | None] = []
        self.schema: list[str] = []
        self.table: list[str] = []
        self.lsn: list[int] = []
        self.commit_lsn: list[int] = []
        self.seq: list[int] = []
        self.tx_id: list[int] = []
        self.ts_ms: list[int] = []

    def __len__(self) -> int:
        return len(self.op)

    def add(
        self,
        op: str,
        before: str | None,
        after: str | None,
        unchanged: list[str],
        schema: str,
        table: str,
        lsn: int,
        commit_lsn: int,
        seq: int,
        tx_id: int,
        ts_ms: int,
    ) -> None:
        self.op.append(op)
        self.before.append(before)
        self.after.append(after)
        self.unchanged.append("," + ",".join(unchanged) + "," if unchanged else None)
        self.schema.append(schema)
        self.table.append(table)
        self.lsn.append(lsn)
        self.commit_lsn.append(commit_lsn)
        self.seq.append(seq)
        self.tx_id.append(tx_id)
        self.ts_ms.append(ts_ms)

    @property
    def last_position(self) -> tuple[int, int]:
        return self.commit_lsn[-1], self.seq[-1]

    def to_table(self, batch_id: str, now: datetime) -> pa.Table:
        n = len(self)
        emitted = int(now.timestamp() * 1000)
        columns = {
            "op": pa.array(self.op, pa.string()),
            "before": pa.array(self.before, pa.string()),
            "after": pa.array(self.after, pa.string()),
            "unchanged": pa.array(self.unchanged, pa.string()),
            "source_schema": pa.array(self.schema, pa.string()),
            "source_table": pa.array(self.table, pa.string()),
            "source_lsn": pa.array(self.lsn, pa.int64()),
            "source_commit_lsn": pa.array(self.commit_lsn, pa.int64()),
            "source_seq": pa.array(self.seq, pa.int64()),
            "source_tx_id": pa.array(self.tx_id, pa.int64()),
            "source_ts_ms": pa.array(self.ts_ms, pa.int64()),
            "source_snapshot": pa.array(["false"] * n, pa.string()),
            "ts_ms": pa.array([emitted] * n, pa.int64()),
            "_batch_id": pa.array([batch_id] * n, pa.string()),
            "_ingested_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        }
        return pa.table(columns, schema=BRONZE_SCHEMA)
