"""The engine and table-store boundaries hold: only `engines/` and `lakehouse/` name duckdb or deltalake."""

from __future__ import annotations

import ast
import re
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


# --- DuckDB's SQL stays behind the engine -------------------------------------------------------------

# modules that speak many dialects on purpose (DDL export) or the catalog's own database (migrations)
DIALECT_EXEMPT = ("spec/export.py", "catalog/migrations/")
# DuckDB's table functions: reading files is `Engine.read_csv/read_json/read_parquet`
TABLE_FUNCTION = re.compile(
    r"\b(read_csv|read_csv_auto|read_json|read_json_auto|read_ndjson|read_ndjson_objects|read_parquet|"
    r"parquet_scan|delta_scan)\s*\(",
    re.IGNORECASE,
)
# query engines' dialect names (sqlglot's); the catalog's SQLAlchemy backends ("sqlite", "postgresql") are
# not engines, and compare their names as SQLAlchemy spells them
ENGINE_NAMES = {"duckdb", "spark", "spark2", "databricks", "trino", "presto", "snowflake", "bigquery", "postgres"}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes: prose, where naming `read_csv(...)` explains rather than calls."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _compares_engine_name(node: ast.Compare) -> bool:
    """`x == "duckdb"`, `x != "spark"`, `x in ("duckdb", ...)`: a branch on an engine's name."""
    for op, right in zip(node.ops, node.comparators, strict=True):
        sides = [node.left, right]
        if isinstance(op, ast.Eq | ast.NotEq) and any(
            isinstance(s, ast.Constant) and s.value in ENGINE_NAMES for s in sides
        ):
            return True
        listed = right.elts if isinstance(right, ast.Tuple | ast.List | ast.Set) else []
        if isinstance(op, ast.In | ast.NotIn) and any(
            isinstance(e, ast.Constant) and e.value in ENGINE_NAMES for e in listed
        ):
            return True
    return False


def engine_sql_outside(root: Path) -> list[str]:
    """`path:line what` for each DuckDB table function in a string of the code (docstrings aside) and each
    comparison with an engine's name, in modules outside `engines/` and the exempt ones."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("engines/") or rel.startswith(DIALECT_EXEMPT):
            continue
        tree = ast.parse(path.read_text(), str(path))
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                found = TABLE_FUNCTION.search(node.value)
                if found:
                    bad.append(f"{rel}:{node.lineno} {found[1]}(")
            elif isinstance(node, ast.Compare) and _compares_engine_name(node):
                bad.append(f"{rel}:{node.lineno} compares an engine name")
    return sorted(bad)


def test_no_duckdb_table_function_or_engine_name_branch_outside_the_engines() -> None:
    assert engine_sql_outside(PACKAGE) == []


def test_the_sql_walk_finds_table_functions_and_name_branches_but_not_prose(tmp_path: Path) -> None:
    for folder in ("engines", "quality", "spec", "catalog/migrations/versions"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "engines" / "fine.py").write_text('SQL = "SELECT * FROM read_parquet(x)"\n')
    (tmp_path / "spec" / "export.py").write_text('def f(d: str) -> bool:\n    return d == "duckdb"\n')
    (tmp_path / "catalog/migrations/versions" / "m.py").write_text('ok = "postgres" in ("postgres",)\n')
    (tmp_path / "quality" / "sneaky.py").write_text(
        '"""Reads files like read_csv(...) does: prose, not SQL."""\n'
        "def f(p: str, dialect: str) -> str:\n"
        '    """read_json(...) in a docstring is fine."""\n'
        '    if dialect in ("duckdb", "spark"):\n'
        '        return f"SELECT * FROM READ_CSV({p}, header=true)"\n'
        '    return "delta_scan (t)" if "spark" != dialect else "read_parquet, delta_scan"\n'
    )
    assert engine_sql_outside(tmp_path) == [
        "quality/sneaky.py:4 compares an engine name",
        "quality/sneaky.py:5 READ_CSV(",
        "quality/sneaky.py:6 compares an engine name",
        "quality/sneaky.py:6 delta_scan(",
    ]
