"""Lineage that is not derived from SQL: bronze products from their source, Python transforms as declared.

A bronze edge's `source.product` is the `name` of one of the lineage's `sources` (a path pattern, a
`schema.table`), so a reader tells an outside dataset from a product by looking it up there. Columns
lakemesh writes itself while ingesting (`_source_file`, `_ingested_at`, the CDC event envelope) are
listed as `unsourced`: no input feeds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from lakemesh.errors import LakemeshError
from lakemesh.lineage.model import (
    DIRECT_SUBTYPES,
    ColumnEdge,
    ColumnRef,
    EdgeSubtype,
    EdgeType,
    Granularity,
    SourceKind,
    SourceRef,
    Transformation,
)
from lakemesh.spec.models import FileSource, PostgresCdcSource, RefreshMode
from lakemesh.spec.variables import resolve
from lakemesh.spec.workspace import ProductEntry, Workspace

FILE_METADATA = ("_source_file", "_ingested_at")
_IDENTITY = (Transformation(type=EdgeType.DIRECT, subtype=EdgeSubtype.IDENTITY),)
_TRANSFORMED = (Transformation(type=EdgeType.DIRECT, subtype=EdgeSubtype.TRANSFORMATION),)
_CONDITIONAL = (Transformation(type=EdgeType.INDIRECT, subtype=EdgeSubtype.CONDITIONAL),)


def bronze_lineage(workspace: Workspace, entry: ProductEntry, outputs: Sequence[str]) -> dict[str, Any]:
    """Sources, IDENTITY edges from source columns to the bronze columns of the same name, and the
    metadata columns no source feeds (ProductLineage fields)."""
    source = entry.spec.build.source
    if isinstance(source, FileSource):
        refs = [SourceRef(kind=SourceKind.FILES, namespace=workspace.root.resolve().as_uri(), name=source.path)]
        metadata: tuple[str, ...] = FILE_METADATA
    elif isinstance(source, PostgresCdcSource):
        from lakemesh.cdc.events import BRONZE_SCHEMA  # pyarrow, which `validate` (policies' lineage) needs not

        namespace = _postgres_namespace(source.url, f"{entry.id}: build.source.url")
        refs = [SourceRef(kind=SourceKind.POSTGRES, namespace=namespace, name=t) for t in source.tables]
        metadata = tuple(BRONZE_SCHEMA.names)
    else:
        return {"granularity": Granularity.PRODUCT, "warnings": [f"{entry.id}: an unknown kind of source"]}
    sourced = [c for c in outputs if c not in metadata]
    unsourced = [*(c for c in outputs if c in metadata), *(m for m in metadata if m not in outputs)]
    if len(refs) != 1:  # several captured tables in one bronze table: which one has which column is unknown
        names = ", ".join(sourced) or "every column"
        warning = f"{entry.id}: {names} come from one of {len(refs)} source tables; lineage is product-level"
        return {"granularity": Granularity.PRODUCT, "sources": refs, "warnings": [warning], "unsourced": unsourced}
    edges = [_edge(refs[0].name, c, entry.id, c, _IDENTITY) for c in sourced]
    return {"granularity": Granularity.COLUMN, "sources": refs, "edges": edges, "unsourced": unsourced}


def _postgres_namespace(url: str, where: str) -> str:
    """`postgres://host:port/db` from a connection URL, never its user or password."""
    try:
        parts = urlsplit(resolve(url, where))
        port = parts.port or 5432
    except (LakemeshError, ValueError):  # an unset variable, a bad port: still name the kind of source
        return "postgres://unknown"
    return f"postgres://{parts.hostname or 'localhost'}:{port}{parts.path or ''}"


def declared_lineage(entry: ProductEntry, schemas: Mapping[str, Any], outputs: Sequence[str]) -> dict[str, Any]:
    """A Python transform's `build.transform.lineage`, checked against its inputs' and its own columns;
    product-level, with a warning naming the columns, where it declares nothing (Derivation fields)."""
    transform = entry.spec.build.transform
    declared = transform.lineage if transform is not None else {}
    if not declared:
        names = ", ".join(outputs) or "every column"
        hint = "declare it in build.transform.lineage (column: [domain.product.column, ...])"
        warning = f"{entry.id}: {names}: a Python transform's column lineage is not derived; {hint}"
        return {"granularity": Granularity.PRODUCT, "warnings": [warning]}
    edges: list[ColumnEdge] = []
    warnings = [f"{entry.id}.{c}: no lineage declared; lineage is product-level" for c in outputs if c not in declared]
    for column, feeds in declared.items():
        if outputs and column not in outputs:
            warnings.append(f"{entry.id}: build.transform.lineage names {column}, not a column of its contract")
            continue
        for text in feeds:
            found = _declared_edge(text, schemas, entry.id, column)
            if isinstance(found, str):
                warnings.append(found)
            else:
                edges.append(found)
    return {
        "granularity": Granularity.PRODUCT if warnings else Granularity.COLUMN,
        "edges": edges,
        "warnings": warnings,
    }


def applied_by_name(entry: ProductEntry, schemas: Mapping[str, Any], outputs: Sequence[str]) -> dict[str, Any]:
    """A product built without a transform (a CDC fold, a copy): each column from the inputs' column of
    the same name; CDC's soft-delete column from the events' time and operation (Derivation fields)."""
    refresh = entry.spec.build.refresh
    soft_delete = refresh.deleted_at if refresh.mode is RefreshMode.CDC and refresh.deletes == "soft" else None
    edges, warnings = [], []
    for column in outputs:
        if column == soft_delete:
            edges += [_edge(p, "source_ts_ms", entry.id, column, _TRANSFORMED) for p in schemas]
            edges += [_edge(p, "op", entry.id, column, _CONDITIONAL) for p in schemas]
            continue
        sources = [p for p, columns in schemas.items() if column in columns]
        edges += [_edge(p, column, entry.id, column, _IDENTITY) for p in sources]
        if not sources:
            warnings.append(f"{entry.id}.{column}: no input has a column of that name; lineage is product-level")
    return {
        "granularity": Granularity.PRODUCT if warnings else Granularity.COLUMN,
        "edges": edges,
        "warnings": warnings,
    }


def _declared_edge(text: str, schemas: Mapping[str, Any], product_id: str, column: str) -> ColumnEdge | str:
    """One declared input `domain.product.column[:subtype]` as an edge, or the warning saying what is wrong."""
    where = f"{product_id}.{column}: build.transform.lineage"
    name, _, subtype_text = text.partition(":")
    product, _, source_column = name.strip().rpartition(".")
    try:
        subtype = EdgeSubtype(subtype_text.strip().upper() or EdgeSubtype.TRANSFORMATION.value)
    except ValueError:
        return f"{where}: '{subtype_text}' is not one of {', '.join(s.value.lower() for s in EdgeSubtype)}"
    if product not in schemas:
        return f"{where}: {product or text} is not an input port's product (inputs: {', '.join(schemas) or 'none'})"
    if source_column not in schemas[product]:
        return f"{where}: {product} has no column {source_column}"
    kind = EdgeType.DIRECT if subtype in DIRECT_SUBTYPES else EdgeType.INDIRECT
    return _edge(product, source_column, product_id, column, (Transformation(type=kind, subtype=subtype),))


def _edge(
    product: str, column: str, target_product: str, target: str, transformations: tuple[Transformation, ...]
) -> ColumnEdge:
    return ColumnEdge(
        source=ColumnRef(product=product, column=column),
        target=ColumnRef(product=target_product, column=target),
        transformations=transformations,
    )
