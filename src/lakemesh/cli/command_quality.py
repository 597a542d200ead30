"""`lakemesh quality check|history|quarantine|reprocess|import-gx`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import (
    STATUS_STYLE,
    Rows,
    Value,
    console,
    esc,
    metrics_line,
    plain,
    print_json,
    render_rows,
    styled,
    to_json,
)
from lakemesh.errors import LakemeshError
from lakemesh.quality.results import CheckStatus, QualityReport, _jsonable

if TYPE_CHECKING:
    from lakemesh.catalog import QualityRecord
    from lakemesh.quality.gx_import import ImportReport

app = typer.Typer(
    help="Data quality: run a product's expectations, see their history, manage quarantined rows.",
    no_args_is_help=True,
)

SPARK = "▁▂▃▄▅▆▇█"
SEVERITY_SHORT = {"error": "error", "quarantine": "quar", "warning": "warn"}
HIDDEN_METRICS = {"metric.freshness_sla_seconds"}
MARK = {
    CheckStatus.PASSED: "[green]✓[/]",
    CheckStatus.WARNING: "[yellow]![/]",
    CheckStatus.FAILED: "[red]✗[/]",
    CheckStatus.ERROR: "[red bold]E[/]",
}


def _short(value: Any, width: int = 28) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:,.4g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = to_json(Value(_jsonable(value)), indent=None) if isinstance(value, list | dict) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _examples(examples: tuple[dict[str, Any], ...]) -> str:
    shown = []
    for e in examples[:2]:
        copies = e.get("copies")
        values = ", ".join(_short(v, 18) for k, v in e.items() if k != "copies")
        shown.append(f"{values} x{copies}" if copies else values or "NULL")
    return "; ".join(shown)


def quality_table(report: QualityReport, show_passed: bool = True) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("check", overflow="fold")
    table.add_column("status")
    table.add_column("sev")
    table.add_column("observed", justify="right", overflow="fold")
    table.add_column("unexpected", justify="right")
    table.add_column("%", justify="right")
    table.add_column("examples", overflow="fold")
    hidden = 0
    for r in report.results:
        if r.status is CheckStatus.PASSED and not show_passed:
            hidden += 1
            continue
        pct = "" if r.unexpected_percent is None else f"{r.unexpected_percent:.2f}"
        unexpected = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
        style = STATUS_STYLE[r.status]
        detail = r.detail if r.status is CheckStatus.ERROR else _examples(r.examples)
        table.add_row(
            plain(r.name),
            styled(r.status.value, style),
            plain(SEVERITY_SHORT[r.severity.value]),
            plain(_short(r.observed)),
            unexpected,
            pct,
            plain(detail),
        )
    if hidden:
        table.add_row(f"[green]{hidden} checks passed[/]", "", "", "", "", "", "")
    for name, why in report.unsupported:
        table.add_row(plain(name), "[dim]skipped[/]", "", "", "", "", plain(why))
    return table


def junit(report: QualityReport) -> str:
    """JUnit XML: one testcase per check, failures and errors as CI tools expect them."""
    failures = sum(r.status is CheckStatus.FAILED for r in report.results)
    errors = sum(r.status is CheckStatus.ERROR for r in report.results)
    suite = ET.Element(
        "testsuite",
        name=f"lakemesh.quality.{report.product_id}",
        tests=str(len(report.results) + len(report.unsupported)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(len(report.unsupported)),
        time=f"{report.seconds:.3f}",
    )
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=report.product_id, name=r.name, time="0")
        message = f"observed {_short(r.observed, 200)}"
        if r.unexpected_count is not None:
            message += f", {r.unexpected_count} unexpected ({r.unexpected_percent or 0:.2f}%)"
        if r.status is CheckStatus.FAILED:
            ET.SubElement(case, "failure", message=message, type=r.type).text = to_json(r, indent=None)
        elif r.status is CheckStatus.ERROR:
            ET.SubElement(case, "error", message=r.detail, type=r.type)
        elif r.status is CheckStatus.WARNING:
            ET.SubElement(case, "system-out").text = f"warning: {message}"
    for name, why in report.unsupported:
        case = ET.SubElement(suite, "testcase", classname=report.product_id, name=name, time="0")
        ET.SubElement(case, "skipped", message=why)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


@app.command()
def check(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product whose table is checked, e.g. orders.analytics_orders."),
    as_of: str = typer.Option(None, "--as-of", help="Check a past version (number) or time (ISO timestamp)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    junit_file: Path = typer.Option(None, "--junit", help="Also write a JUnit XML report here (for CI)."),
    failed_only: bool = typer.Option(False, "--failed-only", help="Hide the checks that passed."),
    record: bool = typer.Option(True, "--record/--no-record", help="Keep the results in the catalog."),
) -> None:
    """Run every expectation of PRODUCT's contract over its table in one scan.

    Exit 1 when a check of severity error or quarantine fails (warnings do not fail).
    """
    report = open_mesh(ctx).quality.check(product, as_of, record=record)
    if junit_file:
        junit_file.write_text(junit(report))
    if as_json:
        print_json(report)
    else:
        console.print(quality_table(report, show_passed=not failed_only))
        version = "" if report.table_version is None else f" v{report.table_version}"
        console.print(
            f"{report.product_id}{version}: {report.rows:,} rows, {len(report.results)} checks in one scan, "
            f"{report.seconds:.2f}s; {len(report.failed)} failed"
        )
        line = metrics_line(report.metrics)
        if line:
            console.print(f"[dim]{line}[/]")
    if report.failed and any(r.severity != "warning" for r in report.failed):
        raise typer.Exit(1)


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo
    return "".join(SPARK[0 if span == 0 else round((v - lo) / span * (len(SPARK) - 1))] for v in values)


@app.command()
def history(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product."),
    check_name: str = typer.Option(None, "--check", help="Only this check (or metric, e.g. metric.validity)."),
    limit: int = typer.Option(30, "--limit", help="Results per check, newest last."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Each check's recent results as a trend (✓ passed, ! warning, ✗ failed) and the computed metrics over time."""
    rows = open_mesh(ctx).quality.history(product, check_name, limit=5000)
    if as_json:
        print_json(rows[: limit * 50])
        return
    if not rows:
        console.print(
            f"no quality results for {product} yet: run `lakemesh quality check {product}` or `lakemesh run`",
            markup=False,
        )
        return
    by_check: dict[str, list[QualityRecord]] = defaultdict(list)
    for r in reversed(rows):  # oldest first
        by_check[r.check_name].append(r)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name in ("check", "trend", "last", "unexpected", "when"):
        table.add_column(name, overflow="fold")
    for name, results in sorted(by_check.items(), key=lambda kv: (kv[0].startswith("metric."), kv[0])):
        recent = results[-limit:]
        last = recent[-1]
        when = last.checked_at.strftime("%Y-%m-%d %H:%M")
        if last.is_metric:
            values = [float(r.observed) for r in recent if isinstance(r.observed, int | float)]
            if name in HIDDEN_METRICS or not values:
                continue
            current = f"{values[-1]:.4g}" if values else ""
            table.add_row(plain(name), f"[cyan]{sparkline(values)}[/]", current, "", when)
            continue
        trend = "".join(MARK.get(r.status, "?") if r.status else "?" for r in recent)
        unexpected = "" if last.unexpected_count is None else f"{last.unexpected_count:,}"
        table.add_row(plain(name), trend, plain(last.status.value if last.status else ""), unexpected, when)
    console.print(table)
    console.print("[dim]trend: oldest to newest; gates check each run's new rows, `quality check` the whole table[/]")


