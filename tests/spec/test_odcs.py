from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lakemesh.errors import NotFoundError
from lakemesh.spec.export import to_odcs
from lakemesh.spec.odcs import contract_from_document, lint_document, load_contract
from lakemesh.spec.yaml_io import parse_yaml, read_yaml
from tests.conftest import EXAMPLE, FIXTURES

FULL = FIXTURES / "full-v3.1.odcs.yaml"


@pytest.mark.parametrize("name", ["full-v3.1.odcs.yaml", "v3.0.2.odcs.yaml", "v3.2.0.odcs.yaml"])
def test_odcs_export_gives_back_every_field(name: str) -> None:
    source = read_yaml(FIXTURES / name)
    contract, problems = load_contract(FIXTURES / name)
    assert contract is not None, problems
    exported = parse_yaml(to_odcs(contract), "export")
    assert exported == source
    # and the export is itself a valid contract that exports identically again
    again, problems = contract_from_document(exported, "export")
    assert again is not None and not problems
    assert to_odcs(again) == to_odcs(contract)


def test_yaml_1_1_traps_survive_the_round_trip() -> None:
    contract, _ = load_contract(FULL)
    assert contract is not None
    cutoff = contract.table("settlements").column("cutoff")
    assert cutoff is not None
    assert cutoff.raw["examples"] == ["1:30", "no", "010"]
    assert contract.raw["contractCreatedTs"] == "2023-01-02T03:04:05Z"
    assert "1:30" in to_odcs(contract)


def test_custom_properties_at_every_level_are_kept() -> None:
    contract, _ = load_contract(FULL)
    assert contract is not None
    exported = parse_yaml(to_odcs(contract), "x")
    assert exported["customProperties"][1]["value"] == {"enabled": True, "levels": [1, 2.5, "three"]}
    assert exported["servers"][0]["customProperties"] == [{"property": "replica", "value": True}]
    amount = exported["schema"][0]["properties"][2]
    assert amount["quality"][0]["customProperties"] == [{"property": "threshold_note", "value": None}]


def test_typed_view_of_columns_and_keys() -> None:
    contract, _ = load_contract(FULL)
    assert contract is not None
    settlements = contract.table("settlements")
    assert settlements.primary_key == ["settlement_id", "line_no"]
    assert contract.table("fin_settlements") is settlements  # found by physical name too
    card = settlements.column("card_last4")
    assert card is not None and card.pattern == "^[0-9]{4}$" and "pii" in card.tags
    assert contract.sla["latency"] == (4, "h")
    with pytest.raises(NotFoundError, match="did you mean 'merchants'"):
        contract.table("merchant")


def test_valid_values_from_v3_1_rule_and_v3_2_enum() -> None:
    old, _ = load_contract(EXAMPLE / "domains/orders/products/analytics_orders/contract.yaml")
    new, _ = load_contract(FIXTURES / "v3.2.0.odcs.yaml")
    assert old is not None and new is not None
    status = old.table().column("status")
    reason = new.table().column("reason")
    assert status is not None and status.valid_values == ("created", "paid", "shipped", "delivered", "cancelled")
    assert reason is not None and reason.valid_values == ("damaged", "wrong_item", "changed_mind")


def test_schema_is_chosen_by_api_version() -> None:
    doc = read_yaml(FIXTURES / "v3.0.2.odcs.yaml")
    # `relationships` on a property arrived in v3.1: unknown to the v3.0 schema
    doc["schema"][0]["properties"][1]["relationships"] = [{"to": "emails.id", "type": "foreignKey"}]
    problems = lint_document(doc, "c.yaml")
    # the v3.1 schema accepts it: a warning that names it and the bump, not an error
    assert [(p.path, p.is_error) for p in problems] == [("apiVersion", False)]
    assert "unknown key 'relationships'" in problems[0].message and "bump apiVersion to v3.1.0" in problems[0].message
    doc["schema"][0]["properties"][1]["relationshipz"] = []
    problems = lint_document(doc, "c.yaml")
    assert "schema[0].properties[1].relationshipz" in {p.path for p in problems if p.is_error}
    del doc["schema"][0]["properties"][1]["relationshipz"]
    doc["apiVersion"] = "v3.1.0"
    assert lint_document(doc, "c.yaml") == []


