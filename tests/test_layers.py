"""The layer contracts in pyproject.toml, checked by import-linter (`lint-imports`, run by `make lint`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}  # the package under source_root, not the installed one
    command = [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=source_root, env=env, capture_output=True, text=True, check=False)


def test_the_package_keeps_its_layer_contracts() -> None:
    result = _lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _with_import(tmp_path: Path, module: str, line: str) -> Path:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "lakemesh", copy / "lakemesh", ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / "lakemesh" / module
    path.write_text(path.read_text() + f"\n{line}\n")
    return copy


def test_a_cycle_inside_a_package_breaks_the_contracts(tmp_path: Path) -> None:
    # encryption <-> erasure was such a cycle: erasure imports encryption, so the reverse closes it again
    cyclic = _with_import(tmp_path, "governance/encryption.py", "from lakemesh.governance import erasure")
    result = _lint_imports(cyclic)
    assert result.returncode != 0
    assert ".encryption -> .erasure" in result.stdout or ".erasure -> .encryption" in result.stdout


def test_a_domain_layer_importing_the_facade_or_cli_breaks_the_layers(tmp_path: Path) -> None:
    result = _lint_imports(_with_import(tmp_path, "spec/models.py", "import lakemesh.mesh"))
    assert result.returncode != 0
    assert "lakemesh.spec is not allowed to import lakemesh.mesh" in result.stdout
