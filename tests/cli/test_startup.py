"""Start-up: help and argument errors answer without loading the data stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperCommand

from lakemesh.cli.common import open_mesh
from lakemesh.errors import LakemeshError

HEAVY = ("pyarrow", "duckdb", "deltalake", "alembic", "sqlalchemy", "lark")  # lark: rfc3987-syntax, 5 s
PROBE = """
import sys
from lakemesh.cli.main import main
sys.argv = ["lakemesh", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("LOADED", *sorted({name.split(".")[0] for name in sys.modules} & set(%r)), file=sys.stderr)
"""


def _loaded(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *args], capture_output=True, text=True, timeout=120)
    line = next(x for x in out.stderr.splitlines() if x.startswith("LOADED"))
    return line.split()[1:]


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("query", "--help"), ("governance", "--help")])
def test_help_loads_no_heavy_library(args: tuple[str, ...]) -> None:
    assert _loaded(*args) == []


def test_a_command_still_loads_what_it_needs(shop: Path) -> None:
    # the probe itself can see heavy modules: a query runs on the engine, a failed one loaded less
    assert {"pyarrow", "duckdb"} <= set(_loaded("query", "SELECT 1 AS one", "-w", str(shop)))
    assert "duckdb" not in _loaded("query", "SELECT 1", "--as-of", "x", "-w", "/nonexistent/ws")


def test_the_mesh_a_command_opened_is_closed_when_the_command_fails(shop: Path) -> None:
    opened = []
    with pytest.raises(LakemeshError), typer.Context(TyperCommand("probe"), obj={"workspace": shop}) as ctx:
        mesh = open_mesh(ctx)
        opened.append(mesh)
        assert mesh.catalog is not None and "catalog" in mesh.__dict__  # connected
        mesh.workspace.product("no.such_product")
    assert "catalog" not in opened[0].__dict__  # closed on the way out: its connections released


def test_validate_reads_specs_without_the_data_stack(shop: Path) -> None:
    # specs, transforms' SQL and the registered contracts: files, sqlglot and the catalog, no tables
    loaded = _loaded("validate", "-w", str(shop))
    assert not {"pyarrow", "duckdb", "deltalake", "lark"} & set(loaded), loaded
