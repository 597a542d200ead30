"""Values from data and user files print as plain text: never as terminal markup, links or a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import run

MARKUP_SQL = "SELECT '[red]x[/red]' AS a, '[link=http://e]y[/link]' AS b, '[/]' AS c"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    code, out = run("init", "shop", "--path", str(tmp_path / "shop"), "--domain", "orders", "--product", "orders")
    assert code == 0, out
    return tmp_path / "shop"


def _colour(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI as on a colour terminal, so markup in values would turn into escape codes."""
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "lakemesh.cli.main", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_query_values_print_exactly_as_stored(workspace: Path) -> None:
    code, out = run("-w", str(workspace), "query", MARKUP_SQL)
    assert code == 0
    assert out.splitlines()[1].split() == ["[red]x[/red]", "[link=http://e]y[/link]", "[/]"]
    assert "\x1b" not in out


@pytest.mark.slow
def test_query_values_are_not_markup_on_a_colour_terminal(workspace: Path) -> None:
    out = _colour("-w", str(workspace), "query", MARKUP_SQL, cwd=workspace)
    assert out.returncode == 0, out.stderr
    assert "[red]x[/red]" in out.stdout and "[link=http://e]y[/link]" in out.stdout and "[/]" in out.stdout
    assert "\x1b]8;" not in out.stdout  # no terminal hyperlink
    assert "\x1b[31mx" not in out.stdout


@pytest.mark.slow
def test_error_text_from_the_user_is_printed_plain(workspace: Path) -> None:
    out = _colour("-w", str(workspace), "history", "orders.[red]b[/]", cwd=workspace)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no product 'orders.[red]b[/]'" in out.stderr


def test_quality_messages_keep_their_regex(workspace: Path) -> None:
    contract = workspace / "domains/orders/products/orders/contract.yaml"
    text = contract.read_text().replace(
        "        classification: internal\n      - name: created_at",
        "        classification: internal\n        logicalTypeOptions:\n          pattern: '^[a-z]+$'\n"
        "      - name: created_at",
        1,
    )
    contract.write_text(text)
    data = workspace / "o.csv"
    data.write_text("id,created_at,amount\nABC,2024-01-01T00:00:00,1\n[red]x[/red],2024-01-01T00:00:00,2\n")
    code, out = run("contract", "check", str(contract), str(data))
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("pattern"))
    assert "must match /^[a-z]+$/" in line and "'[red]x[/red]'" in line


def _orders_files(workspace: Path, **files: str) -> None:
    folder = workspace / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_run_prints_file_names_and_errors_plain(workspace: Path) -> None:
    # a slash cannot be in a file name, so the markup is an opening tag: rich would eat it and bold the rest
    _orders_files(workspace, **{"[bold]y.csv": 'id,created_at\n"unterminated\n'})
    out = _colour("-w", str(workspace), "run", "--all", cwd=workspace)
    assert out.returncode == 1, out.stderr
    assert "data/orders/[bold]y.csv line 2" in out.stdout
    assert "\x1b[1my.csv" not in out.stdout


def test_validate_prints_breaking_changes_plain(workspace: Path) -> None:
    contract = workspace / "domains/orders/products/orders/contract.yaml"
    contract.write_text(contract.read_text().replace("- name: amount", '- name: "[bold]amount"'))
    assert run("-w", str(workspace), "catalog", "sync")[0] == 0
    text = contract.read_text()
    start = text.index('      - name: "[bold]amount"')
    end = text.find("      - name:", start + 1)
    contract.write_text(text[:start] + (text[end:] if end > 0 else ""))
    out = _colour("-w", str(workspace), "validate", cwd=workspace)
    assert out.returncode == 1
    assert "orders.[bold]amount: column '[bold]amount' was removed" in out.stdout


def test_run_through_a_pipe_has_no_progress_redraws(workspace: Path) -> None:
    """issue 14: FORCE_COLOR (as CI sets it) made the progress bar redraw into the log; colours stay."""
    _orders_files(workspace, **{"a.csv": "id,created_at,amount\nA,2024-01-01T00:00:00,1\n"})
    out = _colour("-w", str(workspace), "run", "--all", cwd=workspace)
    assert out.returncode == 0, out.stdout + out.stderr
    for code in ("\x1b[?25l", "\x1b[2K", "\x1b[1A", "\r"):
        assert code not in out.stdout and code not in out.stderr
    assert "orders.orders" in out.stdout and "\x1b[32msucceeded" in out.stdout
