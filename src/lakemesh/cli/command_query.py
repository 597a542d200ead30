"""`lakemesh query`: SQL over products by id, printed or written to a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import Rows, Value, console, print_json, render_rows, to_json
from lakemesh.errors import LakemeshError

if TYPE_CHECKING:
    import pyarrow as pa


def query(
    ctx: typer.Context,
    sql: str = typer.Argument(..., help="One SELECT; products by id, e.g. FROM orders.analytics_orders."),
    as_of: list[str] | None = typer.Option(
        None,
        "--as-of",
        help="Read the past: an ISO timestamp, a version (one table), or PRODUCT=VERSION|TIMESTAMP per table.",
    ),
    at: str | None = typer.Option(
        None, "--at", help="Read every product as of a tag or mesh version (`lakemesh tag list`, `tag log`)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write .csv, .parquet or .json(l) instead."),
    limit: int = typer.Option(50, "--limit", help="Rows to print (files get every row)."),
    principal: str | None = typer.Option(
        None, "--as", help="Run as this principal: its grants, column masks and row filters apply; audited."
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="Write every row to stdout as csv, json (one array) or parquet (binary)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Every row as one JSON array on stdout (--format json)."),
) -> None:
    """Run read-only SQL over products (DuckDB over their Delta tables), optionally time-travelling."""
    fmt = "json" if as_json else fmt
    if fmt is not None and fmt not in STDOUT_FORMATS:
        raise LakemeshError(f"unknown --format '{fmt}'", f"use one of {', '.join(STDOUT_FORMATS)}")
    result = open_mesh(ctx).query(sql, as_of=as_of, principal=principal, at=at)
    if fmt is not None:
        write_stdout(result, fmt)
        return
    if output is not None:
        write_result(result, output)
        console.print(f"wrote {result.num_rows:,} rows to {output}")
        return
    render_rows(result, limit)


STDOUT_FORMATS = ("csv", "json", "parquet")


def write_stdout(result: pa.Table, fmt: str) -> None:
    """Every row of `result` on stdout: CSV, one JSON array, or a Parquet file's bytes."""
    if fmt == "json":
        print_json(Rows(result.to_pylist()), indent=None)
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    if fmt == "csv":
        pacsv.write_csv(result, sink)
    else:
        pq.write_table(result, sink)
    sys.stdout.flush()
    sys.stdout.buffer.write(sink.getvalue().to_pybytes())
    sys.stdout.buffer.flush()


def write_result(result: pa.Table, output: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = output.suffix.lower()
    if suffix == ".csv":
        pacsv.write_csv(result, output)
    elif suffix == ".parquet":
        pq.write_table(result, output)
    elif suffix in (".json", ".jsonl"):
        with output.open("w", encoding="utf-8") as out:
            for row in result.to_pylist():
                out.write(to_json(Value(row), indent=None) + "\n")
    else:
        raise LakemeshError(f"cannot tell the format of {output}", "use a .csv, .parquet or .jsonl file name")
