"""Importing a Great Expectations suite (JSON, GX 0.x or 1.x) into an ODCS contract's `quality` sections.

Each expectation becomes an ODCS rule `type: custom, engine: great-expectations` under the property it
names (or the table for multi-column and table expectations), so the suite lives in the contract. The
file is edited with ruamel.yaml's round trip: comments, key order and quoting elsewhere stay as written.
Expectations lakemesh cannot run are reported by name; they are kept in the contract (a later lakemesh
may run them, and `lakemesh validate` keeps warning about them) unless `skip_unsupported`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from lakemesh.errors import LakemeshError, SpecError
from lakemesh.spec.expectations import GX_KINDS, load_gx_suite
from lakemesh.spec.odcs import lint_document
from lakemesh.spec.problems import has_errors
from lakemesh.spec.yaml_io import parse_yaml

GX_SEVERITY = {"critical": "error", "warning": "warning", "info": "warning"}


@dataclass
class ImportReport:
    suite: str
    added: list[str] = field(default_factory=list)  # "column: expectation" or "table: expectation"
    already_present: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # by name: lakemesh cannot run these
    not_imported: list[tuple[str, str]] = field(default_factory=list)  # (expectation, why)
    skipped: list[str] = field(default_factory=list)  # left out on request (--skip-unsupported)
    text: str = ""  # the new contract text


def _rule(gx_type: str, kwargs: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"type": "custom", "engine": "great-expectations"}
    rule["implementation"] = {"type": gx_type, "kwargs": kwargs}
    severity = meta.get("severity")
    if severity is not None:
        rule["severity"] = GX_SEVERITY.get(str(severity).lower(), str(severity).lower())
    if isinstance(meta.get("notes"), str):
        rule["description"] = meta["notes"]
    return rule


def import_suite(
    suite_path: Path, contract_path: Path, table: str | None = None, skip_unsupported: bool = False
) -> ImportReport:
    """The contract text with the suite's expectations added; the caller decides whether to write it."""
    try:
        name, expectations = load_gx_suite(suite_path.read_text())
    except (OSError, ValueError) as exc:
        raise LakemeshError(f"{suite_path}: cannot read a Great Expectations suite: {exc}") from exc
    text = contract_path.read_text()
    yaml = YAML()  # round trip
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(**_indentation(text))
    doc = yaml.load(text)
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not schema:
        raise LakemeshError(f"{contract_path}: the contract has no schema objects to attach expectations to")
    obj = next((o for o in schema if table in (None, o.get("name"), o.get("physicalName"))), None)
    if obj is None:
        raise LakemeshError(f"{contract_path}: no schema object '{table}'", "pass --table with one of its names")
    props = {str(p.get("name")): p for p in obj.get("properties") or []}
    report = ImportReport(name)
    for gx_type, kwargs, meta in expectations:
        kwargs = dict(kwargs)
        column = kwargs.get("column")
        label = f"{column or 'table'}: {gx_type}"
        if gx_type not in GX_KINDS:
            report.unsupported.append(gx_type)
            if skip_unsupported:
                report.skipped.append(gx_type)
                continue
        if column is not None and column not in props:
            report.not_imported.append((label, f"the contract has no column '{column}'"))
            continue
        target = obj
        if column is not None:
            target = props[str(column)]
            kwargs.pop("column")
        rules = target.get("quality")
        if rules is None:
            target["quality"] = rules = []
        rule = _rule(gx_type, kwargs, meta)
        if any(_same(existing, rule) for existing in rules):
            report.already_present.append(label)
            continue
        rules.append(rule)
        report.added.append(label)
    out = io.StringIO()
    yaml.dump(doc, out)
    report.text = out.getvalue()
    _lint(report.text, contract_path)
    return report


_KEY = re.compile(r"^( *)[^\s#-][^:]*:\s*$")
_ITEM = re.compile(r"^( *)- ")


def _indentation(text: str) -> dict[str, int]:
    """The contract's own indentation (ruamel's defaults would re-indent every list of a file written as
    `key:` / `  - item`): the dash offset of its first list under a key, the mapping step of its first
    nested key."""
    lines = text.splitlines()
    mapping, offset = 2, 0
    for above, line in pairwise(lines):
        key, item = _KEY.match(above), _ITEM.match(line)
        if key and item:
            offset = max(0, len(item.group(1)) - len(key.group(1)))
            break
    for above, line in pairwise(lines):
        key = _KEY.match(above)
        nested = re.match(r"^( *)[^\s#-]", line)
        if key and nested and len(nested.group(1)) > len(key.group(1)):
            mapping = len(nested.group(1)) - len(key.group(1))
            break
    return {"mapping": mapping, "sequence": offset + 2, "offset": offset}


def _same(existing: Any, rule: dict[str, Any]) -> bool:
    if not isinstance(existing, dict) or existing.get("type") != "custom":
        return False
    impl = existing.get("implementation")
    return (
        isinstance(impl, dict)
        and impl.get("type") == rule["implementation"]["type"]
        and dict(impl.get("kwargs") or {}) == dict(rule["implementation"]["kwargs"])
    )


def _lint(text: str, contract_path: Path) -> None:
    """The edited contract must still be a valid ODCS document (read the way lakemesh reads every file)."""
    problems = lint_document(parse_yaml(text, str(contract_path)), str(contract_path))
    if has_errors(problems):
        raise SpecError(problems, "the suite's expectations would make the contract invalid: nothing was written")
