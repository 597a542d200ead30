"""Expectations declared in a contract: ODCS `quality` rules, Great Expectations names, and the schema's own rules.

Every source is read into one shape, `Expectation(type, kwargs, severity)`, where `type` is a Great
Expectations name (`expect_column_values_to_be_between`) or one of lakemesh's (`odcs.nullValues`,
`odcs.sql`, `lakemesh.freshness`). Declaring, in a contract:

- an ODCS library rule: `metric: nullValues|missingValues|invalidValues|duplicateValues|rowCount` with
  an operator (`mustBe`, `mustBeLessThan`, `mustBeBetween`, ...) and `unit: rows|percent`;
- an ODCS SQL rule: `type: sql`, `query: SELECT count(*) FROM ${table} WHERE ...`, an operator;
- a Great Expectations expectation: `type: custom`, `engine: great-expectations`,
  `implementation: {type: expect_..., kwargs: {...}}` (the column comes from the property it sits under);
- freshness: `type: custom`, `engine: lakemesh`, `implementation: {metric: freshness, column: c, maxAge: 2h}`;
- the schema itself: `required`, `unique`, `primaryKey`, `enum`, `pattern`, `minimum`/`maximum`,
  `minLength`/`maxLength` are expectations too (their severity: error, or warning in bronze, the raw layer).

Severity: `error` stops the product's run, `quarantine` moves failing rows aside, `warning` is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import yaml

from lakemesh.spec.models import parse_duration as duration_seconds
from lakemesh.spec.variables import resolve
from lakemesh.sql import q


class CheckSeverity(str, Enum):
    ERROR = "error"
    QUARANTINE = "quarantine"
    WARNING = "warning"


class CheckStatus(str, Enum):
    """A check's outcome; here beside its severity so the catalog's records share it with quality."""

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


SEVERITY_NAMES = {
    "error": CheckSeverity.ERROR,
    "critical": CheckSeverity.ERROR,
    "fatal": CheckSeverity.ERROR,
    "quarantine": CheckSeverity.QUARANTINE,
    "warning": CheckSeverity.WARNING,
    "warn": CheckSeverity.WARNING,
    "info": CheckSeverity.WARNING,
}


class Scope(str, Enum):
    """How an expectation looks at the data, which decides how it compiles and whether rows can be quarantined."""

    ROW = "row"  # a predicate on each row: unexpected rows can be counted, shown and quarantined
    UNIQUE = "unique"  # rows whose key occurs more than once
    AGGREGATE = "aggregate"  # one statistic of the table
    SCHEMA = "schema"  # the table's columns and types, no scan


@dataclass(frozen=True)
class Kind:
    scope: Scope
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    columns: tuple[str, ...] = ("column",)  # kwargs naming columns of the table


_BETWEEN = ("min_value", "max_value", "strict_min", "strict_max")
_ROW = Scope.ROW
_AGG = Scope.AGGREGATE

# The Great Expectations expectations lakemesh runs, with the keyword arguments each takes.
GX_KINDS: dict[str, Kind] = {
    "expect_column_values_to_not_be_null": Kind(_ROW, ("column",)),
    "expect_column_values_to_be_null": Kind(_ROW, ("column",)),
    "expect_column_values_to_be_between": Kind(_ROW, ("column",), _BETWEEN),
    "expect_column_values_to_be_in_set": Kind(_ROW, ("column", "value_set")),
    "expect_column_values_to_not_be_in_set": Kind(_ROW, ("column", "value_set")),
    "expect_column_values_to_match_regex": Kind(_ROW, ("column", "regex")),
    "expect_column_values_to_not_match_regex": Kind(_ROW, ("column", "regex")),
    "expect_column_values_to_match_regex_list": Kind(_ROW, ("column", "regex_list"), ("match_on",)),
    "expect_column_values_to_not_match_regex_list": Kind(_ROW, ("column", "regex_list")),
    "expect_column_value_lengths_to_be_between": Kind(_ROW, ("column",), ("min_value", "max_value")),
    "expect_column_value_lengths_to_equal": Kind(_ROW, ("column", "value")),
    "expect_column_values_to_match_strftime_format": Kind(_ROW, ("column", "strftime_format")),
    "expect_column_values_to_be_json_parseable": Kind(_ROW, ("column",)),
    "expect_column_values_to_be_dateutil_parseable": Kind(_ROW, ("column",)),
    "expect_column_pair_values_to_be_equal": Kind(_ROW, ("column_A", "column_B"), (), ("column_A", "column_B")),
    "expect_column_pair_values_a_to_be_greater_than_b": Kind(
        _ROW, ("column_A", "column_B"), ("or_equal",), ("column_A", "column_B")
    ),
    "expect_multicolumn_sum_to_equal": Kind(_ROW, ("column_list", "sum_total"), (), ("column_list",)),
    "expect_column_values_to_be_unique": Kind(Scope.UNIQUE, ("column",)),
    "expect_compound_columns_to_be_unique": Kind(Scope.UNIQUE, ("column_list",), (), ("column_list",)),
    "expect_table_row_count_to_be_between": Kind(_AGG, (), ("min_value", "max_value"), ()),
    "expect_table_row_count_to_equal": Kind(_AGG, ("value",), (), ()),
    "expect_column_mean_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_median_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_stdev_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_sum_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_min_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_max_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_unique_value_count_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_proportion_of_unique_values_to_be_between": Kind(_AGG, ("column",), _BETWEEN),
    "expect_column_distinct_values_to_be_in_set": Kind(_AGG, ("column", "value_set")),
    "expect_column_distinct_values_to_contain_set": Kind(_AGG, ("column", "value_set")),
    "expect_column_distinct_values_to_equal_set": Kind(_AGG, ("column", "value_set")),
    "expect_column_most_common_value_to_be_in_set": Kind(_AGG, ("column", "value_set"), ("ties_okay",)),
    "expect_column_to_exist": Kind(Scope.SCHEMA, ("column",), ("column_index",), ()),
    "expect_table_column_count_to_equal": Kind(Scope.SCHEMA, ("value",), (), ()),
    "expect_table_column_count_to_be_between": Kind(Scope.SCHEMA, (), ("min_value", "max_value"), ()),
    "expect_table_columns_to_match_set": Kind(Scope.SCHEMA, ("column_set",), ("exact_match",), ()),
    "expect_table_columns_to_match_ordered_list": Kind(Scope.SCHEMA, ("column_list",), (), ()),
    "expect_column_values_to_be_of_type": Kind(Scope.SCHEMA, ("column", "type_")),
    "expect_column_values_to_be_in_type_list": Kind(Scope.SCHEMA, ("column", "type_list")),
}

# keyword arguments every expectation may carry; `mostly` only where rows are counted
COMMON_KWARGS = ("mostly", "result_format", "include_config", "catch_exceptions", "meta", "severity")
UNSUPPORTED_KWARGS = ("row_condition", "condition_parser", "ignore_row_if", "parse_strings_as_datetimes")

ODCS_METRICS = {"nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"}
# ODCS v3.0 named library rules `rule:`; the v3.1 `metric` each one became
ODCS_V30_RULES = {
    "nullCheck": "nullValues",
    "nullValues": "nullValues",
    "missingValues": "missingValues",
    "validValues": "invalidValues",
    "invalidValues": "invalidValues",
    "duplicateCount": "duplicateValues",
    "duplicateValues": "duplicateValues",
    "uniqueness": "duplicateValues",
    "rowCount": "rowCount",
}
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
GX_ENGINES = {"great-expectations", "great_expectations", "greatexpectations", "gx", "ge"}


@dataclass(frozen=True)
class Expectation:
    """One check on a product's table, from whichever declaration it came."""

    type: str
    kwargs: dict[str, Any] = field(hash=False)
    name: str
    severity: CheckSeverity = CheckSeverity.ERROR
    where: str = ""  # the field path in the contract, for problems and reports
    implicit: bool = False  # derived from the schema rather than declared as a rule
    description: str | None = None

    @property
    def kind(self) -> Kind | None:
        return GX_KINDS.get(self.type)

    @property
    def scope(self) -> Scope:
        if self.kind is not None:
            return self.kind.scope
        if self.type == "odcs.duplicateValues":
            return Scope.UNIQUE
        if self.type in ("odcs.nullValues", "odcs.missingValues", "odcs.invalidValues"):
            return Scope.ROW
        return Scope.AGGREGATE

    @property
    def columns(self) -> list[str]:
        """Every column of the table the expectation reads."""
        out: list[str] = []
        keys = self.kind.columns if self.kind else ("column",)
        for key in keys:
            value = self.kwargs.get(key)
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, list):
                out.extend(str(v) for v in value)
        if self.type == "odcs.duplicateValues":
            out.extend(str(p) for p in (self.kwargs.get("arguments") or {}).get("properties") or [])
        return list(dict.fromkeys(out))

    @property
    def mostly(self) -> float:
        value = self.kwargs.get("mostly")
        return float(value) if isinstance(value, int | float) else 1.0

    @property
    def quarantinable(self) -> bool:
        return self.scope in (Scope.ROW, Scope.UNIQUE)


