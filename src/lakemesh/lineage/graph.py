"""Lineage graphs from the catalog's stored lineage: an in-memory index, loaded in two queries, walked
upstream or downstream by product or by column.

Walking in memory rather than in SQL: a column walk crosses product-level lineage (a product whose
columns could not be derived: any column of its inputs may feed it), which a recursive CTE would need
several recursive branches for (PostgreSQL allows one); and the index, once loaded, answers a walk over
the whole mesh in milliseconds (`bench/lineage_graph.py` measures both the load and the walk).

Node keys are `product` or `product.column`; a product id has dots itself, so nodes are kept as
(product, column) pairs, column "" for the product as a whole.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, Field

from lakemesh.catalog.lineage import LineageRows, LineageWrite
from lakemesh.errors import NotFoundError
from lakemesh.lineage.model import (
    ColumnEdge,
    Direction,
    EdgeSubtype,
    EdgeType,
    Granularity,
    LineageEdgeView,
    LineageGraph,
    LineageNode,
    ProductLineage,
)
from lakemesh.pipeline.rebuild import fingerprint
from lakemesh.spec.odcs import PII
from lakemesh.spec.problems import did_you_mean
from lakemesh.spec.workspace import ProductEntry

_COPIES = frozenset({EdgeSubtype.IDENTITY, EdgeSubtype.TRANSFORMATION})
Node = tuple[str, str]  # (product, column); column "" for the product as a whole
PRODUCT = ""


class LineageRefresh(BaseModel):
    """What `mesh.lineage.refresh()` did: products derived anew, left as they were, no longer there."""

    derived: list[str] = Field(default_factory=list)
    unchanged: int = 0
    retired: list[str] = Field(default_factory=list)
    remasked: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def spec_fingerprint(entry: ProductEntry) -> str:
    """The fingerprint `product_lineage` stamps on a product's lineage, without deriving it."""
    return f"{fingerprint(entry):016x}"


# to the catalog's rows -----------------------------------------------------------------------------


def version_row(lineage: ProductLineage, entry: ProductEntry, masked: Iterable[str]) -> dict[str, Any]:
    """The catalog row of one product's lineage version."""
    columns = _columns(entry)
    fed = {e.target.column for e in lineage.edges}
    product_level = [c for c in columns if c not in fed and c not in lineage.unsourced]
    if lineage.granularity is Granularity.COLUMN:
        product_level = []
    return {
        "product_id": lineage.product_id,
        "fingerprint": lineage.fingerprint,
        "granularity": lineage.granularity.value,
        "domain": entry.spec.domain,
        "layer": entry.spec.layer.value,
        "owner": entry.spec.owner,
        "inputs": list(lineage.inputs),
        "sources": [s.model_dump(mode="json") for s in lineage.sources],
        "warnings": list(lineage.warnings),
        "columns": columns,
        "product_level": product_level,
        "pii": pii_columns(entry),
        "masked": sorted(masked),
    }


def edge_rows(edges: Iterable[ColumnEdge], masked: Mapping[str, Iterable[str]]) -> list[dict[str, Any]]:
    """The catalog rows of column edges; `masking` where the column read or written is masked."""
    hidden = {(p, c) for p, cols in masked.items() for c in cols}
    return [
        {
            "source_product": e.source.product,
            "source_column": e.source.column,
            "target_product": e.target.product,
            "target_column": e.target.column,
            "type": (EdgeType.DIRECT if e.direct else EdgeType.INDIRECT).value,
            "subtypes": ",".join(t.subtype.value for t in e.transformations),
            "masking": any(t.masking for t in e.transformations)
            or (e.source.product, e.source.column) in hidden
            or (e.target.product, e.target.column) in hidden,
        }
        for e in edges
    ]


def add_version(
    write: LineageWrite, lineage: ProductLineage, entry: ProductEntry, masked: Mapping[str, list[str]]
) -> None:
    write.versions.append(version_row(lineage, entry, masked.get(entry.id, [])))
    write.edges[entry.id] = edge_rows(lineage.edges, masked)


