"""`lakemesh governance check`: policies as code, global and per domain, against specs and data."""

from __future__ import annotations

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, print_json

app = typer.Typer(help="Federated governance: check products against the mesh's and domains' policies.",
                  no_args_is_help=True)  # fmt: skip

STYLE = {"critical": "red bold", "high": "red", "medium": "yellow"}
RANK = {"medium": 0, "high": 1, "critical": 2}


@app.command()
def check(
    ctx: typer.Context,
    products: list[str] | None = typer.Argument(None, help="Products to check (default: all)."),
    data: bool = typer.Option(False, "--data", help="Also run the `sql` policies against the tables."),
    fail_on: str = typer.Option(
        "critical", "--fail-on", help="Exit 1 at this severity or above: critical, high, medium."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every policy violation, by severity. Critical violations also block `lakemesh run` of the product."""
    if fail_on not in RANK:
        raise typer.BadParameter("use critical, high or medium", param_hint="--fail-on")
    violations = open_mesh(ctx).governance_check(products or None, data=data)
    if as_json:
        print_json([v.as_dict() for v in violations])
    elif not violations:
        console.print("[green]✓[/] no policy violations")
    else:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("severity", "product", "policy", "violation", "declared in"):
            table.add_column(name, overflow="fold")
        for v in violations:
            sev = v.severity.value
            table.add_row(f"[{STYLE[sev]}]{sev}[/]", v.product_id, v.policy, v.message, v.source)
        console.print(table)
        counts = {s: sum(v.severity.value == s for v in violations) for s in ("critical", "high", "medium")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + " violations")
    if any(RANK[v.severity.value] >= RANK[fail_on] for v in violations):
        raise typer.Exit(1)