def test_unknown_key_gets_did_you_mean() -> None:
    doc = read_yaml(FIXTURES / "v3.2.0.odcs.yaml")
    doc["schema"][0]["properties"][0]["primaryKeyPositon"] = 1
    problems = lint_document(doc, "c.yaml")
    assert len(problems) == 1
    assert problems[0].path == "schema[0].properties[0].primaryKeyPositon"
    assert "did you mean 'primaryKeyPosition'" in problems[0].message


def test_every_problem_is_reported_at_once() -> None:
    doc = read_yaml(FIXTURES / "v3.0.2.odcs.yaml")
    del doc["id"]
    doc["status"] = 7
    doc["schema"][0]["properties"][0]["logicalType"] = "strng"
    paths = {p.path for p in lint_document(doc, "c.yaml")}
    assert {"", "status", "schema[0].properties[0].logicalType"} <= paths


@pytest.mark.parametrize(
    ("api_version", "expected"),
    [("v2.2.2", "ODCS v2.2.2 is not supported"), ("v9.0.0", "not an ODCS v3 version"), (None, "missing")],
)
def test_unsupported_api_versions(api_version: str | None, expected: str) -> None:
    doc = read_yaml(FIXTURES / "v3.0.2.odcs.yaml")
    doc["apiVersion"] = api_version
    problems = lint_document(doc, "c.yaml")
    assert problems[0].path == "apiVersion" and expected in problems[0].message


def test_semantic_rules() -> None:
    doc = read_yaml(FIXTURES / "v3.0.2.odcs.yaml")
    props = doc["schema"][0]["properties"]
    props.append(copy.deepcopy(props[1]))  # email twice
    props[1]["primaryKeyPosition"] = 1  # clashes with id, and primaryKey is not set
    props[1]["logicalTypeOptions"] = {"pattern": "([a-z", "minLength": 5, "maxLength": 2}
    messages = [p.render() for p in lint_document(doc, "c.yaml")]
    assert any("column 'email' is declared twice" in m for m in messages)
    assert any("primaryKeyPosition is set but primaryKey is not true" in m for m in messages)
    assert any("position 1 is also used by 'id'" in m for m in messages)
    assert any("invalid regular expression" in m for m in messages)
    assert any("minLength 5 is greater than maxLength 2" in m for m in messages)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "contract.yaml"
    bad.write_text("apiVersion: v3.1.0\nkind: DataContract\nschema: [\n  - name: x\n")
    contract, problems = load_contract(bad)
    assert contract is None
    assert problems[0].line is not None and problems[0].line >= 3
    assert "YAML syntax error" in problems[0].message


def test_not_utf8_is_a_clear_problem(tmp_path: Path) -> None:
    bad = tmp_path / "contract.yaml"
    bad.write_bytes("id: caf\xe9\n".encode("latin-1"))
    contract, problems = load_contract(bad)
    assert contract is None and "not UTF-8" in problems[0].message


def _subject_contract(**extra: object) -> dict[str, object]:
    props = [
        {"name": "customer_id", "logicalType": "string", "tags": ["pii", "subject-key"]},
        {"name": "email", "logicalType": "string", "tags": ["pii"]},
        {"name": "account", "logicalType": "string"},
    ]
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "subjects",
        "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "people", "properties": props}],
        **extra,
    }


def test_subject_columns_are_a_property_of_the_contract() -> None:
    contract, problems = contract_from_document(_subject_contract(), "c.yaml")
    assert contract is not None, problems
    assert contract.subject_columns == {"customer_id"}
    named = _subject_contract(customProperties=[{"property": "subject_key", "value": "account"}])
    contract, problems = contract_from_document(named, "c.yaml")
    assert contract is not None, problems
    assert contract.subject_columns == {"customer_id", "account"}
    # a custom property naming no column of the contract names no subject column
    ghost = _subject_contract(customProperties=[{"property": "subject_key", "value": "nobody"}])
    contract, _ = contract_from_document(ghost, "c.yaml")
    assert contract is not None and contract.subject_columns == {"customer_id"}
