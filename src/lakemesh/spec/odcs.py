"""ODCS v3 data contracts: load, lint against the JSON Schema of their `apiVersion`, typed column view.

The document is kept exactly as read (`Contract.raw`), so exporting it back as ODCS loses nothing;
`Contract.model` is the typed view from the `open-data-contract-standard` package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from open_data_contract_standard.model import OpenDataContractStandard

from lakemesh.errors import NotFoundError
from lakemesh.spec.expectation_checks import expectation_problems
from lakemesh.spec.problems import Problem, Severity, did_you_mean, format_path, has_errors
from lakemesh.spec.types import parse_type
from lakemesh.spec.yaml_io import YamlFileError, read_yaml

SCHEMA_FILES = {"v3.0": "odcs-v3.0.json", "v3.1": "odcs-v3.1.json", "v3.2": "odcs-v3.2.json"}
SUPPORTED_API_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
PII = "pii"  # the tag of a column holding personal data
SUBJECT_KEY = "subject-key"  # the tag of the column naming the data subject (GDPR erasure finds rows by it)
SUBJECT_KEY_PROPERTY = "subject_key"  # the contract custom property naming that column instead of a tag


@cache
def _validator(minor: str) -> Draft201909Validator:
    text = resources.files("lakemesh.spec").joinpath(f"odcs_schemas/{SCHEMA_FILES[minor]}").read_text()
    return Draft201909Validator(json.loads(text))


def schema_minor(api_version: Any) -> str | None:
    """The schema family (`v3.1`) that validates an `apiVersion` such as `v3.1.0`; None if unknown."""
    if not isinstance(api_version, str):
        return None
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.\d+", api_version.strip())
    if not match:
        return None
    minor = f"v{match.group(1)}.{match.group(2)}"
    return minor if minor in SCHEMA_FILES else None


@dataclass(frozen=True)
class Column:
    """One top-level property of a schema object, with the rules lakemesh enforces on it."""

    name: str
    logical_type: str | None
    physical_type: str | None
    required: bool
    unique: bool
    primary_key: bool
    primary_key_position: int | None
    description: str | None
    classification: str | None
    tags: tuple[str, ...]
    options: dict[str, Any]
    valid_values: tuple[Any, ...] | None
    critical: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pattern(self) -> str | None:
        value = self.options.get("pattern")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class Table:
    """One schema object of a contract (a table)."""

    name: str
    physical_name: str | None
    description: str | None
    columns: tuple[Column, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def primary_key(self) -> list[str]:
        keyed = [c for c in self.columns if c.primary_key]
        return [c.name for c in sorted(keyed, key=lambda c: c.primary_key_position or 0)]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _valid_values(prop: dict[str, Any]) -> tuple[Any, ...] | None:
    """Allowed values: the v3.2 `enum` list or an `invalidValues` rule with `validValues` (v3.1)."""
    if isinstance(prop.get("enum"), list):
        return tuple(e.get("value") if isinstance(e, dict) else e for e in prop["enum"])
    for rule in prop.get("quality") or []:
        if not isinstance(rule, dict):
            continue
        metric = rule.get("metric") or rule.get("rule")
        args = rule.get("arguments") or {}
        if metric in ("invalidValues", "validValues") and isinstance(args.get("validValues"), list):
            return tuple(args["validValues"])
    return None


def _column(prop: dict[str, Any]) -> Column:
    return Column(
        name=str(prop.get("name", "")),
        logical_type=prop.get("logicalType"),
        physical_type=prop.get("physicalType"),
        required=bool(prop.get("required", False)),
        unique=bool(prop.get("unique", False)),
        primary_key=bool(prop.get("primaryKey", False)),
        primary_key_position=prop.get("primaryKeyPosition"),
        description=prop.get("description"),
        classification=prop.get("classification"),
        tags=tuple(prop.get("tags") or ()),
        options=dict(prop.get("logicalTypeOptions") or {}),
        valid_values=_valid_values(prop),
        critical=bool(prop.get("criticalDataElement", False)),
        raw=prop,
    )


@dataclass
class Contract:
    """A loaded ODCS v3 contract: the document as written plus typed views of it."""

    raw: dict[str, Any]
    file: str
    model: OpenDataContractStandard

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def version(self) -> str:
        return str(self.raw.get("version", ""))

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.raw["id"])

    @property
    def status(self) -> str | None:
        return self.raw.get("status")

    @cached_property
    def tables(self) -> list[Table]:
        tables = []
        for obj in self.raw.get("schema") or []:
            props = tuple(_column(p) for p in obj.get("properties") or [])
            tables.append(Table(obj.get("name", ""), obj.get("physicalName"), obj.get("description"), props, raw=obj))
        return tables

    def table(self, name: str | None = None) -> Table:
        """The schema object called `name`, or the only/first one."""
        tables = self.tables
        if not tables:
            raise NotFoundError(f"contract {self.id} declares no schema objects", "add a `schema:` list to it")
        if name is None:
            return tables[0]
        for table in tables:
            if name in (table.name, table.physical_name):
                return table
        names = [t.name for t in tables]
        hint = f"choose one of {', '.join(names)}"
        raise NotFoundError(f"contract {self.id} has no schema object '{name}'{did_you_mean(name, names)}", hint)

    @cached_property
    def subject_columns(self) -> frozenset[str]:
        """The columns naming a data subject: tagged `subject-key`, or named by the `subject_key` custom
        property. Erasure finds a subject's rows by them, encryption keys per subject on them."""
        if not self.tables:
            return frozenset()
        table = self.table()
        tagged = {c.name for c in table.columns if SUBJECT_KEY in (c.tags or ())}
        for prop in self.raw.get("customProperties") or []:
            named = prop.get("property") == SUBJECT_KEY_PROPERTY if isinstance(prop, dict) else False
            if named and table.column(str(prop.get("value"))):
                tagged.add(str(prop.get("value")))
        return frozenset(tagged)

    @property
    def servers(self) -> list[dict[str, Any]]:
        """The `servers` entries with their RFC-0050 variables resolved from the environment now (the
        document keeps them as written)."""
        from lakemesh.spec.variables import resolve_all

        servers = self.raw.get("servers") or []
        return [resolve_all(s, f"{self.file} servers[{i}]") for i, s in enumerate(servers) if isinstance(s, dict)]

    @property
    def sla(self) -> dict[str, tuple[Any, str | None]]:
        """SLA properties by name: value and unit."""
        out: dict[str, tuple[Any, str | None]] = {}
        for prop in self.raw.get("slaProperties") or []:
            if isinstance(prop, dict) and prop.get("property"):
                out[str(prop["property"])] = (prop.get("value"), prop.get("unit"))
        return out


