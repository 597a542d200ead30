"""`lakemesh lineage` and `lakemesh impact`: where a product or column comes from and goes to, and what a
contract change does to everything downstream (exit 1 when something breaks: a CI gate)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.tree import Tree

from lakemesh.cli.common import open_mesh, resolve_contract
from lakemesh.cli.render import console, esc, plain, print_json
from lakemesh.errors import LakemeshError

if TYPE_CHECKING:
    from lakemesh.lineage.model import ImpactReport, LineageGraph, LineageNode

_KIND_STYLE = {"breaks": "red", "changes_meaning": "yellow", "unaffected": "dim"}


def lineage(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="A product id, or PRODUCT.COLUMN for column lineage; or `replay`."),
    endpoint: str | None = typer.Argument(
        None, help="With `replay`: the endpoint (its name or url) to catch up; every one when left out."
    ),
    upstream: bool = typer.Option(False, "--upstream", help="Only where it comes from."),
    downstream: bool = typer.Option(False, "--downstream", help="Only what reads it."),
    depth: str = typer.Option("all", "--depth", help="Hops to follow: a number, or `all`."),
    fmt: str = typer.Option(
        "tree", "--format", "-f", help="tree (the terminal), or a picture to stdout: svg, png, dot, mermaid."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The lineage of a product (products and sources) or a column (column edges) as a tree, grouped by
    domain; PII and masked columns marked. Both directions unless `--upstream` or `--downstream`.

    `--format svg > lineage.svg` draws it instead: layers left to right, a box per domain (svg and png need
    Graphviz's `dot`). `lakemesh lineage replay [ENDPOINT]` sends the OpenLineage events an endpoint missed
    while it was down, from the journal, oldest first."""
    from lakemesh.lineage.model import Direction

    if target == "replay":  # product ids have a dot: `replay` is never one
        _replay(ctx, endpoint, as_json)
        return
    if endpoint is not None:
        raise LakemeshError(f"unexpected argument {endpoint!r}", "one product or PRODUCT.COLUMN at a time")
    if upstream and downstream:
        raise LakemeshError("--upstream and --downstream exclude each other", "leave both out for both directions")
    direction = Direction.UPSTREAM if upstream else Direction.DOWNSTREAM if downstream else Direction.BOTH
    graph = open_mesh(ctx).lineage.graph(target, direction, _depth(depth))
    if as_json:
        print_json(graph)
        return
    if fmt != "tree":
        _picture(graph, fmt)
        return
    console.print(lineage_tree(graph))
    for warning in graph.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}", soft_wrap=True)


def _picture(graph: LineageGraph, fmt: str) -> None:
    """The picture on stdout: text as text, svg and png as bytes (redirect them to a file)."""
    import sys

    from lakemesh.lineage.render import render

    picture = render(graph, fmt)
    if isinstance(picture, bytes):
        if sys.stdout.isatty():
            raise LakemeshError(f"a {fmt} picture is binary", f"redirect it to a file: `> lineage.{fmt}`")
        sys.stdout.buffer.write(picture)
        sys.stdout.buffer.flush()
        return
    sys.stdout.write(picture if picture.endswith("\n") else picture + "\n")


def _replay(ctx: typer.Context, endpoint: str | None, as_json: bool) -> None:
    results = open_mesh(ctx).lineage.replay(endpoint)
    if as_json:
        print_json(results)
        return
    for r in results:
        state = f"[red]stopped: {esc(r.error)}[/]" if r.error else "[green]up to date[/]"
        console.print(f"{esc(r.endpoint)}: {r.delivered} event(s) sent, {r.pending} pending; {state}", soft_wrap=True)
    if any(r.error for r in results):
        raise typer.Exit(1)


def _depth(text: str) -> int | None:
    if text.lower() == "all":
        return None
    if not text.isdigit():
        raise LakemeshError(f"--depth '{text}' is neither a number nor `all`", "e.g. --depth 2, or --depth all")
    return int(text)


def lineage_tree(graph: LineageGraph) -> Tree:
    """The root, then per direction: domains, their products, the columns reached and what feeds them."""
    tree = Tree(f"[bold]{esc(graph.root)}[/]")
    feeds: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        how = ", ".join(s.value.lower() for s in edge.subtypes) or "product level"
        feeds[edge.target].append(f"{edge.source} ({how})")
    for label, forward in (("upstream", False), ("downstream", True)):
        reached = _reached(graph, forward)
        nodes = [n for n in graph.nodes if n.key in reached]
        if nodes:
            _grouped(tree.add(f"[bold]{label}[/]"), nodes, feeds)
    return tree


