"""The README's tour, run line by line as a new user would: in a fresh `lakemesh init` workspace, then in
the demo's workspace. A line whose comment says `exit 1:` is expected to exit 1; every other line, 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"


def _tour_blocks() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## A tour of the CLI", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def _run(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "COLUMNS": "200"}
    env.pop("LAKEMESH_WORKSPACE", None)
    return subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _walk(lines: list[str], cwd: Path) -> None:
    for line in lines:
        if line.startswith("cd "):
            cwd = cwd / line.split()[1]
            continue
        out = _run(line, cwd)
        expected = 1 if "# exit 1:" in line else 0
        assert out.returncode == expected, f"{line}\n{out.stdout}\n{out.stderr}"
        assert "Traceback" not in out.stderr, f"{line}\n{out.stderr}"


def test_the_tour_has_the_three_blocks_it_describes() -> None:
    blocks = _tour_blocks()
    assert len(blocks) == 3 and blocks[0][0].startswith("lakemesh init shop")


@pytest.mark.slow
def test_the_tour_works_in_a_new_workspace(tmp_path: Path) -> None:
    _walk(_tour_blocks()[0], tmp_path)
    assert (tmp_path / "shop/lakehouse/sales/orders/_delta_log").is_dir()


@pytest.mark.slow
def test_the_tour_works_in_the_demo_workspace(tmp_path: Path) -> None:
    out = _run("lakemesh demo --rows 5000", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    _walk(_tour_blocks()[1], tmp_path / "demo-workspace")
    assert (tmp_path / "demo-workspace/statuses.csv").read_text().startswith('"status","n"')


@pytest.mark.slow
def test_the_python_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"## Python API.*?```python\n(.*?)```", README.read_text(), flags=re.S)
    assert code is not None
    assert _run("lakemesh init shop", tmp_path).returncode == 0
    (tmp_path / "shop/data/orders/a.csv").write_text("id,created_at,amount\nO-1,2026-01-05T10:00:00,12.50\n")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(code.group(1), scope)  # the README's own example, as written
    assert scope["report"].ok and scope["frame"].shape[0] == 1  # type: ignore[attr-defined]
    assert scope["old"].to_pylist() == [{"n": 1}]  # type: ignore[attr-defined]
