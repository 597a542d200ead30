"""`lakemesh init NAME`: scaffold a workspace."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from lakemesh.cli.render import console
from lakemesh.scaffold import scaffold_workspace


def init(
    name: str = typer.Argument(..., help="Workspace (mesh) name, e.g. shop."),
    path: Path | None = typer.Option(None, "--path", help="Folder to create (default: ./NAME)."),
    domain: str = typer.Option("sales", "--domain", help="The first domain."),
    product: str = typer.Option("orders", "--product", help="The first product of that domain."),
) -> None:
    """Create a workspace: mesh.yaml, one domain, one product with its ODCS contract."""
    target = path or Path(name)
    files = scaffold_workspace(target, name, domain, product)
    console.print(f"[green]created[/] workspace [bold]{escape(name)}[/] in {escape(str(target))}/")
    for file in files:
        console.print(f"  {file.relative_to(target)}", markup=False)
    console.print(f"\nnext: [bold]cd {escape(str(target))} && lakemesh validate && lakemesh catalog sync[/]")
