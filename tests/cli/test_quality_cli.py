"""`lakemesh quality ...`: check with exit codes, JSON and JUnit, history, quarantine, reprocess, GX import."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

SILVER = "orders.analytics_orders"
CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


@pytest.fixture
def built(shop: Path) -> Path:
    write_order_events(shop / "data/order_events/e1.jsonl", 2000)
    write_customers(shop / "data/customers/c.csv", 100)
    code, out = run("-w", str(shop), "run", "--all")
    assert code == 0, out
    return shop


@pytest.mark.slow
def test_run_summary_shows_the_gates(shop: Path) -> None:
    write_order_events(shop / "data/order_events/e1.jsonl", 2000)
    write_customers(shop / "data/customers/c.csv", 100)
    code, out = run("-w", str(shop), "run", "--all")
    assert code == 0 and "quality gates" in out
    assert "orders.analytics_orders:" in out and "quarantining" in out and "rows" in out
    assert "orders.order_events:" in out and "warnings" in out


@pytest.mark.slow
def test_check_passes_on_the_published_table(built: Path, tmp_path: Path) -> None:
    junit = tmp_path / "quality.xml"
    code, out = run("-w", str(built), "quality", "check", SILVER, "--junit", str(junit))
    assert code == 0 and "checks in one scan" in out and "completeness" in out and "0 failed" in out
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests", 0)) >= 10 and suite.get("failures") == "0"


@pytest.mark.slow
def test_check_fails_with_exit_1_json_and_junit(built: Path, tmp_path: Path) -> None:
    # tighten the contract past what the table holds: a mean no order total reaches, as an error
    path = built / CONTRACT
    path.write_text(
        path.read_text().replace(
            "kwargs: {column: total_amount, min_value: 10, max_value: 5000}\n        severity: warning",
            "kwargs: {column: total_amount, min_value: 9000, max_value: 9999}\n        severity: error",
        )
    )
    code, out = run("-w", str(built), "quality", "check", SILVER, "--json")
    assert code == 1
    report = json.loads(out)
    failed = [r for r in report["results"] if r["status"] == "failed"]
    assert [r["name"] for r in failed] == ["mean_order_value_plausible"] and 5 < failed[0]["observed"] < 9000
    assert report["metrics"]["completeness"] == 1.0 and report["rows"] > 0
    junit = tmp_path / "q.xml"
    code, _ = run("-w", str(built), "quality", "check", SILVER, "--junit", str(junit), "--failed-only")
    case = [c for c in ET.parse(junit).getroot() if c.find("failure") is not None]
    assert code == 1 and [c.get("name") for c in case] == ["mean_order_value_plausible"]


@pytest.mark.slow
def test_check_a_past_version(built: Path) -> None:
    write_order_events(built / "data/order_events/e2.jsonl", 2000, start=2000)
    assert run("-w", str(built), "run", "--all")[0] == 0
    code, out = run("-w", str(built), "quality", "check", SILVER, "--as-of", "0", "--json", "--no-record")
    now = json.loads(run("-w", str(built), "quality", "check", SILVER, "--json")[1])
    assert code == 0 and json.loads(out)["table_version"] == 0 and now["table_version"] == 1
    assert json.loads(out)["rows"] < now["rows"]


@pytest.mark.slow
def test_history_draws_trends(built: Path) -> None:
    for _ in range(2):
        assert run("-w", str(built), "quality", "check", SILVER)[0] == 0
    code, out = run("-w", str(built), "quality", "history", SILVER)
    assert code == 0
    status_line = next(line for line in out.splitlines() if line.startswith("status_in_known_set"))
    assert "✗✓✓" in status_line  # the gate caught rows in the run; the published table passed twice since
    assert any(line.startswith("metric.validity") for line in out.splitlines())
    code, out = run("-w", str(built), "quality", "history", SILVER, "--check", "metric.completeness", "--json")
    assert code == 0 and len(json.loads(out)) == 3 and json.loads(out)[0]["observed"] == 1.0
    code, out = run("-w", str(built), "catalog", "sync")
    code, out = run("-w", str(built), "catalog", "show", SILVER)
    assert code == 0 and "quality (checked" in out and "validity 100.00%" in out


@pytest.mark.slow
def test_quarantine_list_and_reprocess(built: Path) -> None:
    code, out = run("-w", str(built), "quality", "quarantine", SILVER, "--limit", "5")
    assert code == 0 and "_quarantine_reason" in out and "rows in quarantine" in out
    held = json.loads(run("-w", str(built), "quality", "quarantine", SILVER, "--json", "--limit", "0")[1])
    assert held and all(r["_quarantine_checks"] for r in held)
    code, out = run("-w", str(built), "quality", "reprocess", SILVER)
    assert code == 0 and "0 rows released" in out and f"{len(held)} still in quarantine" in out
    code, out = run("-w", str(built), "quality", "quarantine", "customers.customer_records")
    assert code == 0 and "nothing in quarantine" in out


@pytest.mark.slow
def test_reprocess_refuses_rebuilt_products(built: Path) -> None:
    code, out = run("-w", str(built), "quality", "reprocess", "orders.daily_sales_summary")
    assert code == 1 and "cannot be merged back" in out and "hint: fix the cause" in out


SUITE = {
    "name": "orders_suite",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
        {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "order_id", "value": 12}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "items_count", "min_value": 0, "max_value": 50, "mostly": 0.99},
            "severity": "warning",
        },
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["order_id", "updated_at"]}},
        {"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "total_amount"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "coupon"}},
    ],
}


@pytest.mark.slow
def test_import_gx_suite_into_a_contract(built: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(SUITE))
    contract = built / CONTRACT
    contract.write_text("# orders: owned by the orders team\n" + contract.read_text())
    code, out = run("-w", str(built), "quality", "import-gx", str(suite), "--contract", SILVER)
    assert code == 1 and "coupon" in out and "not imported" in out and "nothing was written" in out
    importable = {**SUITE, "expectations": [e for e in SUITE["expectations"] if "coupon" not in str(e)]}
    suite.write_text(json.dumps(importable))
    code, out = run("-w", str(built), "quality", "import-gx", str(suite), "--contract", SILVER)
    assert code == 0
    assert "+ order_id: expect_column_value_lengths_to_equal" in out
    assert "expect_column_kl_divergence_to_be_less_than: lakemesh cannot run" in out  # reported by name
    text = contract.read_text()
    assert text.startswith("# orders: owned by the orders team")  # comments survive the edit
    assert "engine: great-expectations" in text and "mostly: 0.99" in text
    # the imported expectations run (and the unsupported one is listed as skipped, not dropped)
    code, out = run("-w", str(built), "quality", "check", SILVER, "--json")
    report = json.loads(out)
    names = {r["name"]: r for r in report["results"]}
    assert names["lengths_equal(order_id)"]["status"] == "passed"
    assert names["between(items_count)"]["severity"] == "warning"
    assert names["unique(order_id+updated_at)"]["status"] == "passed"
    assert [u["name"] for u in report["unsupported"]] == ["expect_column_kl_divergence_to_be_less_than"]
    # importing again adds nothing
    code, out = run("-w", str(built), "quality", "import-gx", str(suite), "--contract", str(contract))
    assert code == 0 and "already in the contract" in out and "0 expectations added" in out


def test_validate_rejects_a_broken_expectation(shop: Path) -> None:
    path = shop / CONTRACT
    path.write_text(
        path.read_text().replace("kwargs: {min_value: 0, max_value: 100000}", "kwargs: {min_value: 0, maxvalue: 1}")
    )
    code, out = run("-w", str(shop), "validate")
    assert code == 1 and "unknown argument 'maxvalue'" in out and "'max_value'" in out
    assert "contract.yaml" in out and "quality[0]" in out
    assert "1 errors" in out  # the contract still describes its table: its consumers are not reported too
