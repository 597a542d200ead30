"""Lineage pictures: the dot Graphviz lays out (clusters per domain, layers left to right, PII and masked
columns marked, names escaped), the svg and png it makes, and the Mermaid flowchart."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.lineage.model import Direction, EdgeSubtype, EdgeType, LineageEdgeView, LineageGraph, LineageNode
from lakemesh.lineage.render import (
    MASKED_FILL,
    PII_FILL,
    PictureError,
    PictureFormat,
    render,
    to_dot,
    to_mermaid,
    to_png,
    to_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
S = EdgeSubtype
HOSTILE_PRODUCT = 'orders.a"b'
HOSTILE_COLUMNS = ("<script>alert(1)</script>", "x -> y", "back\\N & slash")


@pytest.fixture(scope="module", autouse=True)
def graphviz() -> None:
    """Graphviz is a prerequisite of `make test`; missing, it is a failure that says how to get it."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's `dot` is not installed: run `make graphviz` (scripts/ensure-graphviz.sh)")


def node(product: str, column: str | None = None, **kw: object) -> LineageNode:
    domain, layer = {
        "orders.order_events": ("orders", "bronze"),
        "customers.customer_records": ("customers", "bronze"),
        "orders.analytics_orders": ("orders", "silver"),
        "customers.customer_profiles": ("customers", "silver"),
        "orders.daily_sales_summary": ("orders", "gold"),
        "finance.revenue": ("finance", "gold"),
    }.get(product, (None, None))
    return LineageNode.model_validate({"product": product, "column": column, "domain": domain, "layer": layer, **kw})


def edge(source: str, target: str, kind: EdgeType | None = None, *subtypes: EdgeSubtype) -> LineageEdgeView:
    return LineageEdgeView(source=source, target=target, type=kind, subtypes=subtypes)


def shop_graph() -> LineageGraph:
    """The example shop's lineage around analytics_orders.email, three domains and an outside source.

    customer_profiles (silver) has no input in the answer and feeds finance.revenue (gold): nothing but the
    layer bands keeps it right of the bronze products."""
    nodes = [
        node("data/orders/*.csv", depth=2),
        node("orders.order_events", "order_id", owner="orders-team@company.com", depth=1),
        node("orders.order_events", "email", pii=True, depth=1),
        node("orders.order_events", "status", depth=1),
        node("customers.customer_records", "customer_id", depth=1),
        node("orders.analytics_orders", "order_id"),
        node("orders.analytics_orders", "email", pii=True, masked=True),
        node("orders.analytics_orders", "status"),
        node("customers.customer_profiles", depth=1),
        node("orders.daily_sales_summary", "orders_count", depth=1),
        node("finance.revenue", depth=2),
    ]
    edges = [
        edge("data/orders/*.csv", "orders.order_events"),
        edge("orders.order_events.order_id", "orders.analytics_orders.order_id", EdgeType.DIRECT, S.IDENTITY),
        edge("orders.order_events.email", "orders.analytics_orders.email", EdgeType.DIRECT, S.TRANSFORMATION),
        edge("orders.order_events.status", "orders.analytics_orders.status", EdgeType.DIRECT, S.IDENTITY),
        edge("customers.customer_records.customer_id", "orders.analytics_orders.order_id", EdgeType.INDIRECT, S.JOIN),
        edge(
            "orders.analytics_orders.order_id",
            "orders.daily_sales_summary.orders_count",
            EdgeType.DIRECT,
            S.AGGREGATION,
        ),
        edge("orders.analytics_orders.status", "orders.daily_sales_summary.orders_count", EdgeType.INDIRECT, S.FILTER),
        edge("customers.customer_profiles", "finance.revenue"),
    ]
    root = "orders.analytics_orders.email"
    return LineageGraph(root=root, direction=Direction.BOTH, depth=None, nodes=nodes, edges=edges)


def hostile_graph() -> LineageGraph:
    """Names a user could write in a contract: quotes, markup, arrows, backslash escapes of dot."""
    nodes = [node("orders.order_events", "id")] + [
        LineageNode(product=HOSTILE_PRODUCT, column=c, domain='d"<&>', layer="silver", owner="<b>x</b>", pii=True)
        for c in HOSTILE_COLUMNS
    ]
    edges = [
        edge("orders.order_events.id", f"{HOSTILE_PRODUCT}.{c}", EdgeType.DIRECT, S.IDENTITY) for c in HOSTILE_COLUMNS
    ]
    return LineageGraph(root=HOSTILE_PRODUCT, direction=Direction.DOWNSTREAM, depth=1, nodes=nodes, edges=edges)


