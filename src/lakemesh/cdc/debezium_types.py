"""Debezium's encodings of PostgreSQL values in Kafka Connect JSON, decoded by the field's semantic type.

Every semantic type of the PostgreSQL connector's documentation, under each `time.precision.mode`
(`adaptive`: Time/MicroTime/Timestamp/MicroTimestamp by the column's precision;
`adaptive_time_microseconds`: MicroTime for every time; `connect`: Kafka Connect's Date/Time/Timestamp,
milliseconds) and `decimal.handling.mode` (`precise`: Decimal as base64 of the unscaled big-endian
integer, VariableScaleDecimal as {scale, value}; `double` and `string`: plain values, nothing to decode):

- dates and times: Date and Connect Date (days since 1970), Time and Connect Time (ms since midnight),
  MicroTime (µs), NanoTime (ns), Timestamp and Connect Timestamp (ms since 1970, no zone), MicroTimestamp
  (µs), NanoTimestamp (ns, truncated to µs), ZonedTimestamp and ZonedTime (ISO text, UTC);
- durations: MicroDuration (µs) as ISO 8601 text, like Interval (already ISO 8601 text);
- Bits (little-endian bytes, `length` bits) as the bit string PostgreSQL prints (`0101`);
- geometry, geography and point ({wkb, srid}) as hex EWKB, as PostGIS prints them;
- Json, Uuid, Enum, EnumSet, Xml, Ltree, Interval (string mode): text already, kept as it is;
- arrays: each element by the array's item schema; other bytes: base64 decoded.

Times are `datetime.time` values; PostgreSQL's `24:00:00` (a whole day) stays text.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MICROS = 86_400_000_000


def _micros_of_day(micros: int) -> time | str:
    if micros == DAY_MICROS:
        return "24:00:00"
    if not 0 <= micros < DAY_MICROS:
        raise ValueError(f"{micros} µs is not a time of day")
    seconds, us = divmod(micros, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, us)


def _naive(delta: timedelta) -> datetime:
    return (EPOCH + delta).replace(tzinfo=None)


def _decimal(value: Any, spec: dict[str, Any]) -> Decimal:
    if isinstance(value, int | float):  # the JSON converter's decimal.format=NUMERIC
        return Decimal(str(value))
    scale = int((spec.get("parameters") or {}).get("scale", 0))
    return Decimal(int.from_bytes(base64.b64decode(value), "big", signed=True)).scaleb(-scale)


def _variable_decimal(value: Any, _: dict[str, Any]) -> Decimal:
    unscaled = int.from_bytes(base64.b64decode(value["value"]), "big", signed=True)
    return Decimal(unscaled).scaleb(-int(value["scale"]))


def _duration(value: Any, _: dict[str, Any]) -> str:
    """Microseconds as ISO 8601 (`P1DT2H3M4.000005S`); Debezium counts a month as 30.4375 days."""
    micros = int(value)
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    days, rest = divmod(micros, DAY_MICROS)
    seconds, us = divmod(rest, 1_000_000)
    fraction = f".{us:06d}".rstrip("0") if us else ""
    return f"{sign}P{days}DT{seconds // 3600}H{seconds // 60 % 60}M{seconds % 60}{fraction}S"


def _bits(value: Any, spec: dict[str, Any]) -> str:
    raw = base64.b64decode(value)
    length = int((spec.get("parameters") or {}).get("length", len(raw) * 8))
    return format(int.from_bytes(raw, "little"), f"0{length}b")[-length:] if length else ""


def _geometry(value: Any, _: dict[str, Any]) -> str:
    """{wkb, srid} as hex EWKB: the SRID goes into the WKB header, as PostGIS writes it."""
    wkb = base64.b64decode(value["wkb"])
    srid = value.get("srid")
    if srid is None or len(wkb) < 5:
        return wkb.hex().upper()
    order = "<" if wkb[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", wkb, 1)
    header = wkb[:1] + struct.pack(order + "I", kind | 0x20000000) + struct.pack(order + "i", int(srid))
    return (header + wkb[5:]).hex().upper()


def _zoned_time(value: Any, _: dict[str, Any]) -> time:
    return time.fromisoformat(str(value))


def _zoned_timestamp(value: Any, _: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


Decoder = Callable[[Any, dict[str, Any]], Any]

DECODERS: dict[str, Decoder] = {
    "org.apache.kafka.connect.data.Decimal": _decimal,
    "io.debezium.data.VariableScaleDecimal": _variable_decimal,
    "io.debezium.time.Date": lambda v, _: date(1970, 1, 1) + timedelta(days=int(v)),
    "org.apache.kafka.connect.data.Date": lambda v, _: date(1970, 1, 1) + timedelta(days=int(v)),
    "io.debezium.time.Time": lambda v, _: _micros_of_day(int(v) * 1000),
    "org.apache.kafka.connect.data.Time": lambda v, _: _micros_of_day(int(v) * 1000),
    "io.debezium.time.MicroTime": lambda v, _: _micros_of_day(int(v)),
    "io.debezium.time.NanoTime": lambda v, _: _micros_of_day(int(v) // 1000),
    "io.debezium.time.ZonedTime": _zoned_time,
    "io.debezium.time.Timestamp": lambda v, _: _naive(timedelta(milliseconds=int(v))),
    "org.apache.kafka.connect.data.Timestamp": lambda v, _: _naive(timedelta(milliseconds=int(v))),
    "io.debezium.time.MicroTimestamp": lambda v, _: _naive(timedelta(microseconds=int(v))),
    "io.debezium.time.NanoTimestamp": lambda v, _: _naive(timedelta(microseconds=int(v) // 1000)),
    "io.debezium.time.ZonedTimestamp": _zoned_timestamp,
    "io.debezium.time.MicroDuration": _duration,
    "io.debezium.data.Bits": _bits,
    "io.debezium.data.geometry.Geometry": _geometry,
    "io.debezium.data.geometry.Geography": _geometry,
    "io.debezium.data.geometry.Point": _geometry,
}


def decode(value: Any, spec: dict[str, Any]) -> Any:
    """One value by its field schema; raises ValueError, TypeError or KeyError when it is not encoded so."""
    if value is None:
        return None
    decoder = DECODERS.get(str(spec.get("name")))
    if decoder is not None:
        return decoder(value, spec)
    if spec.get("type") == "array" and isinstance(value, list):
        items = spec.get("items") or {}
        return [decode(v, items) for v in value]
    if spec.get("type") == "bytes" and isinstance(value, str):
        return base64.b64decode(value)
    return value