def pii_columns(entry: ProductEntry) -> list[str]:
    """The columns the product's contract tags as personal data."""
    contract = entry.contract
    if contract is None or not contract.tables:
        return []
    return [c.name for c in contract.table().columns if PII in {t.lower() for t in c.tags or []}]


def _columns(entry: ProductEntry) -> list[str]:
    contract = entry.contract
    return [c.name for c in contract.table().columns] if contract is not None and contract.tables else []


# the index ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    source: Node
    target: Node
    type: EdgeType | None  # None: product level
    subtypes: tuple[EdgeSubtype, ...] = ()

    def view(self) -> LineageEdgeView:
        return LineageEdgeView(source=key(self.source), target=key(self.target), type=self.type, subtypes=self.subtypes)


def key(node: Node) -> str:
    return node[0] if node[1] == PRODUCT else f"{node[0]}.{node[1]}"


@dataclass
class LineageIndex:
    """The current lineage of the whole mesh, indexed both ways."""

    products: dict[str, dict[str, Any]]  # product id -> its current version row
    down: dict[Node, list[Edge]] = field(default_factory=dict)
    up: dict[Node, list[Edge]] = field(default_factory=dict)
    consumers: dict[str, list[str]] = field(default_factory=dict)  # product -> products reading it
    sources: set[str] = field(default_factory=set)  # outside datasets (bronze sources), by name

    @classmethod
    def from_rows(cls, rows: LineageRows) -> LineageIndex:
        index = cls({v["product_id"]: v for v in rows.versions})
        for v in rows.versions:
            for name in v["inputs"]:
                index.consumers.setdefault(name, []).append(v["product_id"])
            for source in v["sources"]:
                index.sources.add(source["name"])
                index.consumers.setdefault(source["name"], []).append(v["product_id"])
        subtype_cache: dict[str, tuple[EdgeSubtype, ...]] = {}
        for sp, sc, tp, tc, kind, subtypes, _ in rows.edges:
            subs = subtype_cache.get(subtypes)
            if subs is None:
                subs = subtype_cache[subtypes] = tuple(EdgeSubtype(s) for s in subtypes.split(",") if s)
            edge = Edge((sp, sc), (tp, tc), EdgeType(kind), subs)
            index.down.setdefault(edge.source, []).append(edge)
            index.up.setdefault(edge.target, []).append(edge)
        return index

    def inputs(self, product: str) -> list[str]:
        v = self.products.get(product)
        return [*v["inputs"], *(s["name"] for s in v["sources"])] if v else []

    def columns(self, product: str) -> list[str]:
        v = self.products.get(product)
        return list(v["columns"]) if v else []

    def product_level(self, product: str) -> frozenset[str]:
        v = self.products.get(product)
        return frozenset(v["product_level"]) if v else frozenset()

    @cached_property
    def pii(self) -> frozenset[Node]:
        """Columns tagged pii and every column holding one's values, copied (under another name too) or
        computed row by row; an aggregate (a count, a sum) is not personal data of anyone."""
        seen = {(pid, c) for pid, v in self.products.items() for c in v["pii"]}
        todo = deque(seen)
        while todo:
            for edge in self.down.get(todo.popleft(), ()):
                if _COPIES & set(edge.subtypes) and edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
        return frozenset(seen)

    def node(self, n: Node, depth: int) -> LineageNode:
        v = self.products.get(n[0])
        if v is None:  # an outside source
            return LineageNode(product=n[0], column=n[1] or None, depth=depth)
        column = n[1] or None
        pii = n in self.pii if column else any((n[0], c) in self.pii for c in v["columns"])
        return LineageNode(
            product=n[0],
            column=column,
            domain=v["domain"],
            layer=v["layer"],
            owner=v["owner"],
            pii=pii,
            masked=column is not None and column in v["masked"],
            depth=depth,
        )

    # resolving what the user named ------------------------------------------------------------------

    def resolve(self, target: str) -> Node:
        """`product` or `product.column` as a node; unknown ones raise with a did-you-mean hint."""
        if target in self.products or target in self.sources:
            return (target, PRODUCT)
        product, _, column = target.rpartition(".")
        if product in self.products:
            if column in self.columns(product):
                return (product, column)
            hint = did_you_mean(column, self.columns(product))
            raise NotFoundError(f"product '{product}' has no column '{column}'{hint}", _HINT)
        hint = did_you_mean(target, [*self.products, *(f"{p}.{c}" for p in self.products for c in self.columns(p))])
        raise NotFoundError(f"no product or column '{target}' in the catalog's lineage{hint}", _HINT)

    # walking -------------------------------------------------------------------------------------------

    def steps(self, n: Node, downstream: bool) -> Iterator[tuple[Edge, str | None]]:
        """The edges one hop from `n`, and a warning for each that only product-level lineage gives."""
        product, column = n
        if column == PRODUCT:
            yield from self._product_steps(product, downstream)
            return
        yield from ((e, None) for e in (self.down if downstream else self.up).get(n, ()))
        if downstream:
            for consumer in self.consumers.get(product, ()):
                if self.product_level(consumer):
                    yield Edge(n, (consumer, PRODUCT), None), _product_level_warning(consumer, self)
        elif column in self.product_level(product):
            for name in self.inputs(product):
                yield Edge((name, PRODUCT), n, None), _product_level_warning(product, self)

    def _product_steps(self, product: str, downstream: bool) -> Iterator[tuple[Edge, str | None]]:
        if downstream:
            yield from ((Edge((product, PRODUCT), (c, PRODUCT), None), None) for c in self.consumers.get(product, ()))
        else:
            yield from ((Edge((i, PRODUCT), (product, PRODUCT), None), None) for i in self.inputs(product))

    def walk(self, start: Node, downstream: bool, depth: int | None) -> tuple[dict[Node, int], list[Edge], list[str]]:
        """Breadth first from `start`: each node reached with its fewest hops, the edges, the warnings."""
        seen = {start: 0}
        edges: list[Edge] = []
        warnings: dict[str, None] = {}
        todo = deque([start])
        while todo:
            n = todo.popleft()
            hops = seen[n]
            if depth is not None and hops >= depth:
                continue
            for edge, warning in self.steps(n, downstream):
                edges.append(edge)
                if warning:
                    warnings[warning] = None
                nxt = edge.target if downstream else edge.source
                if nxt not in seen:
                    seen[nxt] = hops + 1
                    todo.append(nxt)
        return seen, edges, list(warnings)


