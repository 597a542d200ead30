"""`lakemesh forget`: the right to be forgotten, across every layer and out of storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, esc, plain, print_json

if TYPE_CHECKING:
    from lakemesh.governance.erasure import ErasureReport


def forget(
    ctx: typer.Context,
    subjects: list[str] = typer.Option(
        ..., "--subject", "-s", help="The subject as KEY=VALUE, e.g. customer_id=C000042; repeat for several."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be erased and count rows; change nothing."),
    shred: bool = typer.Option(
        False, "--shred", help="Crypto-shred: destroy the subjects' encryption keys instead of rewriting tables."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Erase data subjects from every product holding them: products tagging the key `subject-key` and
    everything built from them. Rows are deleted in every layer and quarantine, aggregates recomputed,
    and each table's history purged so time travel cannot bring the values back. Audited, with the
    subjects recorded only as keyed pseudonyms; later ingestion skips them.

    With --shred (products encrypting PII with keyPer: subject), the subjects' keys are destroyed
    instead: their encrypted values become unreadable everywhere at once; what rows hold in clear stays."""
    report = open_mesh(ctx).governance.forget(subjects, dry_run, shred=shred)
    if as_json:
        print_json(report)
    else:
        render_erasure(report)
    if not report.ok:
        raise typer.Exit(1)


def render_erasure(report: ErasureReport) -> None:
    from lakemesh.governance.erasure import ErasureAction

    shredding = any(s.action is ErasureAction.SHRED for s in report.steps)
    sizes = not (report.dry_run or shredding)
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("product", no_wrap=True)
    for name in ("action", "rows", *(("rewritten", "removed") if sizes else ()), "why"):
        table.add_column(name, overflow="fold")
    for step in report.steps:
        rows = ", ".join(
            f"{n:,}" + (" (quarantine)" if t.endswith("__quarantine") else "") for t, n in step.rows.items()
        )
        action = (
            f"[red]{step.action.value} failed[/]"
            if step.error
            else "[yellow]review[/]"
            if step.action is ErasureAction.REVIEW
            else step.action.value
        )
        moved = (
            (_size(step.bytes_rewritten), f"{step.files_removed} files, {_size(step.bytes_removed)}") if sizes else ()
        )
        table.add_row(plain(step.product_id), action, rows, *moved, plain(step.error or step.reason))
    console.print(table)
    if shredding:
        shredded = sum(s.total_rows for s in report.steps if s.action is ErasureAction.SHRED)
        done = "would shred" if report.dry_run else f"destroyed {report.keys_destroyed} key(s): shredded"
        console.print(f"{done} the encrypted values of {shredded:,} rows in {report.seconds:.1f}s")
    else:
        done = "would erase" if report.dry_run else "erased"
        console.print(f"{done} {report.rows:,} rows of {len(report.subjects)} subject(s) in {report.seconds:.1f}s")
    for path in report.source_files:
        console.print(f"[yellow]![/] source file {esc(path)} still holds the subject: lakemesh does not own it; "
                      "delete or rewrite it (later runs skip the subject's rows meanwhile)")  # fmt: skip
    if report.dry_run:
        console.print("[dim]dry run: nothing was changed[/]")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:,.0f} B" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"
