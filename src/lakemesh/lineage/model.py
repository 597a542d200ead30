"""Column lineage as data, shaped like OpenLineage's column-lineage facet so events are a mapping, not a
translation: an output column's inputs, each with the transformations that bring it there.

Direct transformations (identity, transformation, aggregation) say where an output value comes from;
indirect ones (join, filter, group by, sort, window, conditional) say which inputs decide which rows or
which branch, without being copied into the value.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class EdgeType(str, Enum):
    DIRECT = "DIRECT"
    INDIRECT = "INDIRECT"


class EdgeSubtype(str, Enum):
    """OpenLineage's transformation subtypes (column lineage facet, 1-2-0)."""

    IDENTITY = "IDENTITY"  # copied as is
    TRANSFORMATION = "TRANSFORMATION"  # computed from it, row by row
    AGGREGATION = "AGGREGATION"  # computed from it over many rows
    JOIN = "JOIN"
    FILTER = "FILTER"
    GROUP_BY = "GROUP_BY"
    SORT = "SORT"
    WINDOW = "WINDOW"
    CONDITIONAL = "CONDITIONAL"


DIRECT_SUBTYPES = frozenset({EdgeSubtype.IDENTITY, EdgeSubtype.TRANSFORMATION, EdgeSubtype.AGGREGATION})


class ColumnRef(BaseModel):
    """A column of a product's table (`product` is the product id, e.g. `orders.silver_orders`)."""

    model_config = ConfigDict(frozen=True)

    product: str
    column: str

    def __str__(self) -> str:
        return f"{self.product}.{self.column}"


class Transformation(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EdgeType
    subtype: EdgeSubtype
    description: str = ""
    masking: bool = False  # set from governance: a mask, pseudonym or encryption applies on the way


class ColumnEdge(BaseModel):
    """One input column feeding one output column, and how."""

    model_config = ConfigDict(frozen=True)

    source: ColumnRef
    target: ColumnRef
    transformations: tuple[Transformation, ...]

    @property
    def direct(self) -> bool:
        return any(t.type is EdgeType.DIRECT for t in self.transformations)


class SourceKind(str, Enum):
    FILES = "files"
    POSTGRES = "postgres"
    KAFKA = "kafka"
    OTHER = "other"


class SourceRef(BaseModel):
    """Where a bronze product's rows come from, outside the mesh (a dataset in OpenLineage's terms)."""

    model_config = ConfigDict(frozen=True)

    kind: SourceKind
    namespace: str  # e.g. `file:///abs/workspace`, `postgres://host:5432/db`, `kafka://broker:9092`
    name: str  # e.g. `data/orders/*.csv`, `public.orders`, `orders.events`


class Granularity(str, Enum):
    COLUMN = "column"  # every output column's inputs were derived (or declared)
    PRODUCT = "product"  # only "these inputs feed this product": the columns could not be derived


class ProductLineage(BaseModel):
    """What one product's build reads, column by column where that could be derived.

    `fingerprint` identifies the product spec (and transform) it was derived from, so lineage is
    versioned with the spec in the catalog; `warnings` name each column whose lineage fell back to the
    product level and why."""

    product_id: str
    fingerprint: str
    granularity: Granularity
    inputs: list[str] = Field(default_factory=list)  # upstream product ids
    sources: list[SourceRef] = Field(default_factory=list)  # bronze: outside datasets
    edges: list[ColumnEdge] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    unsourced: list[str] = Field(default_factory=list)  # columns lakemesh writes itself (ingestion metadata)


class Direction(str, Enum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


class LineageNode(BaseModel):
    """A product (`column` None) or one of its columns, with what a picture groups and marks it by."""

    model_config = ConfigDict(frozen=True)

    product: str  # a product id, or for an outside source its SourceRef name
    column: str | None = None
    domain: str | None = None  # None: an outside source
    layer: str | None = None  # bronze, silver, gold; None: an outside source
    owner: str | None = None
    pii: bool = False  # classified as personal data by the contract or a policy (or derived from such a column)
    masked: bool = False  # a mask, pseudonym or encryption applies to it
    depth: int = 0  # hops from the node asked about (0: that node)

    @property
    def key(self) -> str:
        return self.product if self.column is None else f"{self.product}.{self.column}"


class LineageEdgeView(BaseModel):
    """One edge of a lineage answer: between columns (a ColumnEdge's ends) or between products."""

    model_config = ConfigDict(frozen=True)

    source: str  # LineageNode.key
    target: str  # LineageNode.key
    type: EdgeType | None = None  # None: a product-level edge
    subtypes: tuple[EdgeSubtype, ...] = ()
    masking: bool = False  # a mask, pseudonym or encryption covers the column read or written


class LineageGraph(BaseModel):
    """The answer to `lakemesh lineage X --upstream|--downstream --depth N`: what the CLI draws as a tree,
    prints as JSON or renders as a picture (dot, mermaid, svg, png)."""

    root: str  # the key asked about
    direction: Direction
    depth: int | None  # None: all the way
    nodes: list[LineageNode] = Field(default_factory=list)
    edges: list[LineageEdgeView] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # e.g. product-level lineage on the way


class ImpactKind(str, Enum):
    BREAKS = "breaks"  # reads a removed or retyped column directly, or its contract would no longer hold
    CHANGES_MEANING = "changes_meaning"  # its values (or which rows) may change: derived through a changed column
    UNAFFECTED = "unaffected"  # downstream, but reads nothing that changed


class ImpactedColumn(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: str
    column: str | None  # None: the product as a whole (product-level lineage on the way)
    kind: ImpactKind
    depth: int
    via: list[str] = Field(default_factory=list)  # the changed column(s) it derives from (keys)
    owner: str | None = None
    domain: str | None = None


class ImpactReport(BaseModel):
    """Every downstream product and column a contract change reaches, at every depth, and how."""

    contract_id: str
    product_id: str | None  # the product serving the contract
    changes: list[str] = Field(default_factory=list)  # the diff's changes, e.g. "removed column email"
    impacted: list[ImpactedColumn] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # product-level lineage on the way: columns unknown

    @property
    def breaking(self) -> bool:
        return any(i.kind is ImpactKind.BREAKS for i in self.impacted)
