from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from lakemesh.spec.diff import diff_contracts
from lakemesh.spec.odcs import Contract, contract_from_document, load_contract
from tests.conftest import EXAMPLE

BASE = EXAMPLE / "domains/orders/products/analytics_orders/contract.yaml"


def _base() -> Contract:
    contract, problems = load_contract(BASE)
    assert contract is not None, problems
    return contract


def _changed(edit: Callable[[dict[str, Any]], None]) -> Contract:
    raw = copy.deepcopy(_base().raw)
    edit(raw)
    contract, problems = contract_from_document(raw, "new.yaml")
    assert contract is not None, problems
    return contract


def _props(raw: dict[str, Any]) -> list[dict[str, Any]]:
    props: list[dict[str, Any]] = raw["schema"][0]["properties"]
    return props


def _prop(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in _props(raw) if p["name"] == name)


def _set_sla(raw: dict[str, Any], prop: str, value: float) -> None:
    next(p for p in raw["slaProperties"] if p["property"] == prop)["value"] = value


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, bool]] = [
    ("remove column", lambda r: _props(r).pop(5), "column removed", True),
    ("rename by stable id", lambda r: _prop(r, "items_count").update(name="item_count"), "column removed", True),
    ("narrow decimal", lambda r: _prop(r, "total_amount").update(physicalType="DECIMAL(8,2)"), "type narrowed", True),
    ("widen decimal", lambda r: _prop(r, "total_amount").update(physicalType="DECIMAL(12,2)"), "type widened", False),
    ("narrow int", lambda r: _prop(r, "items_count").update(physicalType="SMALLINT"), "type narrowed", True),
    ("widen int", lambda r: _prop(r, "items_count").update(physicalType="BIGINT"), "type widened", False),
    (
        "string to int",
        lambda r: _prop(r, "status").update(logicalType="integer", physicalType="INTEGER"),
        "type changed",
        True,
    ),
    (
        "new required column",
        lambda r: _props(r).append({"name": "channel", "logicalType": "string", "required": True}),
        "required column added",
        True,
    ),
    (
        "new optional column",
        lambda r: _props(r).append({"name": "coupon", "logicalType": "string"}),
        "optional column added",
        False,
    ),
    (
        "narrow enum",
        lambda r: _prop(r, "status")["quality"][0]["arguments"].update(validValues=["created", "paid"]),
        "enum narrowed",
        True,
    ),
    (
        "widen enum",
        lambda r: _prop(r, "status")["quality"][0]["arguments"]["validValues"].append("returned"),
        "enum widened",
        False,
    ),
    (
        "raise minimum",
        lambda r: _prop(r, "total_amount")["logicalTypeOptions"].update(minimum=1),
        "range narrowed",
        True,
    ),
    (
        "raise maximum",
        lambda r: _prop(r, "total_amount")["logicalTypeOptions"].update(maximum=200000),
        "range widened",
        False,
    ),
    (
        "add pattern",
        lambda r: _prop(r, "customer_id").update(logicalTypeOptions={"pattern": "^C[0-9]+$"}),
        "pattern changed",
        True,
    ),
    (
        "primary key change",
        lambda r: _prop(r, "customer_id").update(primaryKey=True, primaryKeyPosition=2),
        "primary key changed",
        True,
    ),
    ("required dropped", lambda r: _prop(r, "status").update(required=False), "required changed", True),
    ("tighten latency", lambda r: _set_sla(r, "latency", 5), "SLA tightened", True),
    ("relax latency", lambda r: _set_sla(r, "latency", 30), "SLA relaxed", False),
    ("raise availability", lambda r: _set_sla(r, "availability", 99.9), "SLA tightened", True),
    ("new description", lambda r: _prop(r, "status").update(description="Status."), "description changed", False),
]


@pytest.mark.parametrize(("label", "edit", "kind", "breaking"), CASES, ids=[c[0] for c in CASES])
def test_change_is_classified(label: str, edit: Callable[[dict[str, Any]], None], kind: str, breaking: bool) -> None:
    result = diff_contracts(_base(), _changed(edit))
    found = [c for c in result.changes if c.kind == kind]
    assert found, f"{label}: no '{kind}' in {result.changes}"
    assert all(c.breaking is breaking for c in found)
    assert bool(result.breaking) is breaking or kind == "primary key changed"


def test_rename_is_detected_through_stable_ids() -> None:
    def with_ids(raw: dict[str, Any], name: str) -> None:
        for p in _props(raw):
            p["id"] = f"col_{p['name']}"
        _prop(raw, "items_count")["name"] = name

    old_raw = copy.deepcopy(_base().raw)
    with_ids(old_raw, "items_count")
    old, _ = contract_from_document(old_raw, "old")
    new = _changed(lambda r: with_ids(r, "item_count"))
    assert old is not None
    result = diff_contracts(old, new)
    assert [(c.kind, c.detail) for c in result.breaking] == [
        ("column renamed", "column 'items_count' was renamed to 'item_count'")
    ]


def test_identical_contracts_have_no_changes() -> None:
    result = diff_contracts(_base(), _base())
    assert result.changes == [] and result.required_bump == "none" and result.version_ok


def test_version_bump_rules() -> None:
    breaking = _changed(lambda r: _props(r).pop(-1))
    assert not diff_contracts(_base(), breaking).version_ok
    bumped = _changed(lambda r: (_props(r).pop(-1), r.update(version="3.0.0")))
    result = diff_contracts(_base(), bumped)
    assert result.version_ok and result.required_bump == "major"
    additive = _changed(lambda r: _props(r).append({"name": "coupon", "logicalType": "string"}))
    assert diff_contracts(_base(), additive).required_bump == "minor"