@pytest.fixture
def shop() -> LineageGraph:
    return shop_graph()


@pytest.fixture
def hostile() -> LineageGraph:
    return hostile_graph()


def svg_tree(svg: bytes) -> ET.Element:
    return ET.fromstring(svg)


def shown(svg: bytes) -> set[str]:
    """Every text the svg shows (Graphviz splits a cell's text at font changes)."""
    return {(t.text or "").strip() for t in svg_tree(svg).iter(f"{SVG}text")}


def box_centres(svg: bytes) -> dict[str, float]:
    """Product name -> the x of its box's centre (in LR layout, one rank is one column of centres)."""
    centres = {}
    for group in svg_tree(svg).iter(f"{SVG}g"):
        if group.attrib.get("class") != "node":
            continue
        name = next(t.text for t in group.iter(f"{SVG}text") if t.attrib.get("font-weight") == "bold")
        xs = [float(pt.split(",")[0]) for poly in group.iter(f"{SVG}polygon") for pt in poly.attrib["points"].split()]
        centres[str(name)] = (min(xs) + max(xs)) / 2
    return centres


def mermaid_id(mermaid: str, label: str) -> str:
    """The id Mermaid gives the node or subgraph labelled `label`."""
    (found,) = re.findall(rf'^\s*(?:subgraph )?(\w+) ?\["{re.escape(label)}"\]$', mermaid, re.M)
    return found


def test_dot_has_one_cluster_per_domain_and_one_for_outside_sources(shop: LineageGraph) -> None:
    dot = to_dot(shop)
    clusters = re.findall(r'subgraph "(cluster_[^"]*)"', dot)
    assert sorted(clusters) == ["cluster__outside", "cluster_customers", "cluster_finance", "cluster_orders"]
    assert "rankdir=LR" in dot
    checked = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    assert checked.returncode == 0 and checked.stderr == b"", checked.stderr


def test_dot_edges_solid_dashed_and_bold_by_kind(shop: LineageGraph) -> None:
    edges = [line.strip() for line in to_dot(shop).splitlines() if "->" in line and "invis" not in line]
    assert len(edges) == len(shop.edges)
    assert sum("style=solid" in e for e in edges) == 4
    dashed = [e for e in edges if "style=dashed" in e]
    assert [re.search(r'label="([^"]*)"', e).group(1) for e in dashed] == ["join", "filter"]  # type: ignore[union-attr]
    assert sum("style=bold" in e and "#888888" in e for e in edges) == 2
    assert any('label="aggregation"' in e for e in edges)  # a direct edge that is more than a copy says so
    assert not any("identity" in e for e in edges)


def test_svg_is_xml_with_every_label_and_pii_and_masked_marked(shop: LineageGraph) -> None:
    svg = to_svg(shop)
    root = svg_tree(svg)
    assert root.tag == f"{SVG}svg"
    texts = shown(svg)
    for n in shop.nodes:
        assert n.product in texts and (n.column is None or n.column in texts)
    assert {"outside sources", "orders", "customers", "finance", "join", "filter"} <= texts
    fills = [p.attrib.get("fill", "").lower() for p in root.iter(f"{SVG}polygon")]
    assert fills.count(PII_FILL) == 1  # order_events.email
    assert fills.count(MASKED_FILL) == 1  # analytics_orders.email, masked wins the colour
    assert {"PII", "PII, masked"} <= texts  # tagged too, for a grey print


def test_root_highlighted(shop: LineageGraph) -> None:
    dot = to_dot(shop)
    (row,) = [cell for cell in re.findall(r"<TD[^>]*>.*?</TD>", dot) if "#e67e22" in cell]
    assert ">email <" in row and "<B>" in row


def test_layers_left_to_right_across_domains(shop: LineageGraph) -> None:
    svg = to_svg(shop)
    x = box_centres(svg)
    assert len(x) == len({n.product for n in shop.nodes})
    layer = {n.product: n.layer for n in shop.nodes}
    order = [None, "bronze", "silver", "gold"]
    for a in x:
        for b in x:
            if order.index(layer[a]) < order.index(layer[b]):
                assert x[a] < x[b], f"{a} ({layer[a]}) is not left of {b} ({layer[b]})"


