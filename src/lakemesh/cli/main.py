"""The `lakemesh` command: parse, call the Mesh facade, render. Errors are one red line and a hint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from lakemesh import __version__
from lakemesh.cli import (
    command_catalog,
    command_cdc,
    command_contract,
    command_demo,
    command_forget,
    command_governance,
    command_init,
    command_lineage,
    command_quality,
    command_query,
    command_run,
    command_table,
    command_validate,
)
from lakemesh.cli.render import err_console
from lakemesh.errors import LakemeshError

# options of the root that a user may type anywhere on the line: `lakemesh validate -w shop --debug`
GLOBAL_FLAGS = ("--debug",)
GLOBAL_VALUED = ("-w", "--workspace")
JSON_HELP = "Print the result as JSON on stdout (for scripts and CI)."


def hoist_global_options(args: list[str]) -> list[str]:
    """The arguments with the root's own options moved in front of the subcommand, where click wants them."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_FLAGS or arg.startswith("--workspace="):
            front.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _polish_params(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        if "--json" in param.opts and not param.help:
            param.help = JSON_HELP
    return params


def _polish(command: Any) -> None:
    """Help without a `<bool>` placeholder on flags, and a line of help on every `--json`.

    click adds `--help` and the completion flags only when it lists a command's parameters, so the
    listing itself is wrapped.
    """
    listing = command.get_params
    command.get_params = lambda ctx: _polish_params(listing(ctx))
    for sub in getattr(command, "commands", {}).values():
        _polish(sub)


class LakemeshGroup(TyperGroup):
    """The root command: global options anywhere on the line, polished help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _polish(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))


app = typer.Typer(
    cls=LakemeshGroup,
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
app.command("doctor")(command_table.doctor)
app.command("demo")(command_demo.demo)
app.command("forget")(command_forget.forget)
app.command("lineage")(command_lineage.lineage)
app.command("impact")(command_lineage.impact)
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


READ_ONLY_HINT = (
    "the catalog accepts no writes (a read-only file, user or replica): set LAKEMESH_CATALOG_URL to a writable "
    "one; commands that only read (query, validate, history) still work"
)


def _library_errors() -> tuple[tuple[type[BaseException] | tuple[type[Exception], ...], str, str], ...]:
    """Errors of the libraries underneath that no layer turned into a LakemeshError: what failed, and a hint."""
    from sqlalchemy.exc import SQLAlchemyError

    from lakemesh.lakehouse import NATIVE_ERRORS

    return (
        (SQLAlchemyError, "the catalog database failed", "check that the catalog is reachable and writable"),
        (NATIVE_ERRORS, "a Delta table operation failed", "`lakemesh doctor PRODUCT` checks a table for damage"),
        (OSError, "a file operation failed", "check the path and its permissions"),
    )


def fail(message: str, hint: str | None, debug: bool) -> None:
    """One red line (the message's first; --debug shows the traceback and all of it), the hint, exit 1."""
    if debug:
        err_console.print_exception()
    lines = message.strip().splitlines() or [""]
    if hint is None and any(word in message for word in ("read-only", "readonly")):
        hint = READ_ONLY_HINT
    err_console.print(f"[red]error:[/] {escape(lines[0])}", soft_wrap=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}", soft_wrap=True)
    sys.exit(1)


def main() -> None:
    """Entry point: run the app, turning errors into one red line plus a hint (exit 1)."""
    debug = "--debug" in sys.argv
    try:
        app()
    except LakemeshError as exc:
        fail(exc.message, exc.hint, debug)
    except Exception as exc:  # the one boundary: what no layer wrapped still gets one line
        for kind, what, hint in _library_errors():
            if isinstance(exc, kind):
                fail(f"{what}: {exc}", hint, debug)
        raise


if __name__ == "__main__":
    main()
