"""The ODCS project's own example contracts: variables (RFC-0050), enums, documents ahead of their apiVersion."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.engines.duckdb.engine import DuckDBEngine
from lakemesh.errors import SpecError
from lakemesh.quality.results import CheckStatus
from lakemesh.quality.suite import run_suite
from lakemesh.spec.expectations import Suite, expectations_of, render_query
from lakemesh.spec.export import to_odcs
from lakemesh.spec.odcs import lint_document, load_contract, schema_fit
from lakemesh.spec.problems import Severity
from lakemesh.spec.yaml_io import parse_yaml, read_yaml
from tests.conftest import FIXTURES

EXAMPLES = FIXTURES / "odcs-examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.odcs.yaml")), ids=lambda p: p.name)
def test_the_standards_examples_load_without_errors(path: Path) -> None:
    contract, problems = load_contract(path)
    assert contract is not None and [p for p in problems if p.is_error] == []


@pytest.mark.parametrize(
    ("name", "fits", "what"),
    [
        ("all-data-types.odcs.yaml", "v3.1", "exclusiveMinimum"),
        ("column-completeness.odcs.yaml", "v3.1", "'rule' is a required property"),
    ],
)
def test_a_document_ahead_of_its_api_version_is_a_warning_naming_the_version(name: str, fits: str, what: str) -> None:
    doc = read_yaml(EXAMPLES / name)
    assert doc["apiVersion"] == "v3.0.2"
    problems = lint_document(doc, name)
    assert len(problems) == 1 and problems[0].severity is Severity.WARNING
    message = problems[0].message
    assert f"valid under the ODCS {fits} schema" in message and what in message
    assert f"bump apiVersion to {fits}.0" in message
    assert schema_fit(doc) == fits


def test_a_team_object_under_v3_0_2_names_v3_1() -> None:
    doc = read_yaml(EXAMPLES / "team.odcs.yaml")
    doc["apiVersion"] = "v3.0.2"
    problems = lint_document(doc, "team.yaml")
    assert [p.severity for p in problems] == [Severity.WARNING]
    assert (
        "valid under the ODCS v3.1 schema" in problems[0].message and "bump apiVersion to v3.1.0" in problems[0].message
    )
    assert len(problems[0].message) < 400  # the team object itself is not repeated in full


def test_what_no_version_allows_stays_an_error() -> None:
    doc = read_yaml(EXAMPLES / "all-data-types.odcs.yaml")
    doc["schema"][0]["properties"][1]["logicalTypeOptions"]["exclusiveMinimum"] = {"not": "a value"}
    problems = lint_document(doc, "c.yaml")
    assert problems and all(p.is_error for p in problems)
    assert any("exclusiveMinimum" in p.path for p in problems)
    assert schema_fit(doc) is None


def _enum_contract_with_invalid_values_rule() -> dict[str, object]:
    doc = copy.deepcopy(read_yaml(EXAMPLES / "enum.odcs.yaml"))
    status = doc["schema"][0]["properties"][1]
    status["quality"] = [{"metric": "invalidValues", "mustBe": 0, "name": "status_known"}]
    return doc


def test_invalid_values_without_arguments_checks_against_the_enum() -> None:
    doc = _enum_contract_with_invalid_values_rule()
    assert lint_document(doc, "c.yaml") == []
    suite = expectations_of(doc["schema"][0])
    [rule] = [e for e in suite.expectations if e.name == "status_known"]
    assert rule.kwargs["arguments"]["validValues"] == ["pending", "processing", "shipped", "cancelled"]
    engine = DuckDBEngine()
    try:
        engine.register("t.orders", pa.table({"status": ["pending", "lost", "shipped", "gone", None]}))
        [result] = run_suite(engine, '"t"."orders"', Suite("orders", [rule]), "t.orders").results
    finally:
        engine.close()
    assert result.status is CheckStatus.FAILED and result.unexpected_count == 2


def test_invalid_values_without_arguments_or_enum_is_still_an_error() -> None:
    doc = _enum_contract_with_invalid_values_rule()
    del doc["schema"][0]["properties"][1]["enum"]
    problems = lint_document(doc, "c.yaml")
    assert any("invalidValues needs validValues" in p.message and p.is_error for p in problems)


def test_variables_resolve_from_the_environment_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "SELECT COUNT(*) FROM ${TARGET_TABLE} WHERE created_at > ${CUTOFF_DATE:-'2020-01-01'} AND ${column} > 0"
    monkeypatch.setenv("TARGET_TABLE", "orders")
    monkeypatch.delenv("CUTOFF_DATE", raising=False)
    rendered = render_query(query, "t", "amount")
    assert rendered == "SELECT COUNT(*) FROM orders WHERE created_at > '2020-01-01' AND \"amount\" > 0"
    monkeypatch.setenv("CUTOFF_DATE", "DATE '2024-05-01'")
    assert "created_at > DATE '2024-05-01'" in render_query(query, "t", None)
    monkeypatch.delenv("TARGET_TABLE")
    with pytest.raises(SpecError, match=r"\$\{TARGET_TABLE\} is not set"):
        render_query(query, "t", None)


def test_server_fields_resolve_and_export_keeps_variables_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    contract, problems = load_contract(EXAMPLES / "variables.odcs.yaml")
    assert contract is not None and not [p for p in problems if p.is_error]
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.delenv("DB_NAME", raising=False)
    monkeypatch.setenv("DB_SCHEMA", "")  # set but empty: the POSIX default applies
    server = contract.servers[0]
    assert (server["host"], server["database"], server["schema"], server["port"]) == (
        "db.internal",
        "orders",
        "public",
        5432,
    )
    exported = to_odcs(contract)
    assert "host: ${DB_HOST}" in exported and "${DB_NAME:-orders}" in exported
    assert parse_yaml(exported, "export") == read_yaml(EXAMPLES / "variables.odcs.yaml")
