"""`--json` is the typed result dumped as JSON: the shape a script (or the HTTP API) can read back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from lakemesh.cli.render import dump
from lakemesh.governance.policies import Violation
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.quality.results import CheckStatus, ExpectationResult, QualityReport
from lakemesh.spec.expectations import CheckSeverity
from lakemesh.spec.models import PolicySeverity
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run


def test_run_json_reads_back_as_the_typed_result(shop: Path) -> None:
    write_order_events(shop / "data/order_events/e1.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 50)
    code, out = run("-w", str(shop), "run", "--all", "--json")
    assert code == 0, out
    runs = [ProductRun.model_validate(entry) for entry in json.loads(out)]
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
    gated = [entry for entry in json.loads(out) if entry["quality"]]
    assert gated and all(isinstance(e["quality"]["passed"], bool) and "product" in e["quality"] for e in gated)
    assert all(e["status"] in {s.value for s in RunStatus} for e in json.loads(out))


def test_result_values_dump_as_json_types() -> None:
    result = ExpectationResult(
        name="mean",
        type="expect_column_mean_to_be_between",
        columns=("total",),
        severity=CheckSeverity.QUARANTINE,
        status=CheckStatus.FAILED,
        observed=Decimal("12.50"),
        examples=({"total": Decimal("1.5")},),
    )
    report = QualityReport(product_id="p.q", rows=3, seconds=0.123456, results=[result], unsupported=[("x", "why")])
    data = json.loads(json.dumps(dump(report)))
    assert data["product"] == "p.q" and data["passed"] is False and data["seconds"] == 0.1235
    assert data["unsupported"] == [{"name": "x", "why": "why"}]
    first = data["results"][0]
    assert first["observed"] == 12.5 and first["examples"] == [{"total": 1.5}] and first["severity"] == "quarantine"


def test_violation_json_keeps_its_field_names() -> None:
    v = Violation(policy="pii", severity=PolicySeverity.CRITICAL, product_id="a.b", message="m", source="mesh")
    assert dump(v) == {"policy": "pii", "severity": "critical", "product": "a.b", "message": "m", "declared_in": "mesh"}
    assert Violation.model_validate(dump(v)) == v
