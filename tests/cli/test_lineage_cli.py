"""`lakemesh lineage` and `lakemesh impact`: the tree, --json, exit codes a CI pipeline gates on, and
unknown names as one line with a did-you-mean hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lakemesh.lineage.model import ImpactReport, LineageGraph
from tests.cli.test_cli import run
from tests.cli.test_cli_errors import _lakemesh, _one_red_line
from tests.cli.test_startup import _loaded

SILVER_CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


@pytest.fixture
def synced(shop: Path) -> Path:
    code, out = run("-w", str(shop), "catalog", "sync")
    assert code == 0, out
    return shop


def _variant(shop: Path, name: str, edit: str, column: str) -> Path:
    doc = yaml.safe_load((shop / SILVER_CONTRACT).read_text())
    props = doc["schema"][0]["properties"]
    if edit == "drop":
        props[:] = [p for p in props if p["name"] != column]
    else:
        prop = next(p for p in props if p["name"] == column)
        prop["logicalType"], prop["physicalType"] = "integer", "INTEGER"
    path = shop.parent / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_tree_groups_by_domain_and_marks_pii_and_masked_columns(synced: Path) -> None:
    code, out = run("-w", str(synced), "lineage", "customers.customer_profiles.email", "--upstream")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "customers.customer_profiles.email"
    assert any("upstream" in x for x in lines) and not any("downstream" in x for x in lines)
    assert any(x.strip(" │├└─") == "customers" for x in lines)
    assert any(x.strip(" │├└─") == "outside sources" for x in lines)
    email = next(x for x in lines if "email [pii] [masked] depth 1" in x)
    assert "data/customers/*.csv.email (identity)" in email


def test_json_is_the_graph_model(synced: Path) -> None:
    code, out = run(
        "-w", str(synced), "lineage", "orders.order_events.customer_id", "--downstream", "--depth", "1", "--json"
    )
    assert code == 0, out
    graph = LineageGraph.model_validate(json.loads(out))
    assert graph.depth == 1 and graph.direction.value == "downstream"
    assert "orders.analytics_orders.customer_id" in {n.key for n in graph.nodes}
    assert max(n.depth for n in graph.nodes) == 1


def test_impact_exits_1_when_something_breaks_and_0_when_meaning_changes_only(synced: Path) -> None:
    removed = _variant(synced, "removed.yaml", "drop", "total_amount")
    code, out = run("-w", str(synced), "impact", str(removed))
    assert code == 1
    assert "breaks" in out and "orders.daily_sales_summary" in out and "revenue" in out
    retyped = _variant(synced, "retyped.yaml", "retype", "status")
    code, out = run("-w", str(synced), "impact", str(retyped), "--json")
    assert code == 0
    report = ImpactReport.model_validate(json.loads(out))
    assert not report.breaking and {i.kind.value for i in report.impacted} == {"changes_meaning", "unaffected"}


def test_impact_between_two_files(synced: Path) -> None:
    removed = _variant(synced, "removed.yaml", "drop", "status")
    code, out = run(
        "-w", str(synced), "impact", "--old", str(synced / SILVER_CONTRACT), "--new", str(removed), "--json"
    )
    assert code == 1
    report = ImpactReport.model_validate(json.loads(out))
    assert report.breaking and report.product_id == "orders.analytics_orders"


def test_unknown_names_and_bad_options_are_one_line_with_a_hint(synced: Path) -> None:
    out = _lakemesh("lineage", "orders.analytic_orders", cwd=synced)
    _one_red_line(out, "did you mean 'orders.analytics_orders'")
    out = _lakemesh("lineage", "orders.analytics_orders.stauts", cwd=synced)
    _one_red_line(out, "has no column 'stauts'", "did you mean 'status'")
    out = _lakemesh("lineage", "orders.analytics_orders", "--depth", "two", cwd=synced)
    _one_red_line(out, "--depth 'two'")
    out = _lakemesh("impact", cwd=synced)
    _one_red_line(out, "give a CONTRACT_FILE, or both --old and --new")


def test_help_is_light_and_says_the_exit_codes() -> None:
    assert _loaded("lineage", "--help") == []
    assert _loaded("impact", "--help") == []
    code, out = run("impact", "--help")
    assert code == 0 and "1 when something BREAKS" in " ".join(out.split())
