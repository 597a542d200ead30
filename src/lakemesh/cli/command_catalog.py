"""`lakemesh catalog sync|rebuild|search|show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.panel import Panel
from rich.table import Table

from lakemesh.catalog.records import ChangeKind
from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, esc, metrics_line, plain, print_json, styled, working
from lakemesh.quality.results import CheckStatus

if TYPE_CHECKING:
    from lakemesh.catalog import ProductRecord, QualityRecord, SyncReport

CHANGE_STYLE = {ChangeKind.CREATED: "green", ChangeKind.UPDATED: "yellow", ChangeKind.REMOVED: "red"}

app = typer.Typer(help="Register the workspace in the catalog, search it, show products.", no_args_is_help=True)


@app.command()
def sync(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Register domains, products and contracts; every change becomes a new version with its history."""
    mesh = open_mesh(ctx)
    with working(f"syncing {mesh.root.name} into {mesh.catalog_url}"):
        report = mesh.sync()
    if as_json:
        print_json(report)
        return
    render_sync(report)
    console.print(f"catalog: {esc(mesh.catalog.url)}")


@app.command()
def rebuild(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Re-create a lost or reset catalog from the tables: register the workspace, restore the erased
    subjects from the lakehouse's tombstones (so no run brings them back), and adopt the catalog as the
    lakehouse's. lakemesh refuses to use a reset catalog until this is done."""
    mesh = open_mesh(ctx)
    result = mesh.rebuild_catalog()
    if as_json:
        print_json(result)
        return
    console.print(
        f"catalog {result.catalog_id} at {mesh.catalog.url} rebuilt over {result.tables} tables: "
        f"{result.registered} entities registered, {result.erased_subjects_restored} erased subject(s) "
        "restored from the tombstones",
        soft_wrap=True,
    )


def render_sync(report: SyncReport) -> None:
    for change in report.changed:
        style = CHANGE_STYLE[change.change]
        what = f"{change.change.value:>8}"
        console.print(f"[{style}]{what}[/] {change.kind.value} [bold]{esc(change.id)}[/] v{change.version}")
        if change.change is ChangeKind.UPDATED:
            for line in change.summary[:8]:
                console.print(f"           {esc(line)}", soft_wrap=True)
    parts = [f"{report.count(c)} {c.value}" for c in ChangeKind]
    console.print(", ".join(parts))


@app.command()
def search(
    ctx: typer.Context,
    query: str = typer.Argument("", help="Words to look for; empty lists every product."),
    domain: str | None = typer.Option(None, "--domain", help="Only this domain."),
    tag: str | None = typer.Option(None, "--tag", help="Only products with this tag."),
    owner: str | None = typer.Option(None, "--owner", help="Only products of this owner."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rank products by full-text match over names, descriptions, tags, columns and column docs."""
    hits = open_mesh(ctx).search(query, domain=domain, tag=tag, owner=owner, limit=limit)
    if as_json:
        print_json(hits)
        return
    if not hits:
        console.print("no products match" + (f" '{query}'" if query else ""), markup=False)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("product", "layer", "owner", "tags", "description"):
        table.add_column(name, overflow="fold")
    for h in hits:
        table.add_row(
            styled(h.product_id, "bold"),
            plain(h.layer.value),
            plain(h.owner),
            plain(", ".join(h.tags)),
            plain((h.description or "")[:70]),
        )
    console.print(table)


@app.command()
def show(
    ctx: typer.Context,
    product_id: str = typer.Argument(..., help="Product id, e.g. orders.analytics_orders."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A product with its ports, contract, columns, SLA, owner and version history."""
    record = open_mesh(ctx).product_record(product_id)
    if as_json:
        print_json(record)
        return
    render_product(record)


def render_product(record: ProductRecord) -> None:
    doc, row = record.document, record.product
    sla = ", ".join(f"{k} {v}" for k, v in (doc.get("sla") or {}).items() if v is not None) or "none"
    lines = [
        f"[bold]{esc(row.name)}[/]  ({esc(row.layer.value)}, {esc(row.status.value)}, v{esc(row.spec_version)})",
        esc((doc.get("description") or {}).get("purpose") or ""),
        f"owner: {esc(row.owner or '-')}   team: {esc(_team(doc))}",
        f"tags: {esc(', '.join(row.tags) or '-')}",
        f"SLA: {esc(sla)}",
    ]
    for port in doc.get("inputPorts") or []:
        lines.append(f"input  [cyan]{esc(port['name'])}[/] <- contract {_port_contract(port)}")
    for port in doc.get("outputPorts") or []:
        lines.append(f"output [cyan]{esc(port['name'])}[/] -> contract {_port_contract(port)}")
    if record.contract:
        c = record.contract
        lines.append(esc(f"contract: {c.get('id')} {c.get('version')} (ODCS {c.get('apiVersion')}, {c.get('status')})"))
    console.print(Panel("\n".join(lines), title=plain(row.id), expand=False))
    if record.columns:
        cols = Table(box=None, header_style="bold", pad_edge=False, title="columns", title_justify="left")
        for name in ("column", "type", "req", "pk", "classification", "tags", "description"):
            cols.add_column(name, overflow="fold")
        for col in record.columns:
            cols.add_row(
                plain(col.name),
                plain(col.physical_type or col.logical_type),
                "✓" if col.required else "",
                "✓" if col.primary_key else "",
                plain(col.classification),
                plain(", ".join(col.tags)),
                plain((col.description or "")[:60]),
            )
        console.print(cols)
    if record.quality:
        render_quality_summary(record.quality)
    hist = Table(box=None, header_style="bold", pad_edge=False, title="history", title_justify="left")
    for name in ("version", "change", "when", "who", "what"):
        hist.add_column(name, overflow="fold")
    for v in record.versions:
        when = v.changed_at.strftime("%Y-%m-%d %H:%M") if v.changed_at else ""
        hist.add_row(str(v.version), v.change.value, when, plain(v.changed_by), plain("; ".join(v.summary[:4])))
    console.print(hist)


def _port_contract(port: dict[str, Any]) -> str:
    return esc(f"{port['contractId']} {port.get('version') or ''}")


def _team(doc: dict[str, Any]) -> str:
    team = doc.get("team")
    return str(team.get("name", "-")) if isinstance(team, dict) else "-"


def render_quality_summary(rows: list[QualityRecord]) -> None:
    """The latest quality check of a product: computed metrics and the checks that did not pass."""
    when = rows[0].checked_at.strftime("%Y-%m-%d %H:%M")
    metrics = {r.check_name.removeprefix("metric."): r.observed for r in rows if r.is_metric}
    checks = [r for r in rows if not r.is_metric]
    version = rows[0].table_version
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float) or v is None}
    # the age was measured when the check ran, not now: say so
    line = metrics_line(numbers, taken=f"{when} UTC")
    passed = sum(r.status is CheckStatus.PASSED for r in checks)
    console.print(
        f"[bold]quality[/] (checked {when}, table v{version}): {passed}/{len(checks)} checks passed; {line}",
        soft_wrap=True,
    )
    for r in checks:
        if r.status is not CheckStatus.PASSED:
            status = r.status.value if r.status else "?"
            count = "" if r.unexpected_count is None else f" ({r.unexpected_count:,} rows)"
            severity = r.severity.value if r.severity else ""
            console.print(f"  {status:<8} {esc(r.check_name)}{count} [dim]{esc(severity)}[/]")
