"""Columns derived from governed ones through column lineage: erasure and policies must follow a subject
key or a PII column into every product that copies it, under whatever name it is copied.

Two kinds, as `lineage.graph.copies_of_pii` walks them, told apart here because they are treated
differently: a COPY holds the value as is (IDENTITY on every edge, renamed or not), so a subject's rows
are found by it and it is personal data itself; a TRANSFORMED column is computed from it row by row
(`upper(email)`, `hash(customer_id)`) somewhere on the way, so it holds no value a subject's could be
matched against: a person reviews it. Aggregates and indirect edges (joins, filters) carry neither.

Derived from `product_lineage` in build order, from the workspace alone (no catalog, so a dry run works
before any sync), and only for products reading a product that holds a governed column or a column
derived from one: on the example shop, the three products downstream of its subject keys (about 45 ms,
most of it sqlglot's first qualify).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from lakemesh.errors import LakemeshError
from lakemesh.lineage.model import ColumnEdge, ColumnRef, EdgeSubtype
from lakemesh.spec.workspace import Workspace

_ROW_BY_ROW = frozenset({EdgeSubtype.IDENTITY, EdgeSubtype.TRANSFORMATION})


class Derivation(str, Enum):
    """How a column holds a governed column's values."""

    COPY = "copy"  # as is, maybe renamed
    TRANSFORMED = "transformed"  # computed from them row by row


@dataclass(frozen=True)
class Derived:
    """Where a column's values come from: the governed column at the start of the chain, and how."""

    origin: ColumnRef
    how: Derivation

    def describe(self, column: str) -> str:
        """For a step's reason or a violation: which column, from which origin, how."""
        if self.how is Derivation.COPY:
            return f"{column}: copy of {self.origin}"
        return f"{column}: derives from {self.origin} through lineage (transformed, not a copy)"


@dataclass
class DerivedColumns:
    """Every column derived from the governed ones (the governed columns themselves excluded), per product."""

    found: dict[str, dict[str, Derived]] = field(default_factory=dict)  # product -> column -> where from
    derived_products: list[str] = field(default_factory=list)  # whose lineage was derived
    seconds: float = 0.0

    def of(self, product_id: str, how: Derivation | None = None) -> dict[str, Derived]:
        """The product's derived columns (of one kind, when given), by column."""
        own = self.found.get(product_id, {})
        return {
            column: d
            for column, d in sorted(own.items())
            if (how is None or d.how is how) and d.origin != ColumnRef(product=product_id, column=column)
        }


def derived_columns(ws: Workspace, governed: Mapping[str, Iterable[str]]) -> DerivedColumns:
    """The columns copied or transformed from `governed` (product id -> its governed columns), through
    any number of products; a governed column copied from another one names the first as its origin."""
    from lakemesh.lineage.columns import product_lineage  # sqlglot's optimizer: only where lineage is wanted

    started = time.perf_counter()
    out = DerivedColumns()
    for pid, columns in governed.items():
        out.found[pid] = {c: Derived(ColumnRef(product=pid, column=c), Derivation.COPY) for c in columns}
    holding = {pid for pid, columns in out.found.items() if columns}
    try:
        order = ws.build_order()
    except LakemeshError:  # a cycle, which validation reports: nothing can be followed through it
        order = []
    for pid in order:
        entry = ws.product(pid)
        if entry.spec.build.source is not None or not holding.intersection(ws.upstream(pid)):
            continue  # bronze reads outside sources; others read nothing governed
        out.derived_products.append(pid)
        for edge in product_lineage(ws, entry).edges:
            if _follow(out.found, edge):
                holding.add(pid)
    out.seconds = time.perf_counter() - started
    return out


def _follow(found: dict[str, dict[str, Derived]], edge: ColumnEdge) -> bool:
    """Record the edge's target as derived if its source is governed or derived; whether it was."""
    source = found.get(edge.source.product, {}).get(edge.source.column)
    subtypes = {t.subtype for t in edge.transformations}
    if source is None or not subtypes & _ROW_BY_ROW:
        return False
    copied = EdgeSubtype.IDENTITY in subtypes and source.how is Derivation.COPY
    derived = Derived(source.origin, Derivation.COPY if copied else Derivation.TRANSFORMED)
    columns = found.setdefault(edge.target.product, {})
    current = columns.get(edge.target.column)
    if current is None or (copied and (current.how is Derivation.TRANSFORMED or current.origin == edge.target)):
        columns[edge.target.column] = derived  # a copy beats a transformation; a governed copy names its origin
    return True