@dataclass
class Suite:
    """The expectations of one contract table, plus those declared in ways lakemesh cannot run."""

    table: str
    expectations: list[Expectation] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (name, why)


def parse_severity(value: Any) -> CheckSeverity | None:
    if value is None:
        return CheckSeverity.ERROR
    return SEVERITY_NAMES.get(str(value).strip().lower())


def parse_duration(value: Any) -> float | None:
    """Seconds in a number or a duration such as `15m`, `2h`, `1d` (the grammar of the spec's SLAs); None
    when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return duration_seconds(str(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _gx_implementation(value: Any) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """(type, kwargs, meta) of a GX implementation written as a mapping or as YAML/JSON text."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            return None, {}, {}
    if not isinstance(value, dict):
        return None, {}, {}
    kind = value.get("type") or value.get("expectation_type") or value.get("expectation")
    kwargs = value.get("kwargs")
    if not isinstance(kwargs, dict):
        kwargs = {k: v for k, v in value.items() if k not in ("type", "expectation_type", "expectation", "meta")}
    meta: dict[str, Any] = dict(value["meta"]) if isinstance(value.get("meta"), dict) else {}
    return (str(kind) if kind else None), {str(k): v for k, v in kwargs.items()}, meta


def _rule_name(rule: dict[str, Any], fallback: str) -> str:
    return str(rule.get("name") or rule.get("id") or fallback)


