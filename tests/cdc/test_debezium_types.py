"""Golden cases: one Debezium-encoded value per semantic type of the PostgreSQL connector, and its decoding."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from lakemesh.cdc.events import EventError, from_debezium, to_json


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


POINT_WKB = bytes.fromhex("0101000000000000000000F03F0000000000000040")  # POINT(1 2), little-endian
EWKB = "0101000020E6100000000000000000F03F0000000000000040"  # with SRID 4326, as PostGIS prints it
UUID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


def T32(name: str) -> dict[str, Any]:
    return {"type": "int32", "name": "io.debezium.time." + name}


def T64(name: str) -> dict[str, Any]:
    return {"type": "int64", "name": "io.debezium.time." + name}


# (field schema, value as Debezium sends it, decoded value, as bronze's JSON keeps it)
GOLDEN: list[tuple[dict[str, Any], Any, Any, Any]] = [
    (T32("Date"), 20454, date(2026, 1, 1), "2026-01-01"),
    ({"type": "int32", "name": "org.apache.kafka.connect.data.Date"}, -1, date(1969, 12, 31), "1969-12-31"),
    (T32("Time"), 45296789, time(12, 34, 56, 789000), "12:34:56.789000"),
    ({"type": "int32", "name": "org.apache.kafka.connect.data.Time"}, 3_600_000, time(1), "01:00:00"),
    (T64("MicroTime"), 45296789012, time(12, 34, 56, 789012), "12:34:56.789012"),
    (T64("MicroTime"), 86_400_000_000, "24:00:00", "24:00:00"),
    (T64("NanoTime"), 45296789012345, time(12, 34, 56, 789012), "12:34:56.789012"),
    (
        {"type": "string", "name": "io.debezium.time.ZonedTime"},
        "12:34:56.5Z",
        time(12, 34, 56, 500000, UTC),
        "12:34:56.500000+00:00",
    ),
    (T64("Timestamp"), 1767225600123, datetime(2026, 1, 1, 0, 0, 0, 123000), "2026-01-01T00:00:00.123000"),
    (
        {"type": "int64", "name": "org.apache.kafka.connect.data.Timestamp"},
        0,
        datetime(1970, 1, 1),
        "1970-01-01T00:00:00",
    ),
    (T64("MicroTimestamp"), 1767225600123456, datetime(2026, 1, 1, 0, 0, 0, 123456), "2026-01-01T00:00:00.123456"),
    (T64("NanoTimestamp"), 1767225600123456789, datetime(2026, 1, 1, 0, 0, 0, 123456), "2026-01-01T00:00:00.123456"),
    (
        {"type": "string", "name": "io.debezium.time.ZonedTimestamp"},
        "2026-01-01T10:00:00.5+02:00",
        datetime(2026, 1, 1, 8, 0, 0, 500000, UTC),
        "2026-01-01T08:00:00.500000+00:00",
    ),
    (T64("MicroDuration"), 93_784_000_005, "P1DT2H3M4.000005S", "P1DT2H3M4.000005S"),
    (
        {"type": "string", "name": "io.debezium.time.Interval"},
        "P1Y2M3DT4H5M6.78S",
        "P1Y2M3DT4H5M6.78S",
        "P1Y2M3DT4H5M6.78S",
    ),
    (
        {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "2"}},
        "MDk=",
        Decimal("123.45"),
        "123.45",
    ),
    (
        {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "3"}},
        b64((-5).to_bytes(1, "big", signed=True)),
        Decimal("-0.005"),
        "-0.005",
    ),
    (
        {"type": "struct", "name": "io.debezium.data.VariableScaleDecimal"},
        {"scale": 4, "value": b64((123456).to_bytes(3, "big"))},
        Decimal("12.3456"),
        "12.3456",
    ),
    ({"type": "double"}, 123.45, 123.45, 123.45),  # decimal.handling.mode=double
    ({"type": "string"}, "123.45", "123.45", "123.45"),  # decimal.handling.mode=string
    ({"type": "string", "name": "io.debezium.data.Json"}, '{"a": [1, 2]}', '{"a": [1, 2]}', '{"a": [1, 2]}'),
    ({"type": "string", "name": "io.debezium.data.Uuid"}, UUID, UUID, UUID),
    (
        {"type": "string", "name": "io.debezium.data.Enum", "parameters": {"allowed": "new,paid"}},
        "paid",
        "paid",
        "paid",
    ),
    ({"type": "string", "name": "io.debezium.data.EnumSet"}, "a,c", "a,c", "a,c"),
    ({"type": "string", "name": "io.debezium.data.Xml"}, "<a>1</a>", "<a>1</a>", "<a>1</a>"),
    (
        {"type": "bytes", "name": "io.debezium.data.Bits", "parameters": {"length": "4"}},
        b64(bytes([0b1011])),
        "1011",
        "1011",
    ),
    (
        {"type": "bytes", "name": "io.debezium.data.Bits", "parameters": {"length": "10"}},
        b64((0b1000000001).to_bytes(2, "little")),
        "1000000001",
        "1000000001",
    ),
    ({"type": "boolean"}, True, True, True),  # BIT(1)
    (
        {"type": "struct", "name": "io.debezium.data.geometry.Point"},
        {"x": 1.0, "y": 2.0, "wkb": b64(POINT_WKB), "srid": None},
        POINT_WKB.hex().upper(),
        POINT_WKB.hex().upper(),
    ),
    (
        {"type": "struct", "name": "io.debezium.data.geometry.Geometry"},
        {"wkb": b64(POINT_WKB), "srid": 4326},
        EWKB,
        EWKB,
    ),
    (
        {"type": "struct", "name": "io.debezium.data.geometry.Geography"},
        {"wkb": b64(POINT_WKB), "srid": 4326},
        EWKB,
        EWKB,
    ),
    ({"type": "bytes"}, b64(b"\x00\xff"), b"\x00\xff", "AP8="),  # bytea, binary.handling.mode=bytes
    (
        {"type": "array", "items": T32("Date")},
        [0, 1],
        [date(1970, 1, 1), date(1970, 1, 2)],
        ["1970-01-01", "1970-01-02"],
    ),
]


def envelope(spec: dict[str, Any], value: Any) -> dict[str, Any]:
    fields = [{"field": "id", "type": "int32"}, {"field": "v", **spec}]
    return {
        "schema": {"type": "struct", "fields": [{"field": "after", "type": "struct", "fields": fields}]},
        "payload": {"op": "c", "before": None, "after": {"id": 1, "v": value}, "source": {"lsn": 1}},
    }


@pytest.mark.parametrize(
    ("spec", "sent", "decoded", "stored"), GOLDEN, ids=[str(g[0].get("name", g[0]["type"])) for g in GOLDEN]
)
def test_each_semantic_type_is_decoded(spec: dict[str, Any], sent: Any, decoded: Any, stored: Any) -> None:
    event = from_debezium(envelope(spec, sent), "golden.jsonl:1", 1)
    assert event.after is not None
    assert event.after["v"] == decoded and type(event.after["v"]) is type(decoded)
    assert json.loads(to_json(event.after) or "{}")["v"] == stored


def test_a_value_not_in_its_encoding_names_the_event_and_field() -> None:
    spec = T64("MicroTime")
    with pytest.raises(EventError, match=r"golden.jsonl:1 v: cannot decode 'noon' as io.debezium.time.MicroTime"):
        from_debezium(envelope(spec, "noon"), "golden.jsonl:1", 1)
    with pytest.raises(EventError, match="not a time of day"):
        from_debezium(envelope(spec, -1), "golden.jsonl:1", 1)