def _reached(graph: LineageGraph, forward: bool) -> set[str]:
    """The keys reached from the root following the edges forward (downstream) or backward (upstream)."""
    nxt: dict[str, list[str]] = defaultdict(list)
    for e in graph.edges:
        (nxt[e.source] if forward else nxt[e.target]).append(e.target if forward else e.source)
    seen: set[str] = set()
    todo = [graph.root]
    while todo:
        for k in nxt[todo.pop()]:
            if k not in seen and k != graph.root:
                seen.add(k)
                todo.append(k)
    return seen


def _grouped(branch: Tree, nodes: list[LineageNode], feeds: dict[str, list[str]]) -> None:
    domains: dict[str, dict[str, list[LineageNode]]] = defaultdict(lambda: defaultdict(list))
    for n in nodes:
        domains[n.domain or "outside sources"][n.product].append(n)
    for domain, products in sorted(domains.items()):
        group = branch.add(f"[cyan]{esc(domain)}[/]")
        for product, members in sorted(products.items()):
            first = members[0]
            about = ", ".join(x for x in (first.layer, first.owner) if x)
            shown = group.add(f"{esc(product)}" + (f" [dim]({esc(about)})[/]" if about else ""))
            for n in sorted(members, key=lambda m: (m.column or "", m.depth)):
                if n.column is not None:
                    shown.add(_column_label(n, feeds.get(n.key, [])))


def _column_label(n: LineageNode, sources: list[str]) -> str:
    marks = "".join(m for m, on in ((" [magenta]\\[pii][/]", n.pii), (" [blue]\\[masked][/]", n.masked)) if on)
    origin = f" [dim]<- {esc('; '.join(sorted(sources)))}[/]" if sources else ""
    return f"{esc(n.column)}{marks} [dim]depth {n.depth}[/]{origin}"


def impact(
    ctx: typer.Context,
    contract: str | None = typer.Argument(None, help="The changed contract: a file, or a contract id here."),
    old: str | None = typer.Option(None, "--old", help="The contract before (a file or an id), with --new."),
    new: str | None = typer.Option(None, "--new", help="The contract after (a file or an id), with --old."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every downstream product and column a contract change reaches, at every depth, with its owner and
    how: breaks, changes meaning, unaffected. Compared with the registered version, or `--old` with `--new`.

    Exit code 0 when nothing breaks (unaffected or changes of meaning only), 1 when something BREAKS:
    a CI pipeline gates on it."""
    if (contract is None) == (old is None or new is None) or (old is None) != (new is None):
        raise LakemeshError("give a CONTRACT_FILE, or both --old and --new", "e.g. `lakemesh impact contract.yaml`")
    mesh = open_mesh(ctx)
    if contract is not None:
        report = mesh.lineage.impact(resolve_contract(ctx, contract))
    else:
        assert old is not None and new is not None
        report = mesh.lineage.impact_between(resolve_contract(ctx, old), resolve_contract(ctx, new))
    if as_json:
        print_json(report)
    else:
        _print_impact(report)
    if report.breaking:
        raise typer.Exit(1)


def _print_impact(report: ImpactReport) -> None:
    console.print(f"[bold]{esc(report.contract_id)}[/] (served by {esc(report.product_id or 'no product')})")
    for change in report.changes:
        console.print(f"  {esc(change)}", soft_wrap=True)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("impact", "product", "column", "depth", "via", "owner"):
        table.add_column(name, overflow="fold")
    order = {"breaks": 0, "changes_meaning": 1, "unaffected": 2}
    for i in sorted(report.impacted, key=lambda i: (order[i.kind.value], i.depth, i.product, i.column or "")):
        kind = f"[{_KIND_STYLE[i.kind.value]}]{i.kind.value}[/]"
        table.add_row(
            kind,
            plain(i.product),
            plain(i.column or "(product)"),
            str(i.depth),
            plain(", ".join(i.via)),
            plain(i.owner or ""),
        )
    if report.impacted:
        console.print(table)
    else:
        console.print("nothing downstream")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}", soft_wrap=True)
