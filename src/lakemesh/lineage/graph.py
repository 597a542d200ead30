"""Lineage graphs from the catalog's stored lineage, walked upstream or downstream by product or by
column, breadth first: each hop fetches its whole frontier's edges in one query, and the versions
(owner, layer, pii, masks) only of the products an answer shows.

Not a recursive CTE: a column walk crosses product-level lineage (a product whose columns could not be
derived: any column of its inputs may feed it), which would need several recursive branches (PostgreSQL
allows one). Not the whole lineage loaded in memory either: on 10,000 products and 50,000 edges that
load alone takes about a second, where a walk reading its frontier takes 20 to 50 ms; and it reads what
another process refreshed meanwhile (`bench/lineage_graph.py` measures all three against the anchor).

Node keys are `product` or `product.column`; a product id has dots itself, so nodes are kept as
(product, column) pairs, column "" for the product as a whole.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from lakemesh.catalog.lineage import PRODUCT_EDGE, LineageRows, LineageWrite
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
PARTIAL = "PARTIAL"  # a product edge's subtypes when the reader has product-level columns


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
    row = version_row(lineage, entry, masked.get(entry.id, []))
    write.versions.append(row)
    write.edges[entry.id] = edge_rows(lineage.edges, masked) + product_edge_rows(lineage, bool(row["product_level"]))


def product_edge_rows(lineage: ProductLineage, partial: bool) -> list[dict[str, Any]]:
    """An edge per input product and outside source, so the products reading one are found by index;
    `partial`: the reader has product-level columns (a column walk reaching it stops at the product)."""
    names = [*lineage.inputs, *(s.name for s in lineage.sources)]
    return [
        {
            "source_product": name,
            "source_column": PRODUCT,
            "target_product": lineage.product_id,
            "target_column": PRODUCT,
            "type": PRODUCT_EDGE,
            "subtypes": PARTIAL if partial else "",
            "masking": False,
        }
        for name in dict.fromkeys(names)
    ]


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
    masking: bool = False

    def view(self) -> LineageEdgeView:
        return LineageEdgeView(
            source=key(self.source),
            target=key(self.target),
            type=self.type,
            subtypes=self.subtypes,
            masking=self.masking,
        )


def key(node: Node) -> str:
    return node[0] if node[1] == PRODUCT else f"{node[0]}.{node[1]}"


class Fetch(Protocol):
    """Where a partly loaded index gets more of the catalog's lineage (`catalog.lineage`, bound to an engine)."""

    def edges(self, products: Iterable[str], downstream: bool, products_only: bool) -> list[tuple[Any, ...]]: ...
    def versions(self, products: Iterable[str]) -> list[dict[str, Any]]: ...
    def product_ids(self) -> list[str]: ...