def operator_of(rule: dict[str, Any]) -> tuple[str, Any] | None:
    for op in OPERATORS:
        if op in rule:
            return op, rule[op]
    return None


def expectations_of(table_raw: dict[str, Any], layer: str | None = None) -> Suite:
    """Every expectation of one ODCS schema object (a table), schema rules included."""
    suite = Suite(str(table_raw.get("name", "")))
    for j, prop in enumerate(table_raw.get("properties") or []):
        if not isinstance(prop, dict):
            continue
        for k, rule in enumerate(prop.get("quality") or []):
            where = f"properties[{j}].quality[{k}]"
            _declared(suite, _with_enum(rule, prop), where, str(prop.get("name", "")))
    for k, rule in enumerate(table_raw.get("quality") or []):
        _declared(suite, rule, f"quality[{k}]", None)
    declared = list(suite.expectations)
    implicit_severity = CheckSeverity.WARNING if layer == "bronze" else CheckSeverity.ERROR
    names = {d.name for d in declared}
    for e in _schema_expectations(table_raw, implicit_severity):
        if any(_covers(d, e) for d in declared):
            continue
        # beside a weaker declared rule of the same label, results must still tell the two apart
        suite.expectations.append(replace(e, name=f"{e.name} (schema)") if e.name in names else e)
    return suite


_ENFORCING = (CheckSeverity.ERROR, CheckSeverity.QUARANTINE)  # a failing row never reaches the table


def _covers(declared: Expectation, schema_rule: Expectation) -> bool:
    """Whether a declared rule enforces everything a schema rule would, so the schema's can be left out.

    A weaker one (a warning, `mostly`, wider bounds) is added to the schema's rule, never put in its place.
    """
    if declared.type != schema_rule.type or declared.columns != schema_rule.columns or declared.mostly < 1:
        return False
    if schema_rule.severity in _ENFORCING and declared.severity not in _ENFORCING:
        return False
    if declared.type == "expect_column_values_to_be_between":
        return _bound_within(declared.kwargs, schema_rule.kwargs, "min_value", "strict_min", 1) and _bound_within(
            declared.kwargs, schema_rule.kwargs, "max_value", "strict_max", -1
        )
    return all(declared.kwargs.get(k) == v for k, v in schema_rule.kwargs.items())


