"""YAML reading that keeps documents as written: no timestamp coercion, line numbers for errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lakemesh.spec.problems import Problem


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's parser when there is one: five times faster) with YAML 1.2 core scalars, so
    values read back exactly as written.

    PyYAML follows YAML 1.1: `2024-01-01T00:00:00Z` becomes a datetime, `1:30` the integer 90, `no` false
    and `010` the integer 8. Exporting such a document would change it: here the first three stay strings
    and `010` is the decimal 10, as YAML 1.2 reads them.
    """


_REPLACED = {f"tag:yaml.org,2002:{t}" for t in ("timestamp", "bool", "int", "float")}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    # base 10 always: YAML 1.1 would read `010` as octal 8
    assert isinstance(node, yaml.ScalarNode)
    return int(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping with the same key twice: YAML parsers keep the last value and drop the first unseen."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` then overriding its keys is what merge keys are for
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise DuplicateKeyError(
                problem=f"duplicate key '{key}' (first on line {seen[key]})", problem_mark=key_node.start_mark
            )
        if isinstance(key, (str, int, float, bool)):
            seen[key] = line
    return dict(yaml.SafeLoader.construct_mapping(loader, node, deep))


_Loader.construct_mapping = _mapping


class _Dumper(yaml.SafeDumper):
    """Block-style dumper that indents lists under their key, as hand-written specs do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


class YamlFileError(Exception):
    """A file that is not readable YAML; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.render())
        self.problem = problem


def parse_yaml(text: str, file: str) -> Any:
    """Parse one YAML document, turning syntax errors into a Problem with the line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise YamlFileError(Problem(file, "", str(exc.problem), line=line)) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        msg = f"YAML syntax error: {exc.problem or exc}"
        raise YamlFileError(Problem(file, "", msg, line=line)) from exc
    except yaml.YAMLError as exc:
        raise YamlFileError(Problem(file, "", f"YAML error: {exc}")) from exc


def read_yaml(path: Path, display: str | None = None) -> Any:
    """Read a YAML file; every failure (missing, not UTF-8, bad syntax) becomes a YamlFileError."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise YamlFileError(Problem(name, "", "file not found")) from exc
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        raise YamlFileError(Problem(name, "", msg)) from exc
    return parse_yaml(text, name)


def dump_yaml(data: Any) -> str:
    """Dump to block-style YAML keeping key order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
