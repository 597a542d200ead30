"""ODCS RFC-0050 variables: `${VAR}` or `${VAR:-default}` in any string of a contract.

The document keeps them verbatim (export gives them back); they are resolved from the environment only
where a value is used: a quality rule's SQL when it runs, a server field when it is read. `${table}`,
`${column}` (and `${object}`, `${property}`) are lakemesh's own placeholders for a rule's table and column,
not variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from lakemesh.errors import SpecError
from lakemesh.spec.problems import Problem

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}")
PLACEHOLDERS = {"table", "object", "column", "property"}


def _is_variable(match: re.Match[str]) -> bool:
    return match.group(1).lower() not in PLACEHOLDERS


def has_variables(text: str) -> bool:
    return any(_is_variable(m) for m in VARIABLE.finditer(text))


def resolve(text: str, where: str = "", env: Mapping[str, str] | None = None) -> str:
    """`text` with every variable replaced by its environment value, else its default (POSIX `:-`: also when
    set but empty); SpecError naming the variable and `where` when neither exists."""
    values = os.environ if env is None else env

    def value(match: re.Match[str]) -> str:
        if not _is_variable(match):
            return match.group(0)
        name, has_default, default = match.group(1), match.group(2), match.group(3)
        found = values.get(name)
        if found:
            return found
        if has_default is not None:
            return default or ""
        problem = Problem(where or "contract", "", f"variable ${{{name}}} is not set and has no default")
        hint = f"set {name} in the environment, or write ${{{name}:-default}} in the contract"
        raise SpecError([problem], hint)

    return VARIABLE.sub(value, text)


def resolve_all(value: Any, where: str = "", env: Mapping[str, str] | None = None) -> Any:
    """A copy of a document fragment with the variables of every string in it resolved."""
    if isinstance(value, str):
        return resolve(value, where, env)
    if isinstance(value, dict):
        return {k: resolve_all(v, f"{where}.{k}" if where else str(k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_all(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    return value


def placeholders(text: str) -> str:
    """`text` with each variable as a plain identifier, for checking SQL that names them without their values."""
    return VARIABLE.sub(lambda m: f"__var_{m.group(1)}" if _is_variable(m) else m.group(0), text)
