"""Lineage graphs read from the catalog: the example shop upstream and downstream, by product and by
column, bounded by depth; PII followed through copies; product-level lineage on the way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakemesh.catalog.lineage import LineageRows
from lakemesh.errors import NotFoundError
from lakemesh.lineage.graph import LineageIndex, lineage_graph
from lakemesh.lineage.model import Direction, EdgeSubtype, LineageGraph
from lakemesh.mesh import Mesh

EVENTS, SILVER, GOLD = "orders.order_events", "orders.analytics_orders", "orders.daily_sales_summary"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Mesh:
    from tests.conftest import example_copy

    m = Mesh.open(example_copy(tmp_path_factory.mktemp("graph") / "shop"))
    m.sync()
    return m


def _keys(graph: LineageGraph) -> dict[str, int]:
    return {n.key: n.depth for n in graph.nodes}


def test_a_column_downstream_through_silver_to_gold(mesh: Mesh) -> None:
    graph = mesh.lineage.graph(f"{EVENTS}.customer_id", Direction.DOWNSTREAM)
    keys = _keys(graph)
    assert keys[f"{EVENTS}.customer_id"] == 0
    assert keys[f"{SILVER}.customer_id"] == 1
    assert keys[f"{GOLD}.unique_customers"] == 2  # through silver's customer_id, an aggregation
    assert not any(k.startswith("data/") for k in keys)  # nothing upstream
    edge = next(e for e in graph.edges if e.target == f"{GOLD}.unique_customers")
    assert edge.source == f"{SILVER}.customer_id" and edge.subtypes == (EdgeSubtype.AGGREGATION,)


def test_depth_bounds_the_walk(mesh: Mesh) -> None:
    one = _keys(mesh.lineage.graph(f"{EVENTS}.customer_id", Direction.DOWNSTREAM, depth=1))
    assert max(one.values()) == 1 and not any(k.startswith(GOLD) for k in one)
    assert f"{SILVER}.customer_id" in one


def test_a_column_upstream_reaches_the_outside_source(mesh: Mesh) -> None:
    graph = mesh.lineage.graph("customers.customer_profiles.email", Direction.UPSTREAM)
    nodes = {n.key: n for n in graph.nodes}
    assert nodes["customers.customer_records.email"].depth == 1
    source = nodes["data/customers/*.csv.email"]
    assert source.depth == 2 and source.domain is None and source.layer is None
    root = nodes["customers.customer_profiles.email"]
    assert root.pii and root.masked and root.owner == "crm-team@company.com" and root.layer == "silver"
    # an edge is masking where the column read or the column written is masked: every edge into it here
    assert all(e.masking for e in graph.edges if e.target == root.key)
    assert not any(e.masking for e in graph.edges if e.target == "customers.customer_records.signup_date")


def test_a_product_graph_has_products_and_sources(mesh: Mesh) -> None:
    graph = mesh.lineage.graph(SILVER)
    assert _keys(graph) == {SILVER: 0, EVENTS: 1, GOLD: 1, "data/order_events/*.jsonl": 2}
    assert all(e.type is None for e in graph.edges)
    assert _keys(mesh.lineage.graph(SILVER, Direction.DOWNSTREAM)) == {SILVER: 0, GOLD: 1}


def test_unknown_names_say_what_was_meant(mesh: Mesh) -> None:
    with pytest.raises(NotFoundError, match=r"did you mean 'orders\.analytics_orders'"):
        mesh.lineage.graph("orders.analytic_orders")
    with pytest.raises(NotFoundError, match=r"has no column 'statuss'.*did you mean 'status'"):
        mesh.lineage.graph(f"{SILVER}.statuss")


def _rows(versions: list[dict[str, object]], edges: list[tuple[str, str, str, str, str, str]]) -> LineageRows:
    base = {"domain": "d", "layer": "silver", "owner": "o@x", "sources": [], "warnings": [], "masked": []}
    full = [{**base, "granularity": "column", "product_level": [], "pii": [], **v} for v in versions]
    return LineageRows(full, [(*e, False) for e in edges])


def test_a_pii_column_copied_under_another_name_downstream_is_pii() -> None:
    index = LineageIndex.from_rows(
        _rows(
            [
                {"product_id": "a.people", "inputs": [], "columns": ["email", "id"], "pii": ["email"]},
                {"product_id": "b.mail", "inputs": ["a.people"], "columns": ["contact", "n", "id"]},
                {"product_id": "c.last", "inputs": ["b.mail"], "columns": ["who"]},
            ],
            [
                ("a.people", "email", "b.mail", "contact", "DIRECT", "IDENTITY"),
                ("a.people", "email", "b.mail", "n", "DIRECT", "AGGREGATION"),
                ("a.people", "email", "b.mail", "id", "INDIRECT", "FILTER"),
                ("b.mail", "contact", "c.last", "who", "DIRECT", "TRANSFORMATION"),
            ],
        )
    )
    nodes = {n.key: n for n in lineage_graph(index, "a.people.email", Direction.DOWNSTREAM, None).nodes}
    assert nodes["b.mail.contact"].pii and nodes["c.last.who"].pii  # a copy, then a copy of the copy
    assert not nodes["b.mail.n"].pii and not nodes["b.mail.id"].pii  # a count, a filter: nobody's data


def test_product_level_lineage_on_the_way_is_an_edge_to_the_product_with_a_warning() -> None:
    index = LineageIndex.from_rows(
        _rows(
            [
                {"product_id": "a.src", "inputs": [], "columns": ["x", "y"]},
                {
                    "product_id": "b.py",
                    "inputs": ["a.src"],
                    "columns": ["z"],
                    "granularity": "product",
                    "product_level": ["z"],
                },
                {"product_id": "c.end", "inputs": ["b.py"], "columns": ["w"]},
            ],
            [("b.py", "z", "c.end", "w", "DIRECT", "IDENTITY")],
        )
    )
    down = lineage_graph(index, "a.src.x", Direction.DOWNSTREAM, None)
    assert {n.key: n.depth for n in down.nodes} == {"a.src.x": 0, "b.py": 1, "c.end": 2}
    assert any(e.source == "a.src.x" and e.target == "b.py" and e.type is None for e in down.edges)
    assert down.warnings == ["b.py: lineage of z is product-level (any input column may feed it)"]
    up = lineage_graph(index, "c.end.w", Direction.UPSTREAM, None)
    assert {n.key: n.depth for n in up.nodes} == {"c.end.w": 0, "b.py.z": 1, "a.src": 2}
    assert up.warnings


def test_a_copy_of_a_pii_column_in_the_shop_is_pii_though_its_contract_does_not_say_so(shop: Path) -> None:
    contract = shop / "domains/orders/products/analytics_orders/contract.yaml"
    doc = yaml.safe_load(contract.read_text())
    column = next(p for p in doc["schema"][0]["properties"] if p["name"] == "customer_id")
    column["tags"] = [t for t in column.get("tags", []) if t != "pii"]
    contract.write_text(yaml.safe_dump(doc, sort_keys=False))
    untagged = Mesh.open(shop)
    untagged.sync()
    # downstream only, so nothing upstream is read: the refresh stored silver's copy as pii
    graph = untagged.lineage.graph(f"{SILVER}.customer_id", Direction.DOWNSTREAM)
    nodes = {n.key: n for n in graph.nodes}
    assert nodes[f"{SILVER}.customer_id"].pii
    assert not nodes[f"{GOLD}.unique_customers"].pii  # a count of customers is nobody's data
    assert not untagged.lineage.graph(f"{SILVER}.status").nodes[0].pii
