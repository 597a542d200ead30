"""Expectations as declared in contracts: read into one shape, and rejected at validate time when broken."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lakemesh.spec.expectation_checks import expectation_problems
from lakemesh.spec.expectations import CheckSeverity, Scope, expectations_of, load_gx_suite
from lakemesh.spec.odcs import lint_document
from lakemesh.spec.workspace import load_workspace
from lakemesh.spec.yaml_io import read_yaml

ROOT = Path(__file__).resolve().parents[2]
ORDERS = ROOT / "examples/shop/domains/orders/products/analytics_orders/contract.yaml"


def _orders() -> dict[str, Any]:
    return copy.deepcopy(read_yaml(ORDERS))


def _table(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["schema"][0]


def _prop(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in _table(raw)["properties"] if p["name"] == name)


def test_every_kind_of_declaration_becomes_an_expectation() -> None:
    suite = expectations_of(_table(_orders()), layer="silver")
    by_name = {e.name: e for e in suite.expectations}
    # ODCS library rule under a property: the column comes from the property
    status = by_name["status_in_known_set"]
    assert status.type == "odcs.invalidValues" and status.kwargs["column"] == "status"
    assert status.severity is CheckSeverity.QUARANTINE and status.scope is Scope.ROW
    # a Great Expectations expectation declared as an ODCS custom rule
    amount = by_name["total_amount_in_range"]
    assert amount.type == "expect_column_values_to_be_between"
    assert amount.kwargs == {"min_value": 0, "max_value": 100000, "column": "total_amount"}
    # the schema's own rules: required, pattern, primary key
    assert by_name["not_null(order_id)"].implicit and by_name["unique(order_id)"].severity is CheckSeverity.ERROR
    assert by_name["match_regex(order_id)"].kwargs["regex"] == "^ORD-[0-9]{8}$"
    # an explicit between on total_amount replaces the schema's minimum/maximum rule, not both
    assert [e.type for e in suite.expectations].count("expect_column_values_to_be_between") == 2  # + items_count
    assert not any(e.implicit and e.columns == ["total_amount"] and "between" in e.type for e in suite.expectations)


def test_schema_rules_only_warn_in_bronze() -> None:
    raw = read_yaml(ROOT / "examples/shop/domains/orders/products/order_events/contract.yaml")
    suite = expectations_of(raw["schema"][0], layer="bronze")
    implicit = [e for e in suite.expectations if e.implicit]
    assert implicit and {e.severity for e in implicit} == {CheckSeverity.WARNING}
    declared = {e.name: e.severity for e in suite.expectations if not e.implicit}
    assert declared["not_empty"] is CheckSeverity.ERROR  # declared rules keep their severity


def test_the_example_contracts_have_no_expectation_problems() -> None:
    ws = load_workspace(ROOT / "examples/shop")
    assert [p.render() for p in ws.problems if p.is_error] == []


def _problems(edit: Any) -> list[str]:
    raw = _orders()
    edit(raw)
    return [p.render() for p in lint_document(raw, "contract.yaml")]


def _add_rule(raw: dict[str, Any], rule: dict[str, Any], column: str | None = None) -> None:
    target = _prop(raw, column) if column else _table(raw)
    target.setdefault("quality", []).append(rule)


def _gx(gx_type: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": "custom", "engine": "great-expectations", "implementation": {"type": gx_type, "kwargs": kwargs}}


@pytest.mark.parametrize(
    ("rule", "column", "message"),
    [
        (_gx("expect_column_values_to_not_be_null", column="order_idd"), None, "no column 'order_idd'"),
        (_gx("expect_column_values_to_not_be_null", column="order_idd"), None, "did you mean 'order_id'"),
        (_gx("expect_column_values_to_match_regex", regex="^(ORD"), "order_id", "invalid regular expression"),
        (_gx("expect_column_values_to_be_between", min_value=5, max_value=1), "total_amount", "greater than max_value"),
        (_gx("expect_column_values_to_be_between"), "total_amount", "give min_value, max_value or both"),
        (_gx("expect_column_values_to_be_in_set"), "status", "needs the argument 'value_set'"),
        (_gx("expect_column_values_to_be_in_set", value_sett=["a"]), "status", "did you mean 'value_set'"),
        (_gx("expect_column_values_to_not_be_null", mostly=1.5), "status", "mostly must be a number between 0 and 1"),
        (_gx("expect_column_values_to_be_unique", row_condition="x > 1"), "status", "'row_condition' is not supported"),
        (
            {**_gx("expect_column_mean_to_be_between", min_value=1), "severity": "quarantine"},
            "total_amount",
            "severity quarantine needs a rule that judges single rows",
        ),
        ({"metric": "nullValues", "mustBe": 0, "severity": "fatal-ish"}, "status", "unknown severity 'fatal-ish'"),
        ({"metric": "invalidValues", "mustBe": 0}, "status", "needs validValues (a list) or pattern"),
        ({"type": "sql", "query": "SELECT count(*) FROM ${table} WHERE", "mustBe": 0}, None, "does not parse"),
        ({"type": "sql", "query": "DELETE FROM ${table}", "mustBe": 0}, None, "only a read-only SELECT"),
        ({"type": "sql", "query": "SELECT count(*) FROM read_parquet('/etc/x')", "mustBe": 0}, None, "table functions"),
        ({"type": "sql", "query": "SELECT 1; SELECT 2", "mustBe": 0}, None, "exactly one SELECT"),
        ({"type": "sql", "query": "SELECT count(*), 2 FROM ${table}", "mustBe": 0}, None, "one value"),
    ],
)
def test_broken_expectations_are_rejected_with_file_and_field(
    rule: dict[str, Any], column: str | None, message: str
) -> None:
    problems = _problems(lambda raw: _add_rule(raw, rule, column))
    hits = [p for p in problems if message in p]
    assert hits, problems
    assert hits[0].startswith("contract.yaml schema[0].")  # names the file and the field


def test_expectations_lakemesh_cannot_run_are_warnings_by_name() -> None:
    raw = _orders()
    _add_rule(raw, _gx("expect_column_kl_divergence_to_be_less_than", column="total_amount"))
    _add_rule(raw, {"type": "custom", "engine": "soda", "implementation": "checks: []", "name": "soda_rule"})
    problems = expectation_problems(raw, "c.yaml")
    assert [p.is_error for p in problems] == [False, False]
    text = " ".join(p.message for p in problems)
    assert "expect_column_kl_divergence_to_be_less_than" in text and "soda_rule" in text
    suite = expectations_of(_table(raw))
    assert [n for n, _ in suite.unsupported] == ["expect_column_kl_divergence_to_be_less_than", "soda_rule"]


def test_sql_rules_may_read_other_products_but_nothing_else(shop: Path) -> None:
    contract = shop / "domains/orders/products/analytics_orders/contract.yaml"
    text = contract.read_text()
    known = (
        "      - name: customers_exist\n        type: sql\n"
        "        query: SELECT count(*) FROM ${table} o ANTI JOIN customers.customer_profiles c USING (customer_id)\n"
        "        mustBeLessThan: 10\n"
    )
    unknown = known.replace("customers_exist", "stray").replace("customers.customer_profiles", "customers.profiles")
    # two more rules in the table's quality list
    contract.write_text(
        text.replace("      - name: orders_not_empty", known + unknown + "      - name: orders_not_empty")
    )
    problems = [p.render() for p in load_workspace(shop).problems if p.is_error]
    assert len(problems) == 1 and "'customers.profiles', which is neither ${table} nor a product" in problems[0]
    assert "did you mean 'customers.customer_profiles'" in problems[0]


def test_gx_suites_of_both_generations_are_read() -> None:
    first = {"expectation_type": "expect_column_to_exist", "kwargs": {"column": "a"}}
    old = json.dumps({"expectation_suite_name": "s0", "expectations": [first]})
    second = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}, "severity": "warning"}
    new = json.dumps({"name": "s1", "expectations": [second]})
    assert load_gx_suite(old) == ("s0", [("expect_column_to_exist", {"column": "a"}, {})])
    name, items = load_gx_suite(new)
    assert name == "s1" and items[0][0] == "expect_column_values_to_be_unique" and items[0][2]["severity"] == "warning"
    with pytest.raises(ValueError, match="no 'expectations' list"):
        load_gx_suite('{"name": "x"}')
