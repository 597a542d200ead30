"""`lakemesh cdc run|apply|status|reset`: PostgreSQL changes into bronze, and on into silver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from lakemesh.cli.command_run import render_report
from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, err_console, esc, print_json, working
from lakemesh.errors import LakemeshError
from lakemesh.streams import follow, stop_on_sigterm

app = typer.Typer(
    help="Change data capture from PostgreSQL (logical replication) into Debezium-format events.",
    no_args_is_help=True,
)


def _apply_downstream(mesh: Any, product: str, quiet: bool) -> bool:
    """Run the consumers behind bronze: those of this run's events, or of a killed run's."""
    consumers = mesh.streams.pending(product)
    if not consumers:
        return True
    report = mesh.run(consumers)
    if not quiet:
        render_report(report)
    return bool(report.ok)


@app.command("run")
def run(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="A bronze product with a postgres-cdc source."),
    once: bool = typer.Option(False, "--once", help="Drain what is pending and exit (for schedules and tests)."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between drains when running until stopped."),
    apply: bool = typer.Option(
        True, "--apply/--no-apply", help="Also apply the events to the cdc products reading them."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Snapshot the source tables on the first run, then stream their changes into PRODUCT.

    Exactly once: the last applied LSN is committed with the data and the slot is acknowledged only
    after the commit, so a restart after a crash neither loses nor repeats a change. Without --once it
    runs until Ctrl-C, reconnecting after a lost connection.
    """
    mesh = open_mesh(ctx)
    stop = stop_on_sigterm()

    def drain() -> Any:
        with working(f"capturing changes into {product}") as shown:
            counts = {"snapshot": 0, "stream": 0}

            def progress(phase: str, n: int) -> None:
                counts[phase] += n
                what = "snapshot rows read" if phase == "snapshot" else "changes written"
                if shown is not None:
                    shown.update(Text(f"{product}: {counts[phase]:,} {what}"))

            return mesh.streams.capture(product, once=True, stop=stop, progress=progress)

    def handle(report: Any) -> bool:
        if as_json:
            print_json(report)
        elif report.snapshot_rows or report.events or once:
            console.print(
                f"{product}: {report.snapshot_rows:,} snapshot rows, {report.events:,} changes"
                f"{f' ({report.skipped:,} replayed, skipped)' if report.skipped else ''} in {report.seconds:.1f}s "
                f"({report.events_per_second:,.0f} events/s), {report.commits} commits, at LSN {report.position}",
                markup=False,
            )
        return _apply_downstream(mesh, product, as_json) if apply else True

    def retrying(exc: LakemeshError, delay: float) -> None:
        err_console.print(f"[red]error:[/] {esc(exc.message)} (retrying in {delay:.0f}s)", soft_wrap=True)

    ok = follow(drain, handle, interval=interval, once=once, stop=stop, retrying=retrying)
    if once and not ok:
        raise typer.Exit(1)


@app.command("apply")
def apply_file(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The bronze product the events belong to."),
    source: str = typer.Option(..., "--from", help="A file of Debezium JSON events, one per line, or - for stdin."),
    apply: bool = typer.Option(True, "--apply/--no-apply", help="Also apply them to the cdc products reading them."),
) -> None:
    """Append Debezium change events (plain payloads or Kafka Connect's {schema, payload}) to PRODUCT.

    The same file applied twice is taken once. Decimals, dates and timestamps in Debezium's encodings
    are decoded by the envelope's schema.
    """
    mesh = open_mesh(ctx)
    if source == "-":
        count, seen = mesh.streams.apply_file(product, sys.stdin, "stdin")
    else:
        path = Path(source)
        if not path.is_file():
            raise LakemeshError(f"{source}: no such file")
        with path.open() as lines:
            count, seen = mesh.streams.apply_file(product, lines, source)
    pending = mesh.streams.pending(product) if apply else []
    if seen and not pending:
        console.print(f"{product}: these {count:,} events were applied before; nothing to do", markup=False)
        return
    if seen:  # an earlier run stopped after bronze's commit: its consumers catch up now
        console.print(
            f"{product}: these {count:,} events are in bronze already; {', '.join(pending)} behind", markup=False
        )
    else:
        console.print(f"{product}: {count:,} events appended", markup=False)
    if apply and not _apply_downstream(mesh, product, False):
        raise typer.Exit(1)


@app.command()
def status(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="A bronze product with a postgres-cdc source."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The slot (active, confirmed LSN, lag in bytes), bronze's position, and the last run."""
    info = open_mesh(ctx).streams.status(product)
    if as_json:
        print_json(info)
        return
    console.print(
        f"[bold]{esc(product)}[/]: "
        + esc(f"slot {info.slot}, publication {info.publication}, tables {', '.join(info.tables)}")
    )
    slot = info.slot_state
    if slot is not None:
        state = "[green]active[/]" if slot.active else "idle"
        lag = f"lag {slot.lag_bytes or 0:,} bytes"
        console.print(f"  slot {state}: " + esc(f"confirmed {slot.confirmed_lsn}, server at {slot.current_lsn}, {lag}"))
    else:
        console.print("  [yellow]no slot on the server[/] (first run creates it; `cdc reset` after a loss)")
    console.print(
        f"  bronze holds changes up to {info.bronze_position}; snapshot done: {info.snapshot_done}", markup=False
    )
    last = info.last_run
    if last is not None:
        at = f"{last.at:%Y-%m-%d %H:%M:%S}" if last.at else "?"
        console.print(
            f"  last run {at}: {last.status.value}, {last.events:,} events "
            f"({last.events_per_second:,} events/s)" + (f"; error: {last.error}" if last.error else ""),
            markup=False,
        )


@app.command()
def reset(
    ctx: typer.Context, product: str = typer.Argument(..., help="A bronze product with a postgres-cdc source.")
) -> None:
    """Drop the slot and take a new snapshot on the next run (after a lost slot, or to resynchronize)."""
    open_mesh(ctx).streams.reset(product)
    console.print(f"{product}: slot dropped; the next `lakemesh cdc run {product}` takes a new snapshot", markup=False)