def _bound_within(declared: dict[str, Any], schema: dict[str, Any], key: str, strict: str, sign: int) -> bool:
    """Whether the declared bound is at least as tight as the schema's (`sign` 1: a minimum, -1: a maximum)."""
    if schema.get(key) is None:
        return True
    mine, theirs = declared.get(key), schema[key]
    if not isinstance(mine, int | float) or isinstance(mine, bool):
        return False
    if mine != theirs:
        return bool((mine - theirs) * sign > 0)
    return bool(declared.get(strict)) or not schema.get(strict)


def _with_enum(rule: Any, prop: dict[str, Any]) -> Any:
    """An `invalidValues` rule without arguments on a property with a v3.2 `enum`: the enum is what is valid."""
    if not isinstance(rule, dict) or rule.get("metric", rule.get("rule")) not in ("invalidValues", "validValues"):
        return rule
    args: dict[str, Any] = rule["arguments"] if isinstance(rule.get("arguments"), dict) else {}
    if "validValues" in args or "pattern" in args or not isinstance(prop.get("enum"), list):
        return rule
    values = [e.get("value") if isinstance(e, dict) else e for e in prop["enum"]]
    return {**rule, "arguments": {**args, "validValues": values}}


def _declared(suite: Suite, rule: Any, where: str, column: str | None) -> None:
    if not isinstance(rule, dict):
        return
    kind = str(rule.get("type") or "library")
    severity = parse_severity(rule.get("severity")) or CheckSeverity.ERROR
    description = rule.get("description")
    if kind == "text":
        return  # prose for people: nothing to run
    if kind == "custom":
        engine = str(rule.get("engine", "")).lower().replace(" ", "")
        name = _rule_name(rule, "custom")
        if engine in GX_ENGINES:
            gx_type, kwargs, meta = _gx_implementation(rule.get("implementation"))
            if gx_type is None:
                suite.unsupported.append((name, "implementation names no expectation type"))
                return
            if gx_type not in GX_KINDS:
                suite.unsupported.append((gx_type, "lakemesh does not run this Great Expectations expectation"))
                return
            if column and "column" in GX_KINDS[gx_type].required and "column" not in kwargs:
                kwargs["column"] = column
            if "severity" in kwargs or "severity" in meta:
                severity = parse_severity(kwargs.pop("severity", None) or meta.get("severity")) or severity
            shown = str(rule.get("name") or _gx_label(gx_type, kwargs))
            suite.expectations.append(Expectation(gx_type, kwargs, shown, severity, where, False, description))
            return
        if engine == "lakemesh":
            impl = rule.get("implementation")
            impl = dict(impl) if isinstance(impl, dict) else {}
            if impl.get("metric") == "freshness":
                if column and "column" not in impl:
                    impl["column"] = column
                shown = _rule_name(rule, f"freshness({impl.get('column')})")
                suite.expectations.append(
                    Expectation("lakemesh.freshness", impl, shown, severity, where, False, description)
                )
                return
        suite.unsupported.append((name, f"engine '{rule.get('engine')}' is not run by lakemesh"))
        return
    kwargs = {"arguments": dict(rule.get("arguments") or {}), "unit": rule.get("unit") or "rows"}
    operator = operator_of(rule)
    if operator is not None:
        kwargs["operator"] = list(operator)
    if column:
        kwargs["column"] = column
    if kind == "sql":
        kwargs["query"] = rule.get("query")
        name = _rule_name(rule, f"sql({column})" if column else "sql")
        suite.expectations.append(Expectation("odcs.sql", kwargs, name, severity, where, False, description))
        return
    metric = rule.get("metric") or ODCS_V30_RULES.get(str(rule.get("rule")), rule.get("rule"))
    name = _rule_name(rule, f"{metric}({column})" if column else str(metric))
    suite.expectations.append(Expectation(f"odcs.{metric}", kwargs, name, severity, where, False, description))


_LABEL_PREFIX = re.compile(
    r"^(column_values_to_|column_value_|column_pair_values_|column_|table_|compound_columns_to_)"
)


