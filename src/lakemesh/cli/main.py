"""The `lakemesh` command: parse, call the Mesh facade, render. Errors are one red line and a hint."""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import Any, NoReturn

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
    command_tag,
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
    """The root command: global options anywhere on the line, polished help, and the one error handler
    every command runs under (however the app is started: `main`, a test's runner, another program)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _polish(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a LakemeshError (or a library error no layer wrapped) becomes one red line
        and a hint, exit 1. The command's context has closed by then, and with it the mesh it opened."""
        try:
            return super().invoke(ctx)
        except Exception as exc:  # the one boundary: what no layer wrapped still gets one line
            message, hint = describe(exc)
            if message is None:
                raise
            fail(message, hint, bool((ctx.obj or {}).get("debug")))


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
app.command("diff")(command_tag.diff)
app.command("demo")(command_demo.demo)
app.command("forget")(command_forget.forget)
app.command("lineage")(command_lineage.lineage)
app.command("impact")(command_lineage.impact)
app.add_typer(command_catalog.app, name="catalog")
app.add_typer(command_contract.app, name="contract")
app.add_typer(command_quality.app, name="quality")
app.add_typer(command_cdc.app, name="cdc")
app.add_typer(command_tag.app, name="tag")
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


def _library_errors() -> list[tuple[type[BaseException] | tuple[type[Exception], ...], str, str]]:
    """Errors of the libraries underneath that no layer turned into a LakemeshError: what failed, and a hint.
    Only of libraries already loaded (nothing else can have raised theirs): `--help` loads none."""
    out: list[tuple[type[BaseException] | tuple[type[Exception], ...], str, str]] = []
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import SQLAlchemyError

        out.append((SQLAlchemyError, "the catalog database failed", "check that the catalog is reachable and writable"))
    if "lakemesh.lakehouse.store" in sys.modules:
        from lakemesh.lakehouse import NATIVE_ERRORS

        hint = "`lakemesh doctor PRODUCT` checks a table for damage"
        out.append((NATIVE_ERRORS, "a Delta table operation failed", hint))
    out.append((OSError, "a file operation failed", "check the path and its permissions"))
    return out


def describe(exc: BaseException) -> tuple[str | None, str | None]:
    """The red line and hint for an error the CLI reports itself; (None, None) for one it lets through
    (click's own exits and usage errors, a broken pipe, a bug)."""
    if isinstance(exc, LakemeshError):
        return exc.message, exc.hint
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return None, None  # the reader went away (`| head`): click quiets it
    for kind, what, hint in _library_errors():
        if isinstance(exc, kind):
            return f"{what}: {exc}", hint
    return None, None


def fail(message: str, hint: str | None, debug: bool) -> NoReturn:
    """One red line (the message's first; --debug shows the traceback and all of it), the hint, exit 1."""
    if debug:
        err_console.print_exception()
    lines = message.strip().splitlines() or [""]
    if hint is None and any(word in message for word in ("read-only", "readonly")):
        hint = READ_ONLY_HINT
    err_console.print(f"[red]error:[/] {escape(lines[0])}", soft_wrap=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}", soft_wrap=True)
    raise typer.Exit(1)


def main() -> None:
    """Entry point; errors are handled by the root command (`LakemeshGroup.invoke`)."""
    app()


if __name__ == "__main__":
    main()
