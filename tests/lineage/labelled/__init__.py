"""The labelled column-lineage set (`cases.yaml`, written by hand) and how a derivation is scored on it:
edges as (source product.column, target column, type, subtype) tuples, precision and recall over all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakemesh.lineage.model import DIRECT_SUBTYPES, ColumnEdge, EdgeSubtype, EdgeType

CASES = Path(__file__).with_name("cases.yaml")
SHORT = {
    "ID": EdgeSubtype.IDENTITY,
    "TR": EdgeSubtype.TRANSFORMATION,
    "AGG": EdgeSubtype.AGGREGATION,
    "GROUP": EdgeSubtype.GROUP_BY,
    "COND": EdgeSubtype.CONDITIONAL,
}
Edge = tuple[str, str, str, str]  # source product.column, target column, type, subtype


@dataclass
class Case:
    name: str
    sql: str
    schemas: dict[str, list[str]]
    expected: set[Edge]
    outputs: list[str]


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def load_cases() -> list[Case]:
    doc = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    aliases: dict[str, str] = doc["aliases"]
    schemas: dict[str, list[str]] = doc["schemas"]
    cases = []
    for raw in doc["cases"]:
        rows = [_parse(text, aliases) for text in raw.get("rows", [])]
        expected = {(source, target, *kind) for target, texts in raw["edges"].items() for source, *kind in rows}
        for target, texts in raw["edges"].items():
            expected |= {(source, target, *kind) for source, *kind in (_parse(t, aliases) for t in texts)}
        cases.append(Case(raw["name"], raw["sql"], schemas, expected, list(raw["edges"])))
    return cases


def _parse(text: str, aliases: dict[str, str]) -> tuple[str, str, str]:
    """`o.amount AGG` -> (`sales.orders.amount`, `DIRECT`, `AGGREGATION`)."""
    ref, short = text.split()
    alias, column = ref.split(".")
    subtype = SHORT.get(short) or EdgeSubtype(short)
    kind = EdgeType.DIRECT if subtype in DIRECT_SUBTYPES else EdgeType.INDIRECT
    return f"{aliases[alias]}.{column}", kind.value, subtype.value


def as_tuples(edges: Iterable[ColumnEdge]) -> set[Edge]:
    return {(str(e.source), e.target.column, t.type.value, t.subtype.value) for e in edges for t in e.transformations}


def score(cases: list[Case], found_by: Callable[[Case], set[Edge]]) -> Score:
    """Micro-averaged over every edge of every case; each miss or extra named for the report."""
    result = Score()
    for case in cases:
        found = found_by(case)
        result.true_positives += len(found & case.expected)
        result.false_positives += len(found - case.expected)
        result.false_negatives += len(case.expected - found)
        result.misses += [f"{case.name}: extra {e}" for e in sorted(found - case.expected)]
        result.misses += [f"{case.name}: missing {e}" for e in sorted(case.expected - found)]
    return result


def ours(case: Case) -> set[Edge]:
    from lakemesh.lineage.columns import derive

    return as_tuples(derive(case.sql, case.schemas, case.outputs, "duckdb", "out").edges)


def describe(result: Score) -> dict[str, Any]:
    return {"precision": round(result.precision, 4), "recall": round(result.recall, 4), "misses": len(result.misses)}
