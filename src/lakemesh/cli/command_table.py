"""`lakemesh history|restore|optimize|vacuum`: a product's Delta table over time, and its upkeep."""

from __future__ import annotations

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, esc, plain, print_json
from lakemesh.errors import LakemeshError


def history(
    ctx: typer.Context,
    product_id: str = typer.Argument(..., help="Product id."),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every version of the product's table: when, which operation, rows and files, which run."""
    rows = open_mesh(ctx).tables.history(product_id, limit)
    if as_json:
        print_json(rows)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("version", "when", "operation", "metrics", "run"):
        table.add_column(name, overflow="fold")
    for h in rows:
        when = h.timestamp.strftime("%Y-%m-%d %H:%M:%S")
        shown = ", ".join(f"{k}={v}" for k, v in h.operation_metrics.items() if k.startswith("num") and v)[:90]
        table.add_row(str(h.version), when, plain(h.operation), plain(shown), plain(h.run))
    console.print(table)


def restore(
    ctx: typer.Context,
    product_id: str | None = typer.Argument(None, help="Product id (not with --mesh)."),
    to: str | None = typer.Option(None, "--to", help="The version number or ISO timestamp to go back to."),
    mesh_ref: str | None = typer.Option(None, "--mesh", help="Every product back to a tag or mesh version."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make an earlier version the current one (a new commit: history is kept); `--mesh TAG`: every
    product at once, published as one mesh version."""
    if mesh_ref is not None:
        restore_mesh(ctx, mesh_ref, product_id or to, as_json)
        return
    if product_id is None or to is None:
        raise LakemeshError("restore needs a product and --to, or --mesh TAG", "e.g. `lakemesh restore --mesh q4`")
    result = open_mesh(ctx).tables.restore(product_id, to)
    if as_json:
        print_json(result)
        return
    files = f"{result.files_restored} files restored, {result.files_removed} removed"
    console.print(f"[green]restored[/] {esc(product_id)} to {esc(to)} as version {result.version}: {files}")
    if result.rebuild_on_next_run:
        rebuild = ", ".join(result.rebuild_on_next_run)
        console.print(f"the next `lakemesh run` rebuilds from full reads: {esc(rebuild)}", soft_wrap=True)


def restore_mesh(ctx: typer.Context, ref: str, extra: str | None, as_json: bool) -> None:
    if extra is not None:
        raise LakemeshError("--mesh restores every product: give no product and no --to", "e.g. `restore --mesh q4`")
    result = open_mesh(ctx).versions.restore(ref)
    if as_json:
        print_json(result)
        return
    moved = ", ".join(f"{p} (version {v})" for p, v in result.restored.items()) or "nothing: the mesh is there"
    console.print(f"[green]restored[/] the mesh to {esc(ref)} as mesh version {result.mesh_version}: {esc(moved)}")
    if result.not_in_point:
        console.print(f"not in {esc(ref)}, left as they are: {esc(', '.join(result.not_in_point))}", soft_wrap=True)


def optimize(
    ctx: typer.Context,
    product_id: str = typer.Argument(...),
    zorder: list[str] | None = typer.Option(None, "--zorder", help="Cluster by these columns (Z-order)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Compact small files (and Z-order by columns), one commit."""
    result = open_mesh(ctx).tables.optimize(product_id, zorder)
    if as_json:
        print_json(result)
        return
    console.print(f"[green]optimized[/] {esc(product_id)}: {result.files_removed} files -> {result.files_added}")


def vacuum(
    ctx: typer.Context,
    product_id: str = typer.Argument(...),
    retain: int | None = typer.Option(None, "--retain", help="Keep files needed for this many hours of time travel."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the files without deleting them."),
    force: bool = typer.Option(False, "--force", help="Allow a retention below 168 hours (7 days)."),
) -> None:
    """Delete files no version within the retention window needs (default retention: 7 days).

    A retention below 168 hours needs `--force`, as in Delta: readers of older versions lose their files.
    """
    mesh = open_mesh(ctx)
    files = mesh.tables.vacuum(product_id, retain, dry_run, force)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {len(files)} files")
    kept = mesh.versions.kept(mesh.workspace.product(product_id).id)
    if kept:
        tags = ", ".join(f"{tag} (version {version})" for tag, version in sorted(kept.items()))
        console.print(f"kept the files of versions tags need: {esc(tags)}", soft_wrap=True)
    for file in files[:20]:
        console.print(f"  {file}", markup=False)


def doctor(ctx: typer.Context, product_id: str = typer.Argument(..., help="Product id.")) -> None:
    """Check the product's table for damage (missing or truncated log files, missing data files) and say
    how to recover. Exit 1 when something is wrong."""
    mesh = open_mesh(ctx)
    findings = mesh.tables.doctor(product_id)
    if not findings:
        table = mesh.lakehouse.table(mesh.workspace.product(product_id).id)
        intact = f"log and data files intact (version {table.version()}, {len(table.file_uris())} files)"
        console.print(f"[green]✓[/] {esc(product_id)}: {intact}")
        return
    for finding in findings:
        console.print(f"[red]✗[/] {esc(finding.problem)}", soft_wrap=True)
        console.print(f"  [dim]fix:[/] {esc(finding.fix)}", soft_wrap=True)
    raise typer.Exit(1)
