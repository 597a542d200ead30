"""Rendering shared by the commands: problems, checks, rows, and the one JSON path for `--json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, RootModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lakemesh.quality.results import CheckReport, CheckStatus
from lakemesh.spec.diff import Change, ContractDiff
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


Result = BaseModel | Sequence[BaseModel]


class Rows(RootModel[list[dict[str, Any]]]):
    """Rows of a table (a query's result, quarantined records) as a result: dumped like every other one."""

    model_config = ConfigDict(ser_json_bytes="hex")


class Document(RootModel[dict[str, Any]]):
    """A JSON document lakemesh generates (a contract as JSON Schema), printed through the same path."""


class Value(RootModel[Any]):
    """One value from data (an observed list or mapping), shown as compact JSON."""

    model_config = ConfigDict(ser_json_bytes="hex")


def dump(result: Result) -> Any:
    """A result model (or a list of them) as JSON-ready data: enums as their values, public field names;
    the shape a future HTTP API returns too."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, fallback=str)
    return [r.model_dump(mode="json", by_alias=True, fallback=str) for r in result]


def to_json(result: Result, indent: int | None = 2) -> str:
    """The one way the CLI turns a result into JSON text: `model_dump(mode="json")`, then serialized."""
    return json.dumps(dump(result), indent=indent, ensure_ascii=False)


def print_json(result: Result, indent: int | None = 2) -> None:
    """Plain JSON on stdout, for scripts and CI: every `--json` goes through here."""
    print(to_json(result, indent))


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


class ProblemsReport(BaseModel):
    """Spec problems as a result (`validate --json`, `contract lint --json`): ok when none is an error."""

    ok: bool
    problems: list[Problem]

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> ProblemsReport:
        return cls(ok=not any(p.is_error for p in problems), problems=list(problems))


class DiffReport(BaseModel):
    """A contract diff as a result (`contract diff --json`): each change, the bump they call for."""

    old_version: str
    new_version: str
    required_bump: str
    version_ok: bool
    changes: list[Change]

    @classmethod
    def of(cls, diff: ContractDiff) -> DiffReport:
        return cls(
            old_version=diff.old_version,
            new_version=diff.new_version,
            required_bump=diff.required_bump,
            version_ok=diff.version_ok,
            changes=diff.changes,
        )


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
