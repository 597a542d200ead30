"""The engine and table-store boundaries hold: only `engines/` and `lakehouse/` name duckdb or deltalake."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lakemesh"
ADAPTERS = ("engines", "lakehouse")
LIBRARIES = ("duckdb", "deltalake")


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an `import` or `from ... import` names, anywhere in the tree (functions included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return sorted(found)


def crossings(root: Path) -> list[str]:
    """`path:line module` for each import of a boundary library by a module outside the adapters."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] in ADAPTERS:
            continue
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            if module.split(".")[0] in LIBRARIES:
                bad.append(f"{path.relative_to(root)}:{line} {module}")
    return sorted(bad)


def test_nothing_outside_the_adapters_imports_duckdb_or_deltalake() -> None:
    assert crossings(PACKAGE) == []


def test_the_walk_finds_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "engines").mkdir()
    (tmp_path / "engines" / "fine.py").write_text("import duckdb\n")
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "sneaky.py").write_text(
        "def f() -> None:\n    from deltalake.exceptions import DeltaError\n\n\nimport duckdb as d\n"
    )
    assert crossings(tmp_path) == ["quality/sneaky.py:2 deltalake.exceptions", "quality/sneaky.py:5 duckdb"]