def _gx_label(gx_type: str, kwargs: dict[str, Any]) -> str:
    """A short display name: expect_column_values_to_not_be_null + order_id -> not_null(order_id)."""
    short = _LABEL_PREFIX.sub("", gx_type.removeprefix("expect_"))
    short = short.replace("_to_be_", "_").replace("not_be_", "not_").replace("_to_", "_")
    short = short.removeprefix("be_")
    target = kwargs.get("column") or kwargs.get("column_list") or kwargs.get("column_A")
    if isinstance(target, list):
        target = "+".join(map(str, target))
    return f"{short}({target})" if target else short


def _schema_expectations(table_raw: dict[str, Any], severity: CheckSeverity) -> Iterable[Expectation]:
    keys = []
    for j, prop in enumerate(table_raw.get("properties") or []):
        if not isinstance(prop, dict) or not prop.get("name"):
            continue
        col = str(prop["name"])
        where = f"properties[{j}]"

        def make(gx_type: str, field_name: str, col: str = col, where: str = where, **kwargs: Any) -> Expectation:
            kw = {"column": col, **kwargs}
            return Expectation(gx_type, kw, _gx_label(gx_type, kw), severity, f"{where}.{field_name}", True)

        if prop.get("primaryKey"):
            keys.append((prop.get("primaryKeyPosition") or 0, col))
        if prop.get("required") or prop.get("primaryKey"):
            yield make("expect_column_values_to_not_be_null", "required")
        if prop.get("unique") and not prop.get("primaryKey"):
            yield make("expect_column_values_to_be_unique", "unique")
        if isinstance(prop.get("enum"), list):
            values = [e.get("value") if isinstance(e, dict) else e for e in prop["enum"]]
            yield make("expect_column_values_to_be_in_set", "enum", value_set=values)
        opts = prop.get("logicalTypeOptions") or {}
        if isinstance(opts.get("pattern"), str):
            yield make("expect_column_values_to_match_regex", "logicalTypeOptions.pattern", regex=opts["pattern"])
        bounds: dict[str, Any] = {}
        for key, kw, strict in (
            ("minimum", "min_value", None),
            ("exclusiveMinimum", "min_value", "strict_min"),
            ("maximum", "max_value", None),
            ("exclusiveMaximum", "max_value", "strict_max"),
        ):
            value = opts.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds[kw] = value
                if strict:
                    bounds[strict] = True
        if bounds:
            yield make("expect_column_values_to_be_between", "logicalTypeOptions", **bounds)
        lengths = {
            kw: opts[key]
            for key, kw in (("minLength", "min_value"), ("maxLength", "max_value"))
            if isinstance(opts.get(key), int)
        }
        if lengths:
            yield make("expect_column_value_lengths_to_be_between", "logicalTypeOptions", **lengths)
    if keys:
        names = [c for _, c in sorted(keys)]
        key_kw: dict[str, Any] = {"column": names[0]} if len(names) == 1 else {"column_list": names}
        key_type = "expect_column_values_to_be_unique" if len(names) == 1 else "expect_compound_columns_to_be_unique"
        yield Expectation(key_type, key_kw, _gx_label(key_type, key_kw), severity, "primaryKey", True)


def render_query(query: str, relation: str, column: str | None) -> str:
    """A rule's SQL with `${table}` / `{table}` and `${column}` / `{column}` filled in, and its RFC-0050
    variables (`${VAR}`, `${VAR:-default}`) from the environment."""
    out = resolve(query, "quality rule query")
    out = re.sub(r"\$?\{\s*(?:table|object)\s*\}", relation, out)
    if column:
        out = re.sub(r"\$?\{\s*(?:column|property)\s*\}", q(column), out)
    return out


def load_gx_suite(text: str) -> tuple[str, list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """(suite name, [(type, kwargs, meta)]) of a Great Expectations suite JSON, 0.x or 1.x."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ValueError("not a Great Expectations suite: no 'expectations' list")
    name = str(data.get("name") or data.get("expectation_suite_name") or "suite")
    out = []
    for item in data["expectations"]:
        gx_type, kwargs, meta = _gx_implementation(item)
        if "severity" in item and isinstance(item, dict):
            meta = {**meta, "severity": item["severity"]}
        out.append((gx_type or "?", kwargs, meta))
    return name, out
