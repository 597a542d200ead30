"""The `lakemesh` command: parse, call the Mesh facade, render. Errors are one red line and a hint."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from lakemesh import __version__
from lakemesh.cli import (
    command_catalog,
    command_cdc,
    command_contract,
    command_demo,
    command_forget,
    command_governance,
    command_init,
    command_quality,
    command_query,
    command_run,
    command_table,
    command_validate,
)
from lakemesh.cli.render import err_console
from lakemesh.errors import LakemeshError

app = typer.Typer(
    name="lakemesh",
    help="Data products and their ODCS contracts as files, turned into governed, versioned tables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.command("init")(command_init.init)
app.command("validate")(command_validate.validate)
app.command("run")(command_run.run)
app.command("query")(command_query.query)
app.command("history")(command_table.history)
app.command("restore")(command_table.restore)
app.command("optimize")(command_table.optimize)
app.command("vacuum")(command_table.vacuum)
app.command("demo")(command_demo.demo)
app.command("forget")(command_forget.forget)
app.add_typer(command_catalog.app, name="catalog")
app.add_typer(command_contract.app, name="contract")
app.add_typer(command_quality.app, name="quality")
app.add_typer(command_cdc.app, name="cdc")
app.add_typer(command_governance.app, name="governance")
app.add_typer(command_governance.retention_app, name="retention")


def _version(value: bool) -> None:
    if value:
        print(f"lakemesh {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Path = typer.Option(
        Path(),
        "--workspace",
        "-w",
        envvar="LAKEMESH_WORKSPACE",
        help="The workspace folder (or any folder inside it).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Data products and their ODCS contracts as files, turned into governed, versioned tables.

    Start with `lakemesh init NAME` or `lakemesh demo`, then `lakemesh validate` and `lakemesh catalog sync`.
    """
    ctx.obj = {"workspace": workspace, "debug": debug}


def main() -> None:
    """Entry point: run the app, turning LakemeshError into one red line plus a hint (exit 1)."""
    debug = "--debug" in sys.argv
    try:
        app()
    except LakemeshError as exc:
        if debug:
            err_console.print_exception()
        err_console.print(f"[red]error:[/] {escape(exc.message)}", soft_wrap=True)
        if exc.hint:
            err_console.print(f"[dim]hint:[/] {escape(exc.hint)}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