@cache
def _vocabulary(minor: str) -> tuple[str, ...]:
    """Every property name the schema of `minor` declares anywhere: candidates for "did you mean"."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props.keys())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_validator(minor).schema)
    return tuple(sorted(names))


_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")


def _unknown_keys(err: SchemaError) -> list[str]:
    match = _UNEXPECTED.search(err.message)
    return re.findall(r"'([^']+)'", match.group(1)) if match else []


def schema_fit(raw: dict[str, Any]) -> str | None:
    """The first schema, from the one its `apiVersion` names on, that the document is valid under; None if none.

    The standard's own examples are checked against its newest schema, so a document labelled v3.0.2 may use
    fields of v3.1 or v3.2 (a `team` object, `exclusiveMinimum` as a value, a library rule without `rule`).
    """
    minor = schema_minor(raw.get("apiVersion"))
    if minor is None:
        return None
    for candidate in list(SCHEMA_FILES)[list(SCHEMA_FILES).index(minor) :]:
        if _validator(candidate).is_valid(raw):
            return candidate
    return None


def schema_problems(raw: dict[str, Any], file: str) -> list[Problem]:
    """Problems with a document against the ODCS JSON Schema its `apiVersion` names; a warning instead when
    a later schema accepts it."""
    api_version = raw.get("apiVersion")
    minor = schema_minor(api_version)
    if minor is None:
        if isinstance(api_version, str) and api_version.startswith("v2"):
            msg = f"ODCS {api_version} is not supported: lakemesh reads ODCS v3 (apiVersion v3.0.0 to v3.2.0)"
        else:
            shown = "missing" if api_version is None else f"'{api_version}'"
            msg = f"apiVersion {shown} is not an ODCS v3 version; use one of {', '.join(SUPPORTED_API_VERSIONS)}"
        return [Problem(file, "apiVersion", msg)]
    problems = _problems_under(minor, raw, file)
    fit = schema_fit(raw) if problems else None
    if fit is None or fit == minor:
        return problems
    first = problems[0]
    where = f" at {first.path}" if first.path else ""
    detail = first.message if len(first.message) <= 160 else first.message[:80] + " … " + first.message[-60:]
    message = (
        f"valid under the ODCS {fit} schema, not under the {minor} schema its apiVersion {api_version} names "
        f"({len(problems)} difference(s), first{where}: {detail}); bump apiVersion to {fit}.0"
    )
    return [Problem(file, "apiVersion", message, Severity.WARNING)]


def _problems_under(minor: str, raw: dict[str, Any], file: str) -> list[Problem]:
    errors = list(_validator(minor).iter_errors(raw))
    unknown_kinds = ("additionalProperties", "unevaluatedProperties")
    # a failed oneOf leaves its keys "unevaluated": report the oneOf, not the keys
    failed = {tuple(e.absolute_path) for e in errors if e.validator not in unknown_kinds}
    problems: dict[tuple[str, str], Problem] = {}
    for err in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(err.absolute_path)
        if err.validator in unknown_kinds:
            if tuple(path) in failed:
                continue
            for key in _unknown_keys(err):
                at = format_path([*path, key])
                hint = did_you_mean(key, _vocabulary(minor))
                problems[(at, key)] = Problem(file, at, f"unknown key '{key}'{hint} (ODCS {minor})")
            continue
        detail = best_match([err, *err.context]) if err.context else err
        at = format_path(list(detail.absolute_path))
        problems[(at, detail.message)] = Problem(file, at, f"{detail.message} (ODCS {minor} schema)")
    return list(problems.values())


def semantic_problems(raw: dict[str, Any], file: str) -> list[Problem]:
    """Rules the JSON Schema cannot state: unique names, key positions, regexes, ranges, types."""
    problems: list[Problem] = []
    names: set[str] = set()
    for i, obj in enumerate(raw.get("schema") or []):
        where = f"schema[{i}]"
        name = obj.get("name")
        if name in names:
            problems.append(Problem(file, f"{where}.name", f"schema object '{name}' is declared twice"))
        names.add(name)
        problems.extend(_property_problems(obj.get("properties") or [], f"{where}.properties", file))
    return problems


def _property_problems(props: list[dict[str, Any]], where: str, file: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    positions: dict[int, str] = {}
    for j, prop in enumerate(props):
        at = f"{where}[{j}]"
        name = str(prop.get("name"))
        if name in seen:
            problems.append(Problem(file, f"{at}.name", f"column '{name}' is declared twice"))
        seen.add(name)
        pos = prop.get("primaryKeyPosition")
        if isinstance(pos, int) and pos >= 0:
            if not prop.get("primaryKey"):
                problems.append(
                    Problem(file, f"{at}.primaryKey", "primaryKeyPosition is set but primaryKey is not true")
                )
            if pos in positions:
                problems.append(
                    Problem(file, f"{at}.primaryKeyPosition", f"position {pos} is also used by '{positions[pos]}'")
                )
            positions[pos] = str(name)
        problems.extend(_options_problems(prop, at, file))
    return problems


def _options_problems(prop: dict[str, Any], at: str, file: str) -> list[Problem]:
    problems: list[Problem] = []
    opts = prop.get("logicalTypeOptions") or {}
    pattern = opts.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(Problem(file, f"{at}.logicalTypeOptions.pattern", f"invalid regular expression: {exc}"))
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength")):
        lo, hi = opts.get(low), opts.get(high)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            problems.append(Problem(file, f"{at}.logicalTypeOptions", f"{low} {lo} is greater than {high} {hi}"))
    physical = prop.get("physicalType")
    if isinstance(physical, str) and parse_type(physical) is None:
        problems.append(
            Problem(
                file,
                f"{at}.physicalType",
                f"'{physical}' is not a SQL type lakemesh understands",
                Severity.WARNING,
            )
        )
    return problems


def lint_document(raw: Any, file: str) -> list[Problem]:
    """Every problem with an ODCS document: schema of its apiVersion first, then semantic rules."""
    if not isinstance(raw, dict):
        return [Problem(file, "", "an ODCS contract must be a mapping (apiVersion, kind, id, schema, ...)")]
    problems = schema_problems(raw, file)
    if not has_errors(problems):
        problems.extend(semantic_problems(raw, file))
        problems.extend(expectation_problems(raw, file))
    return problems


def contract_from_document(raw: dict[str, Any], file: str) -> tuple[Contract | None, list[Problem]]:
    """Lint and build a Contract; None when the document itself has errors.

    A broken quality rule is an error too, but the contract still describes its table: it is built,
    so the products reading it are not reported as broken as well.
    """
    problems = schema_problems(raw, file)
    if not has_errors(problems):
        problems.extend(semantic_problems(raw, file))
    if has_errors(problems):
        return None, problems
    problems.extend(expectation_problems(raw, file))
    return Contract(raw=raw, file=file, model=OpenDataContractStandard.model_validate(raw)), problems


def load_contract(path: Path, display: str | None = None) -> tuple[Contract | None, list[Problem]]:
    """Read, lint and build a contract from a YAML (or JSON) file."""
    name = display or str(path)
    try:
        raw = read_yaml(path, name)
    except YamlFileError as exc:
        return None, [exc.problem]
    if not isinstance(raw, dict):
        return None, lint_document(raw, name)
    return contract_from_document(raw, name)
