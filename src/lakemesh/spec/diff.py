"""Differences between two versions of a contract, each classified as breaking or not.

Breaking means an existing producer, consumer or stored row can stop working: a removed or renamed
column, a narrowed type, a new required column, a narrowed enum or range, a primary-key change, a
tightened SLA. Widening changes and optional additions are not breaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lakemesh.spec.odcs import Column, Contract, Table
from lakemesh.spec.types import TypeChange, compare_types


@dataclass(frozen=True)
class Change:
    """One difference: where, what kind, a sentence, and whether it breaks consumers."""

    path: str
    kind: str
    detail: str
    breaking: bool


@dataclass
class ContractDiff:
    old_version: str
    new_version: str
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def required_bump(self) -> str:
        """The smallest semver bump these changes call for: major, minor, patch or none."""
        if self.breaking:
            return "major"
        if any(c.kind.endswith("added") for c in self.changes):
            return "minor"
        return "patch" if self.changes else "none"

    @property
    def version_ok(self) -> bool:
        """False when breaking changes come without a major version bump."""
        if not self.breaking:
            return True
        return _major(self.new_version) > _major(self.old_version)


def _major(version: str) -> int:
    match = re.match(r"v?(\d+)", version or "")
    return int(match.group(1)) if match else 0


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    """Every change from `old` to `new`, classified."""
    result = ContractDiff(old.version, new.version)
    add = result.changes.append
    if old.id != new.id:
        add(Change("id", "id changed", f"'{old.id}' -> '{new.id}'", True))
    old_tables = {t.name: t for t in old.tables}
    new_tables = {t.name: t for t in new.tables}
    for name in old_tables.keys() - new_tables.keys():
        add(Change(name, "table removed", f"schema object '{name}' was removed", True))
    for name in new_tables.keys() - old_tables.keys():
        add(Change(name, "table added", f"schema object '{name}' was added", False))
    for name in old_tables.keys() & new_tables.keys():
        result.changes.extend(_table_changes(old_tables[name], new_tables[name]))
    result.changes.extend(_sla_changes(old.sla, new.sla))
    for key in ("status", "description", "tags"):
        if old.raw.get(key) != new.raw.get(key):
            add(Change(key, f"{key} changed", f"{old.raw.get(key)!r} -> {new.raw.get(key)!r}", False))
    return result


def _table_changes(old: Table, new: Table) -> list[Change]:
    changes: list[Change] = []
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    renamed = _renames(old, new)
    for name in sorted(old_cols.keys() - new_cols.keys()):
        if name in renamed:
            detail = f"column '{name}' was renamed to '{renamed[name]}'"
            changes.append(Change(f"{old.name}.{name}", "column renamed", detail, True))
        else:
            changes.append(Change(f"{old.name}.{name}", "column removed", f"column '{name}' was removed", True))
    for name in sorted(new_cols.keys() - old_cols.keys()):
        if name in renamed.values():
            continue
        col = new_cols[name]
        kind = "required column added" if col.required else "optional column added"
        changes.append(Change(f"{new.name}.{name}", kind, f"column '{name}' was added", col.required))
    for name in sorted(old_cols.keys() & new_cols.keys()):
        changes.extend(_column_changes(f"{new.name}.{name}", old_cols[name], new_cols[name]))
    if old.primary_key != new.primary_key:
        detail = f"primary key {old.primary_key} -> {new.primary_key}"
        changes.append(Change(new.name, "primary key changed", detail, True))
    return changes


def _renames(old: Table, new: Table) -> dict[str, str]:
    """Columns whose stable ODCS `id` stayed while the name changed."""
    new_by_id = {c.raw.get("id"): c.name for c in new.columns if c.raw.get("id")}
    return {
        c.name: new_by_id[c.raw["id"]]
        for c in old.columns
        if c.raw.get("id") in new_by_id and new_by_id[c.raw["id"]] != c.name
    }


def _column_changes(path: str, old: Column, new: Column) -> list[Change]:
    changes = [_type_change(path, old, new)] if _type_of(old) != _type_of(new) else []
    for attr, label in (("required", "required"), ("unique", "unique")):
        before, after = getattr(old, attr), getattr(new, attr)
        if before != after:
            why = "existing rows or producers may violate it" if after else "consumers relying on it break"
            changes.append(Change(path, f"{label} changed", f"{label} {before} -> {after}: {why}", True))
    changes.extend(_enum_changes(path, old.valid_values, new.valid_values))
    changes.extend(_option_changes(path, old.options, new.options))
    for attr in ("description", "classification", "tags"):
        if getattr(old, attr) != getattr(new, attr):
            detail = f"{getattr(old, attr)!r} -> {getattr(new, attr)!r}"
            changes.append(Change(path, f"{attr} changed", detail, False))
    return changes


def _type_of(col: Column) -> tuple[str | None, str | None]:
    return (col.logical_type, (col.physical_type or "").upper().replace(" ", "") or None)


def _type_change(path: str, old: Column, new: Column) -> Change:
    verdict = compare_types(old.logical_type, old.physical_type, new.logical_type, new.physical_type)
    shown = f"{old.physical_type or old.logical_type} -> {new.physical_type or new.logical_type}"
    if verdict is TypeChange.WIDENED:
        return Change(path, "type widened", shown, False)
    if verdict is TypeChange.SAME:
        return Change(path, "type respelled", shown, False)
    label = "type narrowed" if verdict is TypeChange.NARROWED else "type changed"
    return Change(path, label, shown, True)


def _enum_changes(path: str, old: tuple[Any, ...] | None, new: tuple[Any, ...] | None) -> list[Change]:
    if old == new:
        return []
    if new is None:
        return [Change(path, "enum removed", f"any value now allowed (was {list(old or ())})", False)]
    if old is None:
        return [Change(path, "enum added", f"values restricted to {list(new)}", True)]
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    out = []
    if removed:
        out.append(Change(path, "enum narrowed", f"values no longer allowed: {removed}", True))
    if added:
        out.append(Change(path, "enum widened", f"new allowed values: {added} (consumers may see them)", False))
    return out


# (option, direction in which a change narrows what is allowed)
_BOUNDS = (
    ("minimum", "up"),
    ("exclusiveMinimum", "up"),
    ("minLength", "up"),
    ("minItems", "up"),
    ("maximum", "down"),
    ("exclusiveMaximum", "down"),
    ("maxLength", "down"),
    ("maxItems", "down"),
)


def _option_changes(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for key, narrows in _BOUNDS:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if after is None:
            changes.append(Change(path, "range widened", f"{key} {before} removed", False))
        elif before is None:
            changes.append(Change(path, "range narrowed", f"{key} {after} added", True))
        elif _comparable(before, after):
            tighter = after > before if narrows == "up" else after < before
            kind = "range narrowed" if tighter else "range widened"
            changes.append(Change(path, kind, f"{key} {before} -> {after}", tighter))
    for key in sorted((old.keys() | new.keys()) - {k for k, _ in _BOUNDS}):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        breaking = after is not None  # a new or changed pattern/format can reject existing values
        detail = f"{key} {before!r} -> {after!r}"
        changes.append(Change(path, f"{key} {'changed' if breaking else 'removed'}", detail, breaking))
    return changes


def _comparable(a: Any, b: Any) -> bool:
    return (isinstance(a, int | float) and isinstance(b, int | float)) or (isinstance(a, str) and isinstance(b, str))


_SLA_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "y": 31536000,
    "year": 31536000,
    "years": 31536000,
}
# properties where a smaller number is a stricter promise
_SMALLER_IS_STRICTER = {"latency", "frequency", "errorRate", "timeOfAvailability"}
_LARGER_IS_STRICTER = {"availability", "throughput", "retention"}


def _sla_value(value: Any, unit: str | None) -> float | None:
    if not isinstance(value, int | float):
        return None
    return float(value) * _SLA_SECONDS.get((unit or "").lower(), 1)


def _sla_changes(old: dict[str, tuple[Any, str | None]], new: dict[str, tuple[Any, str | None]]) -> list[Change]:
    changes = []
    for prop in sorted(old.keys() | new.keys()):
        path = f"slaProperties.{prop}"
        if prop not in new:
            changes.append(Change(path, "SLA removed", f"{prop} is no longer promised (relaxed)", False))
        elif prop not in old:
            shown = f"{prop} {new[prop][0]} {new[prop][1] or ''}".strip()
            changes.append(Change(path, "SLA added", f"{shown}: a new promise the producer must meet", True))
        elif old[prop] != new[prop]:
            before, after = _sla_value(*old[prop]), _sla_value(*new[prop])
            shown = f"{prop} {old[prop][0]}{old[prop][1] or ''} -> {new[prop][0]}{new[prop][1] or ''}"
            if before is None or after is None or before == after:
                changes.append(Change(path, "SLA changed", shown, False))
                continue
            if prop in _SMALLER_IS_STRICTER:
                stricter = after < before
            elif prop in _LARGER_IS_STRICTER:
                stricter = after > before
            else:
                stricter = False
            kind = "SLA tightened" if stricter else "SLA relaxed"
            changes.append(Change(path, kind, shown, stricter))
    return changes