@dataclass
class LineageIndex:
    """The current lineage, indexed both ways: all of it (`from_rows`), or fetched from the catalog as a
    walk reaches it (`from_catalog`), a frontier of products per query, so a walk reads what it visits."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # product id -> current version row
    down: dict[Node, list[Edge]] = field(default_factory=dict)
    up: dict[Node, list[Edge]] = field(default_factory=dict)
    consumers: dict[str, list[str]] = field(default_factory=dict)  # product -> products reading it
    feeders: dict[str, list[str]] = field(default_factory=dict)  # product -> its inputs and sources
    partial: set[str] = field(default_factory=set)  # products with product-level columns
    fetch: Fetch | None = None  # None: everything is loaded
    _fetched: dict[tuple[bool, bool], set[str]] = field(default_factory=dict)  # (downstream, products only)

    @classmethod
    def from_rows(cls, rows: LineageRows) -> LineageIndex:
        index = cls()
        index._add_versions(rows.versions)
        links = [(n, v["product_id"], bool(v["product_level"])) for v in rows.versions for n in _read_by(v)]
        stored = any(r[4] == PRODUCT_EDGE for r in rows.edges)  # else readers come from the versions' inputs
        for downstream in (True, False):
            index._add_links([] if stored else links, downstream)
            index._add_edges(rows.edges, downstream)
        return index

    @classmethod
    def from_catalog(cls, fetch: Fetch) -> LineageIndex:
        return cls(fetch=fetch)

    def _add_versions(self, versions: Iterable[dict[str, Any]]) -> None:
        for v in versions:
            self.products.setdefault(v["product_id"], v)

    def _add_links(self, links: Iterable[tuple[str, str, bool]], downstream: bool) -> None:
        """Product edges one way: a product is fetched once each way, so nothing is added twice."""
        for source, target, partial in links:
            if downstream:
                self.consumers.setdefault(source, []).append(target)
            else:
                self.feeders.setdefault(target, []).append(source)
            if partial:
                self.partial.add(target)

    def _add_edges(self, rows: Iterable[tuple[Any, ...]], downstream: bool) -> None:
        subtypes_of: dict[str, tuple[EdgeSubtype, ...]] = {}
        links = []
        into = self.down if downstream else self.up
        for sp, sc, tp, tc, kind, subtypes, masking in rows:
            if kind == PRODUCT_EDGE:
                links.append((sp, tp, subtypes == PARTIAL))
                continue
            subs = subtypes_of.get(subtypes)
            if subs is None:
                subs = subtypes_of[subtypes] = tuple(EdgeSubtype(s) for s in subtypes.split(",") if s)
            edge = Edge((sp, sc), (tp, tc), EdgeType(kind), subs, bool(masking))
            into.setdefault(edge.source if downstream else edge.target, []).append(edge)
        self._add_links(links, downstream)

    def prepare(self, nodes: Iterable[Node], downstream: bool) -> None:
        """Fetch the edges one hop from `nodes` (their products' edges that way, in one query; only
        those between products when every node is a product); nothing when they are loaded already.
        Versions are fetched only for what an answer shows."""
        if self.fetch is None:
            return
        nodes = list(nodes)
        products_only = all(n[1] == PRODUCT for n in nodes)
        done = self._fetched.setdefault((downstream, products_only), set())
        wanted = {n[0] for n in nodes} - done - self._fetched.get((downstream, False), set())
        if wanted:
            done |= wanted
            rows = self.fetch.edges(wanted, downstream, products_only)
            if not products_only:  # the product edges came along: no product-only fetch later
                known = self._fetched.setdefault((downstream, True), set())
                rows = [r for r in rows if r[4] != PRODUCT_EDGE or r[0 if downstream else 2] not in known]
                known |= wanted
            self._add_edges(rows, downstream)

    def ensure(self, products: Iterable[str]) -> None:
        """Load these products' versions (when the index fetches and has not yet)."""
        if self.fetch is not None:
            missing = set(products) - self.products.keys()
            if missing:
                self._add_versions(self.fetch.versions(missing))

    def inputs(self, product: str) -> list[str]:
        return self.feeders.get(product, [])

    def is_source(self, name: str) -> bool:
        """An outside dataset: it feeds products but is none."""
        return name not in self.products and name in self.consumers

    def columns(self, product: str) -> list[str]:
        v = self.products.get(product)
        return list(v["columns"]) if v else []

    def product_level(self, product: str) -> frozenset[str]:
        if product not in self.partial:
            return frozenset()
        self.ensure([product])
        v = self.products.get(product)
        return frozenset(v["product_level"]) if v else frozenset()

    def pii(self) -> frozenset[Node]:
        """Columns tagged pii and every column holding one's values, as the last refresh stored them
        and as the edges loaded so far show them (ask again after a walk: it loads more)."""
        stored = {(pid, c) for pid, v in self.products.items() for c in v.get("derived_pii") or ()}
        return frozenset(stored | copies_of_pii(self))

    def node(self, n: Node, depth: int, pii_nodes: frozenset[Node]) -> LineageNode:
        v = self.products.get(n[0])
        if v is None:  # an outside source
            return LineageNode(product=n[0], column=n[1] or None, depth=depth)
        column = n[1] or None
        pii = n in pii_nodes if column else any((n[0], c) in pii_nodes for c in v["columns"])
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
        product, _, column = target.rpartition(".")
        self.ensure([target, product])
        if target not in self.products:  # an outside source is known by the products it feeds
            self.prepare([(target, PRODUCT)], downstream=True)
        if target in self.products or self.is_source(target):
            return (target, PRODUCT)
        if product in self.products:
            if column in self.columns(product):
                return (product, column)
            hint = did_you_mean(column, self.columns(product))
            raise NotFoundError(f"product '{product}' has no column '{column}'{hint}", _HINT)
        known = self.fetch.product_ids() if self.fetch is not None else list(self.products)
        raise NotFoundError(
            f"no product or column '{target}' in the catalog's lineage{did_you_mean(target, known)}", _HINT
        )

    # walking -------------------------------------------------------------------------------------------

    def steps(self, n: Node, downstream: bool) -> Iterator[tuple[Edge, str | None]]:
        """The edges one hop from `n`, and a warning for each that only product-level lineage gives;
        `prepare` first when the index fetches."""
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

    def walk(self, starts: Iterable[Node], downstream: bool, depth: int | None) -> Walk:
        """Breadth first from `starts`, a hop at a time: each node reached with its fewest hops, the
        edges, the warnings."""
        found = Walk(dict.fromkeys(starts, 0))
        level = list(found.depths)
        hops = 0
        while level and (depth is None or hops < depth):
            self.prepare(level, downstream)
            hops += 1
            nxt = []
            for n in level:
                for edge, warning in self.steps(n, downstream):
                    found.edges[edge] = None
                    if warning:
                        found.warnings[warning] = None
                    reached = edge.target if downstream else edge.source
                    if reached not in found.depths:
                        found.depths[reached] = hops
                        nxt.append(reached)
            level = nxt
        return found