@app.command()
def quarantine(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product whose quarantined rows to list."),
    limit: int = typer.Option(20, "--limit", help="Rows to show, newest first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the rows a quality gate set aside, with the checks they failed and why."""
    from lakemesh.quality.gate import quarantine_id

    mesh = open_mesh(ctx)
    rows = mesh.quality.quarantine(product, limit)
    qid = quarantine_id(mesh.workspace.product(product).id)
    total = mesh.lakehouse.table(qid).count() if rows.num_columns else 0
    if as_json:
        print_json(Rows(rows.to_pylist()))
        return
    if rows.num_rows == 0:
        console.print(f"{product}: nothing in quarantine", markup=False)
        return
    first = ["_quarantine_checks", "_quarantine_reason"]
    ordered = rows.select(first + [c for c in rows.column_names if c not in first])
    render_rows(ordered, limit)
    console.print(f"{total:,} rows in quarantine; after a fix: lakemesh quality reprocess {product}", markup=False)


@app.command()
def reprocess(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-check quarantined rows against the contract as it is now; the ones that pass are written to the
    product, the others stay in quarantine with fresh reasons."""
    result = open_mesh(ctx).quality.reprocess(product)
    if as_json:
        print_json(result)
        return
    console.print(
        f"{product}: {result.released:,} rows released into the product"
        + (f" (now version {result.product_version})" if result.released else "")
        + f", {result.still_quarantined:,} still in quarantine",
        markup=False,
    )


@app.command("import-gx")
def import_gx(
    ctx: typer.Context,
    suite: Path = typer.Argument(..., help="A Great Expectations expectation suite (JSON, GX 0.x or 1.x)."),
    contract: str = typer.Option(..., "--contract", help="The contract file, or a contract id of this workspace."),
    table: str = typer.Option(None, "--table", help="The schema object to attach to (default: the first)."),
    skip_unsupported: bool = typer.Option(
        False, "--skip-unsupported", help="Leave out expectations lakemesh cannot run (default: keep them)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the new contract instead of writing it."),
) -> None:
    """Add a GX suite's expectations to a contract's `quality` sections, as ODCS custom rules.

    Comments and formatting of the contract are kept. Expectations lakemesh cannot run are listed by name.
    When one cannot be imported at all (a column the contract lacks), nothing is written and the exit code is 1.
    """
    from lakemesh.quality.gx_import import import_suite

    path = Path(contract)
    if not path.is_file():
        mesh = open_mesh(ctx)
        found = mesh.workspace.contracts.get(contract)
        if found is None:
            raise LakemeshError(f"'{contract}' is neither a contract file nor a contract id in this workspace")
        path = mesh.root / found.file
    report = import_suite(suite, path, table, skip_unsupported)
    for label in report.added:
        console.print(f"[green]+[/] {esc(label)}")
    for label in report.already_present:
        console.print(f"[dim]= {esc(label)} (already in the contract)[/]")
    for name in report.unsupported:
        console.print(f"[yellow]![/] {esc(name)}: lakemesh cannot run this expectation", soft_wrap=True)
    for name in report.skipped:
        console.print(f"[dim]- {esc(name)}: left out (--skip-unsupported)[/]", soft_wrap=True)
    for label, why in report.not_imported:
        console.print(f"[red]✗[/] {esc(label)}: not imported, {esc(why)}", soft_wrap=True)
    if dry_run:
        console.print(report.text, markup=False, highlight=False)
    elif report.not_imported:
        console.print(
            f"[red]{len(report.not_imported)} of the suite's expectations cannot be imported: nothing was written "
            f"to {esc(path)}[/]; fix the suite or the contract and import again",
            soft_wrap=True,
        )
    else:
        _replace(path, report.text)
        _imported(path, report)
    if report.not_imported:
        raise typer.Exit(1)


def _replace(path: Path, text: str) -> None:
    """Write the new contract next to the old one and swap it in: a reader sees one or the other, whole."""
    temporary = path.with_name(f".{path.name}.importing")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _imported(path: Path, report: ImportReport) -> None:
    console.print(
        f"{path}: {len(report.added)} expectations added from suite '{report.suite}'"
        f"; {len(report.unsupported)} cannot run, {len(report.skipped)} left out",
        markup=False,
    )
