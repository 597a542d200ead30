"""Rich rendering shared by the commands: problems, checks, search hits, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lakemesh.quality.results import CheckReport, CheckStatus
from lakemesh.spec.problems import Problem

if TYPE_CHECKING:  # the data stack is imported by the commands that run, not by `--help`
    import pyarrow as pa

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATUS_STYLE = {
    CheckStatus.PASSED: "green",
    CheckStatus.WARNING: "yellow",
    CheckStatus.FAILED: "red",
    CheckStatus.ERROR: "red bold",
    CheckStatus.SKIPPED: "dim",
}


def live() -> bool:
    """Whether progress may redraw itself: stderr is a real terminal, not a pipe under FORCE_COLOR or TERM=dumb."""
    return sys.stderr.isatty() and err_console.is_terminal and not err_console.is_dumb_terminal


@contextmanager
def working(message: str) -> Iterator[Any]:
    """A spinner on stderr while something runs, only on a live terminal: logs and pipes get no redraw codes."""
    with err_console.status(Text(message), spinner="dots") if live() else nullcontext() as shown:
        yield shown


def plain(value: Any) -> Text:
    """A value from data or a user's file as literal text: never read as markup (`[red]`, `[/]`)."""
    return Text("" if value is None else str(value))


def styled(value: Any, style: str) -> Text:
    """A value from data or a user's file, literal, in one style of ours."""
    return Text("" if value is None else str(value), style=style)


def esc(value: Any) -> str:
    """A value from data or a user's file, escaped for a markup string of ours."""
    return escape("" if value is None else str(value))


def print_json(data: BaseModel | Sequence[BaseModel] | Any) -> None:
    """Plain JSON on stdout, for scripts and CI: a result model (or a list of them) as `model_dump(mode="json")`,
    the same shape a future HTTP API returns; other data (rows, a Delta log) as it is."""
    if isinstance(data, BaseModel):
        data = dump(data)
    elif isinstance(data, list | tuple) and data and all(isinstance(x, BaseModel) for x in data):
        data = [dump(x) for x in data]
    print(json.dumps(data, indent=2, default=str))


def dump(result: BaseModel) -> Any:
    """A result model as JSON-ready data: enums as their values, public field names."""
    return result.model_dump(mode="json", by_alias=True, fallback=str)


def render_rows(data: pa.Table, limit: int = 50) -> None:
    """An Arrow table as a terminal table, with the row count."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in data.column_names:
        table.add_column(plain(name), overflow="fold")
    for row in data.slice(0, limit).to_pylist():
        table.add_row(*(plain(v) for v in row.values()))
    console.print(table)
    more = f" (showing {limit})" if data.num_rows > limit else ""
    console.print(f"[dim]{data.num_rows:,} rows{more}[/]")


def problems_table(problems: Sequence[Problem]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("", width=7)
    table.add_column("where", overflow="fold")
    table.add_column("problem", overflow="fold")
    for p in problems:
        style = "red" if p.is_error else "yellow"
        table.add_row(styled(p.severity.value, style), plain(p.location), plain(p.message))
    return table


def problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [
        {"severity": p.severity.value, "file": p.file, "line": p.line, "path": p.path, "message": p.message}
        for p in problems
    ]


def _example(example: dict[str, Any]) -> str:
    if "record" in example:
        return f"#{example['record']} {example.get('value')!r}"
    copies, first = example.get("copies"), example.get("first_record")
    key = ", ".join(str(v) for k, v in example.items() if k not in ("copies", "first_record"))
    return f"{key} x{copies} (first #{first})"


def check_table(report: CheckReport, show_passed: bool = False) -> Table:
    """The rules that did not pass (all of them with `show_passed`), with counts and examples."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name, justify in (
        ("rule", "left"),
        ("column", "left"),
        ("status", "left"),
        ("violations", "right"),
        ("%", "right"),
        ("examples", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    passed = 0
    for r in report.results:
        if r.status is CheckStatus.PASSED and not show_passed:
            passed += 1
            continue
        pct = f"{100 * r.violations / report.rows:.2f}" if report.rows and r.column and r.violations else ""
        examples = "; ".join(_example(e) for e in r.examples[:2])
        if r.status is not CheckStatus.PASSED and r.detail:
            examples = f"{r.detail}: {examples}" if examples else r.detail
        style = STATUS_STYLE[r.status]
        cells = (plain(r.rule), plain(r.column), styled(r.status.value, style), plain(f"{r.violations:,}"))
        table.add_row(*cells, pct, plain(examples))
    if passed:
        table.add_row(f"[green]{passed} rules passed[/]", "", "", "", "", "")
    return table


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "contract": report.contract_id,
        "table": report.table,
        "source": report.source,
        "rows": report.rows,
        "seconds": round(report.seconds, 3),
        "passed": report.passed,
        "results": [
            {
                "rule": r.rule,
                "column": r.column,
                "status": r.status.value,
                "violations": r.violations,
                "detail": r.detail,
                "examples": list(r.examples),
            }
            for r in report.results
        ],
    }


def metrics_line(metrics: dict[str, float | None], taken: str | None = None) -> str:
    """Quality metrics in one line; the commit's age as of `taken` (a recorded check's time) or of now."""
    parts = []
    for key in ("completeness", "validity", "uniqueness", "freshness"):
        value = metrics.get(key)
        if value is not None:
            parts.append(f"{key} {100 * value:.2f}%")
    age = metrics.get("freshness_seconds")
    if age is not None:
        sla = metrics.get("freshness_sla_seconds")
        when = f"before the check at {taken}" if taken else "ago"
        parts.append(f"last commit {_duration(age)} {when}" + (f" (SLA {_duration(sla)})" if sla else ""))
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"