def test_png_is_a_png(shop: LineageGraph) -> None:
    png = to_png(shop)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_hostile_names_are_escaped_in_dot_and_svg(hostile: LineageGraph) -> None:
    dot = to_dot(hostile)
    assert "<script>" not in dot and "&lt;script&gt;" in dot
    svg = to_svg(hostile)  # Graphviz accepts it
    assert b"<script" not in svg
    texts = shown(svg)
    assert {*HOSTILE_COLUMNS, HOSTILE_PRODUCT, 'd"<&>'} <= texts  # the names come back as plain text
    assert "silver · <b>x</b>" in texts  # the owner's markup, as text not bold
    assert sum(1 for e in svg_tree(svg).iter(f"{SVG}g") if e.attrib.get("class") == "edge") == 3


def test_mermaid_flowchart_with_domain_subgraphs_and_classes(shop: LineageGraph) -> None:
    mermaid = to_mermaid(shop)
    assert mermaid.startswith("flowchart LR\n")
    for domain in ("orders", "customers", "finance", "outside sources"):
        assert re.search(rf'^  subgraph d\d+ \["{domain}"\]$', mermaid, re.M), domain
    assert mermaid.count("\n  end\n") == 4
    events = mermaid_id(mermaid, "orders.order_events · bronze")
    assert re.search(rf"^    subgraph {events} ", mermaid, re.M)  # a product's columns inside it
    pii = mermaid_id(mermaid, "email · PII")
    masked = mermaid_id(mermaid, "email · PII, masked")
    assert f"  class {pii} pii" in mermaid
    assert f"  class {masked} masked" in mermaid and f"  class {masked} root" in mermaid
    for name in ("pii", "masked", "root"):
        assert f"\n  classDef {name} " in mermaid
    assert mermaid.count(" -.->|") == 2 and mermaid.count(" ==> ") == 2 and "linkStyle 0,7 " in mermaid


def test_mermaid_escapes_hostile_names(hostile: LineageGraph) -> None:
    mermaid = to_mermaid(hostile)
    labels = re.findall(r'\["(.*)"\]', mermaid)
    assert len(labels) == 2 + 2 + 1 + len(HOSTILE_COLUMNS)  # 2 domains, 2 products, their columns
    assert all('"' not in label and "<" not in label and ">" not in label for label in labels)
    assert "#lt;script#gt;alert(1)#lt;/script#gt; · PII" in labels
    assert "orders.a#quot;b · silver · PII" not in labels and "orders.a#quot;b · silver" in labels


def test_render_by_format(shop: LineageGraph) -> None:
    assert render(shop, "dot") == to_dot(shop)
    assert render(shop, PictureFormat.MERMAID) == to_mermaid(shop)
    assert render(shop, "svg").startswith(b"<?xml")  # type: ignore[union-attr]
    assert render(shop, "png")[:4] == b"\x89PNG"
    with pytest.raises(PictureError, match="unknown lineage picture format 'jpeg'") as caught:
        render(shop, "jpeg")
    assert caught.value.hint == "use one of: dot, mermaid, svg, png"


def test_missing_graphviz_names_the_package_and_the_text_formats(
    shop: LineageGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    with pytest.raises(LakemeshError, match="Graphviz's `dot` is not installed") as caught:
        to_png(shop)
    assert caught.value.hint and "graphviz" in caught.value.hint and "--format mermaid" in caught.value.hint
    assert to_dot(shop).startswith("digraph")  # the text formats need nothing


def test_dot_too_slow_is_an_error_naming_the_size(shop: LineageGraph) -> None:
    with pytest.raises(PictureError, match=r"longer than 1e-06 s .* \(11 nodes, 8 edges\)") as caught:
        to_svg(shop, timeout=1e-6)
    assert caught.value.hint and "--depth" in caught.value.hint


def test_edge_to_a_node_the_answer_left_out_still_draws(shop: LineageGraph) -> None:
    graph = shop.model_copy(update={"edges": [*shop.edges, edge("orders.analytics_orders.total", "elsewhere")]})
    svg = to_svg(graph)
    assert {"total", "elsewhere"} <= shown(svg)
    assert to_dot(graph).count("<TD PORT=") == to_dot(shop).count("<TD PORT=") + 1  # a row of its product
