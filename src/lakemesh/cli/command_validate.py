"""`lakemesh validate`: every problem in every file, and breaking contract changes."""

from __future__ import annotations

import typer

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import ProblemsReport, console, esc, print_json, problems_table


def validate(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
    skip_catalog: bool = typer.Option(
        False, "--skip-catalog", help="Skip the breaking-change check against the catalog (say so: a CI gate)."
    ),
) -> None:
    """Check mesh.yaml, domains, products and contracts; compare contracts with the catalog's versions.

    Reports every problem at once with file, field path and a fix; SQL transforms are parsed and checked
    as `run` checks them. Exit code 1 when there are errors, a catalog that cannot be read included.
    """
    mesh = open_mesh(ctx)
    report = mesh.validate(skip_catalog=skip_catalog)
    ws = report.workspace
    if as_json:
        print_json(ProblemsReport.of(report.problems))
    else:
        if report.problems:
            console.print(problems_table(report.problems))
        for cid, diff in report.diffs.items():
            if diff.breaking:
                versions = esc(f"{diff.old_version} -> {diff.new_version}")
                console.print(f"\n[bold]{esc(cid)}[/] {versions}: breaking changes", soft_wrap=True)
                for change in diff.breaking:
                    what = esc(f"{change.path}: {change.detail}")
                    console.print(f"  [red]{esc(change.kind)}[/] {what}", soft_wrap=True)
        summary = (
            f"{len(ws.domains)} domains, {len(ws.products)} products, {len(ws.contracts)} contracts: "
            f"{len(report.errors)} errors, {len(report.warnings)} warnings"
        )
        console.print(("[green]✓[/] " if report.ok else "[red]✗[/] ") + summary)
    if not report.ok:
        raise typer.Exit(1)