_HINT = "`lakemesh catalog sync` registers the workspace's lineage; `lakemesh catalog search` finds products"


def _product_level_warning(product: str, index: LineageIndex) -> str:
    columns = ", ".join(sorted(index.product_level(product)))
    return f"{product}: lineage of {columns} is product-level (any input column may feed it)"


def lineage_graph(index: LineageIndex, target: str, direction: Direction, depth: int | None) -> LineageGraph:
    """The graph around `target` (a product or `product.column`), `depth` hops each way (None: all)."""
    start = index.resolve(target)
    nodes: dict[Node, int] = {}
    edges: dict[Edge, None] = {}
    warnings: dict[str, None] = {}
    ways = [True, False] if direction is Direction.BOTH else [direction is Direction.DOWNSTREAM]
    for downstream in ways:
        seen, found, said = index.walk(start, downstream, depth)
        for n, hops in seen.items():
            nodes[n] = min(hops, nodes.get(n, hops))
        edges.update(dict.fromkeys(found))
        warnings.update(dict.fromkeys(said))
    return LineageGraph(
        root=key(start),
        direction=direction,
        depth=depth,
        nodes=[index.node(n, hops) for n, hops in sorted(nodes.items(), key=lambda item: (item[1], item[0]))],
        edges=[e.view() for e in edges],
        warnings=list(warnings),
    )
