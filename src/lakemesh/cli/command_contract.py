"""`lakemesh contract lint|diff|export|check`."""

from __future__ import annotations

from pathlib import Path

import typer

from lakemesh.cli.common import resolve_contract
from lakemesh.cli.render import (
    DiffReport,
    Document,
    ProblemsReport,
    check_table,
    console,
    esc,
    print_json,
    problems_table,
    to_json,
    working,
)
from lakemesh.errors import LakemeshError
from lakemesh.spec.diff import diff_contracts
from lakemesh.spec.export import EXPORT_FORMATS, to_jsonschema, to_odcs, to_sql_ddl
from lakemesh.spec.odcs import lint_document, schema_fit, schema_minor
from lakemesh.spec.problems import has_errors
from lakemesh.spec.yaml_io import YamlFileError, read_yaml

app = typer.Typer(help="Work with ODCS v3 data contracts: lint, diff, export, check data.", no_args_is_help=True)


@app.command()
def lint(
    file: Path = typer.Argument(..., help="An ODCS v3 contract (YAML or JSON)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a standalone ODCS document against the JSON Schema of its apiVersion, plus semantic rules."""
    try:
        raw = read_yaml(file)
        problems = lint_document(raw, str(file))
    except YamlFileError as exc:
        problems = [exc.problem]
        raw = None
    if as_json:
        print_json(ProblemsReport.of(problems))
    elif problems:
        console.print(problems_table(problems))
    if has_errors(problems):
        if not as_json:
            console.print(f"[red]✗[/] {esc(file)}: {sum(p.is_error for p in problems)} errors")
        raise typer.Exit(1)
    if not as_json:
        api = raw.get("apiVersion") if isinstance(raw, dict) else "?"
        fit = schema_fit(raw) if isinstance(raw, dict) else None
        console.print(
            f"[green]✓[/] {esc(file)}: valid ODCS {esc(api)} (checked with the {fit or schema_minor(api)} schema)"
        )


@app.command()
def diff(
    ctx: typer.Context,
    old: str = typer.Argument(..., help="The old contract: a file, or a contract id of this workspace."),
    new: str = typer.Argument(..., help="The new contract: a file, or a contract id of this workspace."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the changes between two contract versions, each breaking or not. Exit 1 on a breaking change
    without a major version bump."""
    result = diff_contracts(resolve_contract(ctx, old), resolve_contract(ctx, new))
    if as_json:
        print_json(DiffReport.of(result))
    else:
        for c in result.changes:
            mark = "[red]breaking[/]    " if c.breaking else "[green]non-breaking[/]"
            console.print(f"{mark} {c.kind:<22} {esc(c.path)}: {esc(c.detail)}", soft_wrap=True)
        verdict = "[green]ok[/]" if result.version_ok else "[red]needs a major version bump[/]"
        console.print(
            f"{len(result.changes)} changes, {len(result.breaking)} breaking; "
            f"{esc(result.old_version)} -> {esc(result.new_version)} (required bump: {result.required_bump}): {verdict}"
        )
    if not result.version_ok:
        raise typer.Exit(1)


@app.command()
def export(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="A contract file, or a contract id of this workspace."),
    fmt: str = typer.Option("odcs", "--format", "-f", help=f"One of: {', '.join(EXPORT_FORMATS)}."),
    dialect: str = typer.Option("duckdb", "--dialect", help="SQL dialect for sql-ddl (duckdb, postgres, spark, ...)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead of stdout."),
) -> None:
    """Write a contract back as ODCS (lossless), JSON Schema or SQL DDL."""
    loaded = resolve_contract(ctx, contract)
    if fmt == "odcs":
        text = to_odcs(loaded)
    elif fmt == "jsonschema":
        text = to_json(Document(to_jsonschema(loaded))) + "\n"
    elif fmt == "sql-ddl":
        text = to_sql_ddl(loaded, dialect)
    else:
        raise LakemeshError(f"unknown export format '{fmt}'", f"use one of {', '.join(EXPORT_FORMATS)}")
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", markup=False)
    else:
        print(text, end="")


@app.command()
def check(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="A contract file, or a contract id of this workspace."),
    data: Path = typer.Argument(..., help="Records to check: .jsonl, .json, .csv or .parquet."),
    table: str | None = typer.Option(None, "--table", help="Schema object to check against (default: the first)."),
    fmt: str | None = typer.Option(None, "--format", help="csv, jsonl or parquet (default: from the extension)."),
    show_all: bool = typer.Option(False, "--all", help="List the rules that passed too."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check every record against the contract: types, required, allowed values, patterns, ranges, keys."""
    from lakemesh.quality.contract_check import check_file

    loaded = resolve_contract(ctx, contract)
    with working(f"checking {data} against {loaded.id}"):
        report = check_file(loaded, data, table=table, fmt=fmt)
    if as_json:
        print_json(report)
    else:
        console.print(check_table(report, show_passed=show_all))
        verdict = "[green]passed[/]" if report.passed else f"[red]{len(report.failed)} rules failed[/]"
        console.print(
            f"{report.rows:,} records checked against {esc(report.contract_id)} ({esc(report.table)}) in "
            f"{report.seconds:.2f}s ({report.rows_per_second:,.0f} records/s): {verdict}"
        )
    if not report.passed:
        raise typer.Exit(1)
