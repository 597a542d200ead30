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