@dataclass
class Walk:
    depths: dict[Node, int]
    edges: dict[Edge, None] = field(default_factory=dict)
    warnings: dict[str, None] = field(default_factory=dict)


def _read_by(version: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys([*version["inputs"], *(s["name"] for s in version["sources"])]))


def copies_of_pii(index: LineageIndex) -> set[Node]:
    """The columns tagged pii and every column holding one's values, copied (under another name too)
    or computed row by row, over the edges the index holds; an aggregate is nobody's personal data."""
    seen = {(pid, c) for pid, v in index.products.items() for c in v["pii"]}
    todo = deque(seen)
    while todo:
        for edge in index.down.get(todo.popleft(), ()):
            if _COPIES & set(edge.subtypes) and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def derived_pii(rows: LineageRows) -> dict[str, list[str]]:
    """Per product, its pii columns and its copies of pii columns upstream (what a refresh stores)."""
    out: dict[str, list[str]] = {pid: [] for pid in (v["product_id"] for v in rows.versions)}
    for pid, column in copies_of_pii(LineageIndex.from_rows(rows)):
        if pid in out:
            out[pid].append(column)
    return out


_HINT = "`lakemesh catalog sync` registers the workspace's lineage; `lakemesh catalog search` finds products"


def _product_level_warning(product: str, index: LineageIndex) -> str:
    columns = ", ".join(sorted(index.product_level(product)))
    return f"{product}: lineage of {columns} is product-level (any input column may feed it)"


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a walk runs: it allocates tens of thousands of small objects
    without cycles, and the collector's passes over them (and the whole heap) tripled the p95 of a walk
    in `bench/lineage_graph.py`. Reference counting still frees everything; collection resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def lineage_graph(index: LineageIndex, target: str, direction: Direction, depth: int | None) -> LineageGraph:
    """The graph around `target` (a product or `product.column`), `depth` hops each way (None: all)."""
    with cyclic_gc_paused():
        return _lineage_graph(index, target, direction, depth)


def _lineage_graph(index: LineageIndex, target: str, direction: Direction, depth: int | None) -> LineageGraph:
    start = index.resolve(target)
    nodes: dict[Node, int] = {}
    edges: dict[Edge, None] = {}
    warnings: dict[str, None] = {}
    ways = [True, False] if direction is Direction.BOTH else [direction is Direction.DOWNSTREAM]
    for downstream in ways:
        found = index.walk([start], downstream, depth)
        for n, hops in found.depths.items():
            nodes[n] = min(hops, nodes.get(n, hops))
        edges.update(found.edges)
        warnings.update(found.warnings)
    index.ensure(n[0] for n in nodes)
    pii = index.pii()
    return LineageGraph(
        root=key(start),
        direction=direction,
        depth=depth,
        nodes=[index.node(n, hops, pii) for n, hops in sorted(nodes.items(), key=lambda item: (item[1], item[0]))],
        edges=[e.view() for e in edges],
        warnings=list(warnings),
    )
