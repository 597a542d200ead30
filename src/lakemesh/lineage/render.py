"""Lineage as a picture: Graphviz dot (and svg or png through the `dot` binary) or a Mermaid flowchart.

A picture must read at a glance, so the layout carries the meaning: data flows left to right, outside
sources first, then bronze, silver and gold, each layer in its own band of columns; products are grouped
in one box per domain; a column graph draws each product as one table listing its columns, PII and
masked columns coloured (and tagged, for a grey print). Direct edges are solid, indirect ones dashed and
labelled with what they do (join, filter...), product-level ones bold grey: "these feed this product,
the columns could not be derived".

Product and column names are user input, so every label is escaped for the syntax it lands in; node ids
in the output are ours (`p3`, `p3c1`), never a name, so a name cannot break or inject into the graph.

svg and png come from Graphviz's own `dot` binary (the reference layout engine, which pip cannot
install: the `graphviz` system package provides it), run as a subprocess with a timeout.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from itertools import pairwise

from lakemesh.errors import LakemeshError
from lakemesh.lineage.model import EdgeSubtype, EdgeType, LineageEdgeView, LineageGraph, LineageNode

DOT_TIMEOUT = 60.0  # seconds; a depth-all answer on a large mesh lays out in a few

# Where a layer sits, left to right; outside sources (layer None) come first, unknown layers last.
LAYER_ORDER = (None, "bronze", "silver", "gold")

PII_FILL = "#fde0dc"
MASKED_FILL = "#dbe9f6"
ROOT_COLOUR = "#e67e22"
HEADER_FILL = "#eeeeee"
PRODUCT_EDGE_COLOUR = "#888888"
OUTSIDE = "outside sources"


class PictureFormat(str, Enum):
    DOT = "dot"
    MERMAID = "mermaid"
    SVG = "svg"
    PNG = "png"


class PictureError(LakemeshError):
    """A lineage picture cannot be made: Graphviz missing, too slow, or refusing the graph."""


@dataclass
class _Box:
    """One product as drawn: a table of its columns (or a plain box when the graph has none of them)."""

    id: str
    product: str
    domain: str | None
    layer: str | None
    owner: str | None = None
    root: bool = False
    pii: bool = False
    masked: bool = False
    columns: list[LineageNode] = field(default_factory=list)


@dataclass
class _Layout:
    """The graph grouped for drawing: boxes per product, and where each node key ends up."""

    boxes: list[_Box]
    ends: dict[str, tuple[_Box, int | None]]  # node key -> its box and the column's row (None: the box)


def _layer_rank(layer: str | None) -> int:
    return LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)


def _layout(graph: LineageGraph) -> _Layout:
    """Group nodes by product, in layer order, and index every key an edge may name."""
    boxes: dict[str, _Box] = {}
    for node in graph.nodes:
        box = boxes.get(node.product)
        if box is None:
            box = boxes[node.product] = _Box(f"p{len(boxes)}", node.product, node.domain, node.layer)
        box.owner = box.owner or node.owner
        if node.column is None:
            box.pii, box.masked = node.pii, node.masked
        elif all(c.column != node.column for c in box.columns):
            box.columns.append(node)
    for box in boxes.values():
        box.root = box.product == graph.root
    layout = _Layout(sorted(boxes.values(), key=lambda b: _layer_rank(b.layer)), {})
    for box in layout.boxes:
        layout.ends[box.product] = (box, None)
        layout.ends.update({c.key: (box, i) for i, c in enumerate(box.columns)})
    for key in (k for edge in graph.edges for k in (edge.source, edge.target) if k not in layout.ends):
        _add_missing_end(layout, key)
    return layout


def _add_missing_end(layout: _Layout, key: str) -> None:
    """An edge naming a node the answer left out still draws: as a column of its product if the key
    starts with a known product id, else as a box of its own among the outside sources."""
    for box in layout.boxes:
        if key.startswith(f"{box.product}."):
            column = key[len(box.product) + 1 :]
            box.columns.append(LineageNode(product=box.product, column=column, domain=box.domain, layer=box.layer))
            layout.ends[key] = (box, len(box.columns) - 1)
            return
    box = _Box(f"p{len(layout.boxes)}", key, None, None)
    layout.boxes.append(box)
    layout.ends[key] = (box, None)


def _by_domain(boxes: list[_Box]) -> Iterator[tuple[str | None, list[_Box]]]:
    """Domains in the order of their leftmost layer; outside sources (no domain) as one group."""
    groups: dict[str | None, list[_Box]] = {}
    for box in boxes:
        groups.setdefault(box.domain, []).append(box)
    yield from groups.items()


def _marks(node: LineageNode | _Box) -> str:
    tags = (["PII"] if node.pii else []) + (["masked"] if node.masked else [])
    return ", ".join(tags)


def _fill(node: LineageNode | _Box) -> str | None:
    return MASKED_FILL if node.masked else PII_FILL if node.pii else None


def _subtype_label(edge: LineageEdgeView) -> str:
    """Indirect edges say what they do; direct ones only when it is more than a copy."""
    shown = [s for s in edge.subtypes if edge.type is EdgeType.INDIRECT or s is not EdgeSubtype.IDENTITY]
    return ", ".join(s.value.lower().replace("_", " ") for s in shown)


def _title(graph: LineageGraph) -> str:
    depth = "all" if graph.depth is None else str(graph.depth)
    return f"lineage of {graph.root} ({graph.direction.value}, depth {depth})"


# --- dot ---------------------------------------------------------------------------------------------


def _h(text: str) -> str:
    """Text for a Graphviz HTML-like label: entities for & < > " ', control characters as spaces, and
    backslashes doubled, since Graphviz expands `\\N` (the node's name), `\\G`... even in these labels."""
    clean = "".join(ch if ch >= " " else " " for ch in text).replace("\\", "\\\\")
    return html.escape(clean, quote=True).replace("&#x27;", "&#39;")


def _q(text: str) -> str:
    """A dot double-quoted string: backslashes doubled so `\\N`, `\\G`... stay literal text."""
    clean = "".join(ch if ch >= " " else " " for ch in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_header(box: _Box) -> str:
    sub = " · ".join(x for x in (box.layer or "outside source", box.owner, _marks(box)) if x)
    fill = ROOT_COLOUR if box.root else _fill(box) or HEADER_FILL
    return f'<TR><TD BGCOLOR="{fill}"><B>{_h(box.product)}</B><BR/><FONT POINT-SIZE="9">{_h(sub)}</FONT></TD></TR>'


def _dot_row(index: int, column: LineageNode, root: str) -> str:
    marks = _marks(column)
    text = _h(column.column or "") + (f' <FONT POINT-SIZE="9">{_h(marks)}</FONT>' if marks else "")
    if column.key == root:
        text = f"<B>{text}</B>"
    fill = _fill(column)
    attrs = f' BGCOLOR="{fill}"' if fill else ""
    if column.key == root:
        attrs += f' BORDER="3" COLOR="{ROOT_COLOUR}"'
    return f'<TR><TD PORT="c{index}" ALIGN="LEFT"{attrs}>{text}</TD></TR>'


def _dot_box(box: _Box, root: str) -> str:
    rows = [_dot_header(box)] + [_dot_row(i, c, root) for i, c in enumerate(box.columns)]
    border = f'BORDER="2" COLOR="{ROOT_COLOUR}"' if box.root else 'BORDER="0"'
    table = f'<TABLE {border} CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">{"".join(rows)}</TABLE>'
    tip = " · ".join(x for x in (box.product, box.domain, box.layer, box.owner) if x)
    return f"{box.id} [label=<{table}> tooltip={_q(tip)}]"


def _dot_cluster(domain: str | None, boxes: list[_Box], root: str) -> list[str]:
    name, label = ("cluster__outside", OUTSIDE) if domain is None else (f"cluster_{domain}", domain)
    lines = [f"  subgraph {_q(name)} {{", f'    label=<<B>{_h(label)}</B>> style="rounded,filled"']
    lines.append('    fillcolor="#f7f7f7" color="#bbbbbb"' if domain else '    fillcolor="#fffbe6" color="#d9c27a"')
    lines += [f"    {_dot_box(box, root)}" for box in boxes]
    return [*lines, "  }"]


def _dot_end(layout: _Layout, key: str, side: str) -> str:
    box, row = layout.ends[key]
    return box.id if row is None else f"{box.id}:c{row}:{side}"


def _dot_edge(layout: _Layout, edge: LineageEdgeView) -> str:
    ends = f"{_dot_end(layout, edge.source, 'e')} -> {_dot_end(layout, edge.target, 'w')}"
    if edge.type is None:
        return f'  {ends} [style=bold penwidth=2.5 color="{PRODUCT_EDGE_COLOUR}"]'
    style = "solid" if edge.type is EdgeType.DIRECT else "dashed"
    label = _subtype_label(edge)
    return f"  {ends} [style={style}" + (f" label={_q(label)}]" if label else "]")


def _dot_layer_bands(boxes: list[_Box]) -> list[str]:
    """Invisible fences between consecutive layers, so every bronze box sits left of every silver one.

    A fence is a point node; each box of the layer before it points to it (at least one rank on) and it
    points to each box of the layer after (rank 0 or more). Weight 0 leaves the placement to the real
    edges. `newrank` ranks the whole graph at once, so the fences hold across domain clusters too."""
    layers = sorted({_layer_rank(b.layer) for b in boxes if _layer_rank(b.layer) < len(LAYER_ORDER)})
    lines: list[str] = []
    for before, after in pairwise(layers):
        fence = f"fence{after}"
        lines.append(f'  {fence} [shape=point style=invis width=0 height=0 label=""]')
        lines += [f"  {b.id} -> {fence} [style=invis weight=0]" for b in boxes if _layer_rank(b.layer) == before]
        lines += [
            f"  {fence} -> {b.id} [style=invis weight=0 minlen=0]" for b in boxes if _layer_rank(b.layer) == after
        ]
    return lines


def to_dot(graph: LineageGraph) -> str:
    """The graph in Graphviz's dot language: clusters per domain, layers left to right."""
    layout = _layout(graph)
    lines = [
        "digraph lineage {",
        '  graph [rankdir=LR fontname="Helvetica" fontsize=12 nodesep=0.25 ranksep=0.9 labelloc=t newrank=true]',
        f"  label=<{_h(_title(graph))}>",
        '  node [shape=plain fontname="Helvetica" fontsize=11]',
        '  edge [fontname="Helvetica" fontsize=9 arrowsize=0.7 color="#333333"]',
    ]
    for domain, boxes in _by_domain(layout.boxes):
        lines += _dot_cluster(domain, boxes, graph.root)
    lines += _dot_layer_bands(layout.boxes)
    lines += [_dot_edge(layout, edge) for edge in graph.edges]
    return "\n".join([*lines, "}"]) + "\n"


# --- mermaid -----------------------------------------------------------------------------------------

_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def _m(text: str) -> str:
    """Text for a Mermaid quoted label: entity codes for what Mermaid or its HTML labels would read."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch if ch >= " " else " ") for ch in text)


def _mermaid_label(name: str, detail: str) -> str:
    return f'["{_m(name)}' + (f" · {_m(detail)}" if detail else "") + '"]'


def _mermaid_box(box: _Box) -> list[str]:
    detail = " · ".join(x for x in (box.layer or "outside source", _marks(box)) if x)
    if not box.columns:
        return [f"    {box.id}{_mermaid_label(box.product, detail)}"]
    lines = [f"    subgraph {box.id} {_mermaid_label(box.product, detail)}"]
    lines += [f"      {box.id}c{i}{_mermaid_label(c.column or '', _marks(c))}" for i, c in enumerate(box.columns)]
    return [*lines, "    end"]


def _mermaid_end(layout: _Layout, key: str) -> str:
    box, row = layout.ends[key]
    return box.id if row is None else f"{box.id}c{row}"


def _mermaid_edge(layout: _Layout, edge: LineageEdgeView) -> str:
    source, target = _mermaid_end(layout, edge.source), _mermaid_end(layout, edge.target)
    if edge.type is None:
        return f"  {source} ==> {target}"
    arrow = "-->" if edge.type is EdgeType.DIRECT else "-.->"
    label = _subtype_label(edge)
    return f"  {source} {arrow}" + (f'|"{_m(label)}"|' if label else "") + f" {target}"


def _mermaid_classes(layout: _Layout, root: str) -> list[str]:
    """classDef lines, then which node gets which class (root last, so its outline wins)."""
    lines = [
        f"  classDef pii fill:{PII_FILL},stroke:#c0392b,color:#000",
        f"  classDef masked fill:{MASKED_FILL},stroke:#2c6fbb,color:#000",
        f"  classDef root stroke:{ROOT_COLOUR},stroke-width:3px",
    ]
    members: dict[str, list[str]] = {"pii": [], "masked": [], "root": []}
    for box in layout.boxes:
        nodes: list[tuple[str, LineageNode | _Box, bool]] = [(box.id, box, box.root)]
        nodes += [(f"{box.id}c{i}", c, c.key == root) for i, c in enumerate(box.columns)]
        for node_id, node, is_root in nodes:
            if node.masked or node.pii:
                members["masked" if node.masked else "pii"].append(node_id)
            if is_root:
                members["root"].append(node_id)
    return lines + [f"  class {','.join(ids)} {name}" for name, ids in members.items() if ids]


def to_mermaid(graph: LineageGraph) -> str:
    """The graph as a Mermaid `flowchart LR` (renders in GitHub and GitLab markdown)."""
    layout = _layout(graph)
    lines = ["flowchart LR", f"  %% {_m(_title(graph))}"]
    for number, (domain, boxes) in enumerate(_by_domain(layout.boxes)):
        lines.append(f"  subgraph d{number} {_mermaid_label(domain or OUTSIDE, '')}")
        lines += [line for box in boxes for line in _mermaid_box(box)]
        lines.append("  end")
    lines += [_mermaid_edge(layout, edge) for edge in graph.edges]
    product_edges = [str(i) for i, edge in enumerate(graph.edges) if edge.type is None]
    if product_edges:
        lines.append(f"  linkStyle {','.join(product_edges)} stroke:{PRODUCT_EDGE_COLOUR},stroke-width:3px")
    return "\n".join(lines + _mermaid_classes(layout, graph.root)) + "\n"


# --- svg and png through Graphviz ----------------------------------------------------------------------


def _run_dot(graph: LineageGraph, output: str, timeout: float) -> bytes:
    """Lay the graph out with Graphviz's `dot`, which must be on PATH."""
    binary = shutil.which("dot")
    if binary is None:
        raise PictureError(
            f"cannot draw lineage as {output}: Graphviz's `dot` is not installed",
            hint="install the `graphviz` package (apt-get install graphviz, brew install graphviz), "
            "or use `--format dot` or `--format mermaid`, which need nothing installed",
        )
    try:
        done = subprocess.run(
            [binary, f"-T{output}"], input=to_dot(graph).encode(), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PictureError(
            f"Graphviz took longer than {timeout:g} s to lay out the lineage of {graph.root} "
            f"({len(graph.nodes)} nodes, {len(graph.edges)} edges)",
            hint="draw less with `--depth N`, or write `--format dot` and lay it out yourself",
        ) from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise PictureError(
            f"Graphviz's dot failed to draw the lineage of {graph.root} as {output}: {reason[0]}",
            hint="`--format dot` shows the input it was given; please report it with that file",
        )
    return done.stdout


def to_svg(graph: LineageGraph, timeout: float = DOT_TIMEOUT) -> bytes:
    """The graph as an SVG document (UTF-8 bytes), laid out by Graphviz."""
    return _run_dot(graph, "svg", timeout)


def to_png(graph: LineageGraph, timeout: float = DOT_TIMEOUT) -> bytes:
    """The graph as a PNG image, laid out by Graphviz."""
    return _run_dot(graph, "png", timeout)


def render(graph: LineageGraph, fmt: PictureFormat | str) -> bytes | str:
    """The picture in `fmt`: text for dot and mermaid, bytes for svg and png."""
    try:
        picture = PictureFormat(fmt)
    except ValueError:
        known = ", ".join(f.value for f in PictureFormat)
        raise PictureError(f"unknown lineage picture format {fmt!r}", hint=f"use one of: {known}") from None
    if picture is PictureFormat.DOT:
        return to_dot(graph)
    if picture is PictureFormat.MERMAID:
        return to_mermaid(graph)
    return to_svg(graph) if picture is PictureFormat.SVG else to_png(graph)
