"""`lakemesh run`: build products in dependency order, with progress and a summary."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, err_console, live, plain, print_json, styled
from lakemesh.pipeline import ProductRun, RunReport, RunStatus
from lakemesh.quality.results import CheckStatus, ExpectationResult

STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.UP_TO_DATE: "dim",
    RunStatus.FAILED: "red",
    RunStatus.SKIPPED: "yellow",
}


def run(
    ctx: typer.Context,
    products: list[str] | None = typer.Argument(None, help="Products to build (default with --all: every one)."),
    all_products: bool = typer.Option(False, "--all", help="Build every product of the workspace."),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Rebuild the named (or, with --all, every) product from full reads of its inputs."
    ),
    wait: float | None = typer.Option(
        None, "--wait", metavar="SECONDS", help="How long to wait for another writer's lock (default 60)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Build products into Delta tables: bronze from sources, silver and gold by their transforms.

    Runs in dependency order and reads only input data added since the last successful run; a product
    that fails commits nothing and only the products downstream of it are skipped.
    """
    if not products and not all_products:
        raise typer.BadParameter("name products to build, or pass --all")
    mesh = open_mesh(ctx)
    if wait is not None:
        mesh.lock_wait = wait
    mesh.lock_notice = lambda message: err_console.print(styled(message, "yellow"), soft_wrap=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # product ids are not markup
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,  # stdout carries the report (or the JSON) alone
        transient=True,
        disable=as_json or not live(),
    ) as bar:
        task = bar.add_task("building", total=len(products or mesh.workspace.products))

        def progress(product_id: str, done: ProductRun | None) -> None:
            if done is None:
                bar.update(task, description=f"building {product_id}")
            else:
                bar.advance(task)

        report = mesh.run(products or None, progress=progress, full_refresh=full_refresh)
    if as_json:
        print_json(report.runs)
    else:
        render_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _count(n: int) -> str:
    """Short row counts (12,345 -> 12.3k, 1,003,022 -> 1.00M) so the summary fits 80 columns."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.2f}M"


def render_report(report: RunReport) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("product", no_wrap=True)  # ids stay whole; the numbers give way
    table.add_column("status", no_wrap=True)
    for name in ("read", "wrote", "ins", "upd", "v", "time"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in report.runs:
        version = "" if r.output_version is None else str(r.output_version)
        table.add_row(
            plain(r.product_id),
            styled(r.status.value, STYLE[r.status]),
            _count(r.rows_read),
            _count(r.rows_written),
            _count(r.inserted),
            _count(r.updated),
            version,
            f"{r.seconds:.2f}s",
        )
    console.print(table)
    gates = [r for r in report.runs if r.quality is not None]
    if gates:
        console.print("[bold]quality gates[/]")
    for r in gates:
        assert r.quality is not None
        console.print(_gate_line(r, r.quality.results), soft_wrap=True)
    for r in report.runs:
        for warning in r.details.get("warnings") or []:  # type: ignore[attr-defined]
            console.print(_line(r.product_id, "yellow", warning), soft_wrap=True)
        if r.details.get("rebuilt") and r.status is RunStatus.SUCCEEDED:
            console.print(
                _line(r.product_id, "cyan", f"rebuilt from full reads: {r.details['rebuilt']}"), soft_wrap=True
            )
    for r in report.runs:
        if r.error:
            console.print(
                _line(r.product_id, "red" if r.status is RunStatus.FAILED else "yellow", r.error), soft_wrap=True
            )
            if r.hint:
                console.print(Text.assemble("  ", ("hint:", "dim"), " ", r.hint), soft_wrap=True)


def _line(product_id: str, style: str, message: object) -> Text:
    """`product: message`, the product in a style of ours, both literal text."""
    return Text.assemble((f"{product_id}:", style), " ", str(message))


def _gate_line(r: ProductRun, results: list[ExpectationResult]) -> Text:
    """One product's gate: counts by outcome, and the checks that flagged rows (names as literal text)."""
    bad = (CheckStatus.FAILED, CheckStatus.ERROR)
    passed = sum(x.status is CheckStatus.PASSED for x in results)
    warnings = sum(x.status is CheckStatus.WARNING for x in results)
    failed = sum(x.status in bad and x.severity != "quarantine" for x in results)
    caught = sum(x.status in bad and x.severity == "quarantine" for x in results)
    parts = [(f"{passed} passed", "green")]
    if warnings:
        parts.append((f"{warnings} warnings", "yellow"))
    if failed:
        parts.append((f"{failed} failed", "red"))
    if caught:
        parts.append((f"{caught} quarantining {_count(r.quarantined)} rows", "magenta"))
    line = Text(f"  {r.product_id}: ")
    line.append(Text(", ").join(Text(text, style) for text, style in parts))
    flagged = [x for x in results if x.status is not CheckStatus.PASSED and x.unexpected_count]
    if flagged:
        detail = ", ".join(f"{x.name} {_count(x.unexpected_count or 0)}" for x in flagged[:4])
        line.append(f" ({detail})", style="dim")
    return line
