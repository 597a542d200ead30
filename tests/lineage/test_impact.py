"""Impact of a contract change on the example shop: a removed column gold aggregates BREAKS it, a column
gold only filters on CHANGES_MEANING, the rest is UNAFFECTED; deeper consumers change meaning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lakemesh.catalog.lineage import LineageRows
from lakemesh.errors import NotFoundError
from lakemesh.lineage.graph import LineageIndex
from lakemesh.lineage.impact import impact_report
from lakemesh.lineage.model import ImpactKind, ImpactReport
from lakemesh.mesh import Mesh
from lakemesh.spec.diff import diff_contracts
from lakemesh.spec.odcs import Contract, contract_from_document

SILVER, GOLD = "orders.analytics_orders", "orders.daily_sales_summary"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Mesh:
    from tests.conftest import example_copy

    m = Mesh.open(example_copy(tmp_path_factory.mktemp("impact") / "shop"))
    m.sync()
    return m


def _changed(contract: Contract, edit: Any) -> Contract:
    doc = copy.deepcopy(contract.raw)
    edit(doc["schema"][0]["properties"])
    new, problems = contract_from_document(doc, "test")
    assert new is not None, problems
    return new


def _kinds(report: ImpactReport) -> dict[str, ImpactKind]:
    return {f"{i.product}.{i.column}": i.kind for i in report.impacted}


def _drop(name: str) -> Any:
    def edit(props: list[dict[str, Any]]) -> None:
        props[:] = [p for p in props if p["name"] != name]

    return edit


def _retype(name: str, logical: str, physical: str) -> Any:
    def edit(props: list[dict[str, Any]]) -> None:
        prop = next(p for p in props if p["name"] == name)
        prop["logicalType"], prop["physicalType"] = logical, physical

    return edit


def test_removing_a_column_gold_aggregates_breaks_those_gold_columns(mesh: Mesh) -> None:
    report = mesh.lineage.impact(_changed(mesh.workspace.contracts[SILVER], _drop("total_amount")))
    kinds = _kinds(report)
    assert kinds[f"{GOLD}.revenue"] is ImpactKind.BREAKS
    assert kinds[f"{GOLD}.avg_order_value"] is ImpactKind.BREAKS
    assert kinds[f"{GOLD}.unique_customers"] is ImpactKind.UNAFFECTED
    assert kinds[f"{GOLD}.order_date"] is ImpactKind.UNAFFECTED
    assert report.breaking and report.product_id == SILVER
    revenue = next(i for i in report.impacted if i.column == "revenue")
    assert revenue.via == [f"{SILVER}.total_amount"] and revenue.owner == "orders-team@company.com"
    assert revenue.depth == 1 and revenue.domain == "orders"
    assert report.changes == ["column removed analytics_orders.total_amount (breaking)"]


def test_retyping_a_column_gold_only_filters_on_changes_its_meaning(mesh: Mesh) -> None:
    report = mesh.lineage.impact(_changed(mesh.workspace.contracts[SILVER], _retype("status", "integer", "INTEGER")))
    kinds = _kinds(report)
    assert kinds[f"{GOLD}.revenue"] is ImpactKind.CHANGES_MEANING
    assert kinds[f"{GOLD}.avg_order_value"] is ImpactKind.CHANGES_MEANING
    assert kinds[f"{GOLD}.orders_count"] is ImpactKind.UNAFFECTED
    assert not report.breaking


def test_a_description_change_reaches_nobody(mesh: Mesh) -> None:
    def edit(props: list[dict[str, Any]]) -> None:
        props[0]["description"] = "something else"

    report = mesh.lineage.impact(_changed(mesh.workspace.contracts[SILVER], edit))
    assert report.impacted and {i.kind for i in report.impacted} == {ImpactKind.UNAFFECTED}


def test_a_retyped_column_read_directly_breaks_and_deeper_consumers_change_meaning(mesh: Mesh) -> None:
    events = mesh.workspace.contracts["orders.order_events"]
    report = mesh.lineage.impact_between(events, _changed(events, _retype("customer_id", "integer", "BIGINT")))
    kinds = _kinds(report)
    assert kinds[f"{SILVER}.customer_id"] is ImpactKind.BREAKS  # read as is
    assert kinds[f"{SILVER}.status"] is ImpactKind.CHANGES_MEANING  # customer_id only filters its rows
    assert kinds[f"{GOLD}.unique_customers"] is ImpactKind.CHANGES_MEANING  # one hop further
    depths = {f"{i.product}.{i.column}": i.depth for i in report.impacted}
    assert depths[f"{SILVER}.customer_id"] == 1 and depths[f"{GOLD}.unique_customers"] == 2


def test_an_unregistered_contract_has_nothing_to_compare_with(mesh: Mesh) -> None:
    contract = mesh.workspace.contracts[SILVER]
    doc = copy.deepcopy(contract.raw)
    doc["id"] = "orders.not_there"
    other, _ = contract_from_document(doc, "test")
    assert other is not None
    with pytest.raises(NotFoundError, match=r"'orders\.not_there' is not registered"):
        mesh.lineage.impact(other)


def test_product_level_consumers_change_meaning_and_are_warned_about(mesh: Mesh) -> None:
    rows = LineageRows(
        [
            _version("a.src", [], ["status", "order_id"], "column", []),
            _version("b.py", ["a.src"], ["z"], "product", ["z"]),
        ],
        [],
    )
    old = mesh.workspace.contracts[SILVER]
    new = _changed(old, _drop("status"))
    diff = diff_contracts(old, new)
    report = impact_report(LineageIndex.from_rows(rows), diff, "c", "a.src")
    assert diff.breaking
    # how b.py reads status is unknown: not known to break, but its values may change
    assert [(i.product, i.column, i.kind, i.via) for i in report.impacted] == [
        ("b.py", None, ImpactKind.CHANGES_MEANING, ["a.src.status"])
    ]
    assert report.warnings == ["b.py: lineage of z is product-level (any input column may feed it)"]


def _version(pid: str, inputs: list[str], columns: list[str], granularity: str, level: list[str]) -> dict[str, Any]:
    return {
        "product_id": pid,
        "inputs": inputs,
        "columns": columns,
        "granularity": granularity,
        "product_level": level,
        "domain": "d",
        "layer": "silver",
        "owner": None,
        "sources": [],
        "warnings": [],
        "pii": [],
        "masked": [],
    }
