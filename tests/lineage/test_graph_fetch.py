"""A walk that reads the catalog a hop at a time answers exactly what the whole lineage loaded in memory
answers: products, columns, product-level lineage on the way, outside sources, impact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakemesh.catalog import Catalog
from lakemesh.catalog.lineage import CatalogFetch, LineageWrite, load_current, write_lineage
from lakemesh.lineage.graph import PARTIAL, LineageIndex, derived_pii, lineage_graph
from lakemesh.lineage.impact import impact_report
from lakemesh.lineage.model import Direction
from lakemesh.spec.diff import Change, ContractDiff

# a.src (from a file) -> b.py (Python, product-level) -> c.end ; a.src -> d.col (column lineage)
PRODUCTS: dict[str, dict[str, Any]] = {
    "a.src": {"columns": ["x", "y"], "sources": ["data/a/*.csv"], "pii": ["x"]},
    "b.py": {"columns": ["z"], "inputs": ["a.src"], "product_level": ["z"]},
    "c.end": {"columns": ["w"], "inputs": ["b.py"]},
    "d.col": {"columns": ["x2", "n"], "inputs": ["a.src"], "masked": ["x2"]},
}
EDGES = [
    ("data/a/*.csv", "x", "a.src", "x", "DIRECT", "IDENTITY"),
    ("data/a/*.csv", "y", "a.src", "y", "DIRECT", "IDENTITY"),
    ("b.py", "z", "c.end", "w", "DIRECT", "IDENTITY"),
    ("a.src", "x", "d.col", "x2", "DIRECT", "TRANSFORMATION"),
    ("a.src", "y", "d.col", "x2", "INDIRECT", "FILTER"),
    ("a.src", "x", "d.col", "n", "DIRECT", "AGGREGATION"),
]


def _edge(row: tuple[str, ...], masking: bool = False) -> dict[str, Any]:
    names = ("source_product", "source_column", "target_product", "target_column", "type", "subtypes")
    return {**dict(zip(names, row, strict=True)), "masking": masking}


def _write() -> LineageWrite:
    write = LineageWrite()
    for pid, spec in PRODUCTS.items():
        sources = [{"kind": "files", "namespace": "file:///m", "name": n} for n in spec.get("sources", [])]
        level = spec.get("product_level", [])
        write.versions.append(
            {
                "product_id": pid,
                "fingerprint": "f1",
                "granularity": "product" if level else "column",
                "domain": pid.split(".")[0],
                "layer": "silver",
                "owner": f"{pid}@example.com",
                "inputs": spec.get("inputs", []),
                "sources": sources,
                "warnings": [],
                "columns": spec["columns"],
                "product_level": level,
                "pii": spec.get("pii", []),
                "masked": spec.get("masked", []),
            }
        )
        readers = [*spec.get("inputs", []), *spec.get("sources", [])]
        own = [_edge(e) for e in EDGES if e[2] == pid]
        links = [_edge((n, "", pid, "", "PRODUCT", PARTIAL if level else "")) for n in readers]
        write.edges[pid] = own + links
    return write


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    catalog = Catalog.connect(f"sqlite:///{Path(tmp_path_factory.mktemp('fetch')) / 'c.db'}")
    write_lineage(catalog.engine, _write(), catalog.url, derived_pii)
    return catalog


CASES = [
    ("a.src.x", Direction.DOWNSTREAM, None),
    ("a.src.y", Direction.BOTH, None),
    ("c.end.w", Direction.UPSTREAM, None),
    ("c.end", Direction.BOTH, None),
    ("data/a/*.csv", Direction.DOWNSTREAM, 2),
    ("d.col.x2", Direction.BOTH, 1),
]


@pytest.mark.parametrize(("target", "direction", "depth"), CASES)
def test_a_walk_over_the_catalog_is_the_walk_over_everything(
    catalog: Catalog, target: str, direction: Direction, depth: int | None
) -> None:
    everything = lineage_graph(LineageIndex.from_rows(load_current(catalog.engine)), target, direction, depth)
    fetched = lineage_graph(LineageIndex.from_catalog(CatalogFetch(catalog.engine)), target, direction, depth)
    assert fetched.nodes == everything.nodes
    assert sorted(e.model_dump_json() for e in fetched.edges) == sorted(e.model_dump_json() for e in everything.edges)
    assert fetched.warnings == everything.warnings
    assert len(fetched.nodes) > 1


def test_the_walks_see_product_level_lineage_pii_copies_and_masks(catalog: Catalog) -> None:
    down = lineage_graph(LineageIndex.from_catalog(CatalogFetch(catalog.engine)), "a.src.x", Direction.DOWNSTREAM, None)
    nodes = {n.key: n for n in down.nodes}
    assert set(nodes) == {"a.src.x", "b.py", "c.end", "d.col.x2", "d.col.n"}
    assert nodes["d.col.x2"].pii and nodes["d.col.x2"].masked  # a copy of a pii column, masked
    assert not nodes["d.col.n"].pii  # an aggregate
    assert down.warnings == ["b.py: lineage of z is product-level (any input column may feed it)"]


def test_impact_over_the_catalog_is_impact_over_everything(catalog: Catalog) -> None:
    diff = ContractDiff("1", "2", [Change("src.x", "column removed", "column 'x' was removed", True)])
    everything = impact_report(LineageIndex.from_rows(load_current(catalog.engine)), diff, "a.src", "a.src")
    fetched = impact_report(LineageIndex.from_catalog(CatalogFetch(catalog.engine)), diff, "a.src", "a.src")
    assert fetched == everything
    kinds = {f"{i.product}.{i.column}": i.kind.value for i in fetched.impacted}
    assert kinds == {
        "d.col.x2": "breaks",
        "d.col.n": "breaks",
        "b.py.None": "changes_meaning",
        "c.end.None": "changes_meaning",
    }
