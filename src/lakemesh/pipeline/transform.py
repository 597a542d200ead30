"""Transforms: a SQL file (parsed and checked with sqlglot, transpiled to the engine) or a Python function."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakemesh.errors import LakemeshError
from lakemesh.spec.problems import Problem, did_you_mean
from lakemesh.spec.user_code import import_function
from lakemesh.spec.workspace import ProductEntry, Workspace

if TYPE_CHECKING:  # `validate` parses transforms without loading the data stack
    import pyarrow as pa


class TransformError(LakemeshError):
    """A transform that cannot run: bad SQL, an unknown input, a Python function that fails."""


def referenced_products(tree: Any) -> set[str]:
    """`domain.name` of every table the query reads (CTE names excluded)."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if table.db:
            found.add(f"{table.db}.{table.name}")
        elif table.name not in ctes:
            found.add(table.name)
    return found


def columns_read(sql: str, dialect: str, available: list[str]) -> list[str] | None:
    """The input columns a query names, or None when it selects `*` (all of them)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    for star in tree.find_all(exp.Star):
        holder = star.parent.parent if isinstance(star.parent, exp.Column) else star.parent
        if isinstance(holder, exp.Select):  # SELECT * or SELECT t.*; count(*) reads no column
            return None
    named = {column.name for column in tree.find_all(exp.Column)}
    return [c for c in available if c in named]


def load_sql(entry: ProductEntry, inputs: list[str], engine_dialect: str) -> str:
    """The product's SQL, checked to be one read query over its inputs, in the engine's dialect."""
    return checked_sql(entry, inputs).sql(dialect=engine_dialect)


def checked_sql(entry: ProductEntry, inputs: list[str]) -> exp.Query:
    """The product's SQL parsed: exactly one read query, reading only the products of its input ports
    and no table function (no file, URL or database reachable past the inputs); TransformError otherwise.
    `run` and `validate` both check with it."""
    transform = entry.spec.build.transform
    assert transform is not None and transform.sql is not None
    where = f"{entry.id} ({entry.folder.name}/{transform.sql})"
    path = entry.folder / transform.sql
    if not path.is_file():
        raise TransformError(f"{where}: the SQL file does not exist", "create it, or fix build.transform.sql")
    text = path.read_text(encoding="utf-8")
    try:
        statements = [s for s in sqlglot.parse(text, read=transform.dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line = f" at line {first.get('line')}" if first else ""
        raise TransformError(f"{where}: SQL syntax error{line}: {first.get('description', exc)}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise TransformError(f"{where}: a transform is exactly one SELECT query", "move other statements out")
    query = statements[0]
    functions = sorted({t.this.sql(dialect=transform.dialect).split("(")[0].lower() for t in _function_tables(query)})
    if functions:
        raise TransformError(
            f"{where}: reads from the table function {', '.join(functions)}; a transform reads only its inputs",
            "ingest that data through a bronze product and add an input port for it",
        )
    unknown = sorted(referenced_products(query) - set(inputs))
    if unknown:
        hint = did_you_mean(unknown[0], inputs)
        raise TransformError(
            f"{where}: reads {', '.join(unknown)}, which is not an input port of the product{hint}",
            f"its inputs are {', '.join(inputs) or 'none'}: add an input port for it",
        )
    return query


def _function_tables(tree: exp.Query) -> list[exp.Table]:
    """FROM/JOIN items that call a function (read_csv(...), generate_series(...)) instead of naming a table."""
    return [t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Func)]


def load_python(entry: ProductEntry) -> Callable[[dict[str, pa.Table]], Any]:
    """`python: file.py:function` from the product folder: a function taking inputs by product id."""
    transform = entry.spec.build.transform
    assert transform is not None and transform.python is not None
    function = import_function(entry.folder, transform.python, f"lakemesh_transform_{entry.id.replace('.', '_')}")
    if function is None:
        raise TransformError(
            f"{entry.id}: python transform '{transform.python}' not found",
            "write it as file.py:function, the file next to product.yaml",
        )
    return function


def as_arrow(result: Any, where: str) -> pa.Table:
    """Arrow from what a Python transform returned (Arrow, or anything with `to_arrow()`, e.g. Polars)."""
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    to_arrow = getattr(result, "to_arrow", None) or getattr(result, "to_arrow_table", None)
    if callable(to_arrow):
        return pa.table(to_arrow())
    raise TransformError(f"{where}: the function returned {type(result).__name__}, not Arrow data")


def transform_problems(workspace: Workspace) -> list[Problem]:
    """Every SQL transform checked as `run` checks it (`checked_sql`), reported against its SQL file."""
    problems = []
    for entry in workspace.products.values():
        transform = entry.spec.build.transform
        if transform is None or transform.sql is None or not (entry.folder / transform.sql).is_file():
            continue  # no SQL, or a missing file the workspace loader reports already
        inputs = [p for p in (workspace.producer_of(port.contract_id) for port in entry.spec.input_ports) if p]
        try:
            checked_sql(entry, inputs)
        except TransformError as exc:
            path = entry.folder / transform.sql
            file = str(path.relative_to(workspace.root)) if path.is_relative_to(workspace.root) else str(path)
            message = exc.message.split(": ", 1)[-1]  # the file is the problem's location already
            hint = f" ({exc.hint})" if exc.hint else ""
            problems.append(Problem(file, "", f"{entry.id}: {message}{hint}"))
    return problems
