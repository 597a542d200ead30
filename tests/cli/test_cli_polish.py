"""Global options anywhere, help text without placeholders, query output formats, vacuum's guard."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import typer

from lakemesh.cli.main import app
from tests.cli.test_cli import run

SQL = "SELECT 1 AS n, 'a,b' AS s UNION ALL SELECT 2, NULL ORDER BY n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    code, out = run("init", "shop", "--path", str(tmp_path / "shop"), "--domain", "orders", "--product", "orders")
    assert code == 0, out
    return tmp_path / "shop"


@pytest.mark.slow
def test_workspace_and_debug_work_after_the_subcommand(workspace: Path, tmp_path: Path) -> None:
    code, out = run("validate", "-w", str(workspace))
    assert code == 0 and "1 products, 1 contracts" in out
    code, out = run("catalog", "search", "--workspace", str(workspace), "", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = run("query", f"--workspace={workspace}", "SELECT 42 AS answer")
    assert code == 0 and "42" in out
    cmd = [sys.executable, "-m", "lakemesh.cli.main", "validate", "--debug"]
    debug = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "error: no mesh.yaml" in debug.stderr


def test_a_value_that_looks_like_a_global_option_is_left_alone(workspace: Path) -> None:
    code, out = run("-w", str(workspace), "query", "SELECT '-w' AS flag, '--debug' AS other", "--json")
    assert code == 0 and json.loads(out) == [{"flag": "-w", "other": "--debug"}]


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.extend(_commands(command, (*path, name)))
        else:
            found.append((*path, name))
    return found


@pytest.mark.slow
def test_help_shows_no_bool_placeholder_and_every_json_flag_is_explained() -> None:
    root = typer.main.get_command(app)
    paths = _commands(root)
    assert len(paths) > 20
    with_json = 0
    for path in paths:
        code, out = run(*path, "--help")
        assert code == 0, path
        assert "<bool>" not in out, path
        for line in out.splitlines():
            if "--json" in line:
                with_json += 1
                assert len(line.split("--json", 1)[1].strip(" │")) > 10, (path, line)
    assert with_json >= 10


@pytest.mark.slow
def test_query_writes_json_csv_and_parquet_to_stdout(workspace: Path) -> None:
    code, out = run("-w", str(workspace), "query", SQL, "--json")
    assert code == 0 and json.loads(out) == [{"n": 1, "s": "a,b"}, {"n": 2, "s": None}]
    code, out = run("-w", str(workspace), "query", SQL, "--format", "json")
    assert code == 0 and json.loads(out)[0] == {"n": 1, "s": "a,b"}
    code, out = run("-w", str(workspace), "query", SQL, "--format", "csv")
    assert code == 0 and list(csv.reader(io.StringIO(out))) == [["n", "s"], ["1", "a,b"], ["2", ""]]
    cmd = [sys.executable, "-m", "lakemesh.cli.main", "-w", str(workspace), "query", SQL, "--format", "parquet"]
    binary = subprocess.run(cmd, capture_output=True, timeout=120)
    assert binary.returncode == 0, binary.stderr
    assert pq.read_table(io.BytesIO(binary.stdout)).to_pylist() == [{"n": 1, "s": "a,b"}, {"n": 2, "s": None}]
    code, out = run("-w", str(workspace), "query", SQL, "--format", "xml")
    assert code == 1 and "error: unknown --format 'xml'" in out and "hint: use one of csv, json, parquet" in out


def test_catalog_show_says_when_the_freshness_figure_was_taken(workspace: Path) -> None:
    (workspace / "data/orders/first.csv").write_text("id,created_at,amount\no-1,2026-01-05T10:00:00,12.50\n")
    assert run("-w", str(workspace), "run", "--all")[0] == 0
    assert run("-w", str(workspace), "quality", "check", "orders.orders")[0] == 0
    assert run("-w", str(workspace), "catalog", "sync")[0] == 0
    code, out = run("-w", str(workspace), "catalog", "show", "orders.orders")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("quality"))
    checked = line.split("(checked ", 1)[1].split(",", 1)[0]
    assert f"before the check at {checked} UTC" in line and " ago" not in line
