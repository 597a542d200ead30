"""Policies as code: global in mesh.yaml, tightened per domain, checked against specs and data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakemesh.errors import SpecError
from lakemesh.mesh import Mesh
from lakemesh.pipeline import RunStatus
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

PROFILES = "domains/customers/products/customer_profiles/contract.yaml"


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="tester@example.com"))


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _add_policies(root: Path, file: str, text: str) -> None:
    """Append policies to the file's policy list (in mesh.yaml, the governance section before access)."""
    path = root / file
    content = path.read_text()
    at = content.find("\n# Who reads what")
    path.write_text(content + text if at < 0 else content[: at + 1] + text + content[at + 1 :])


def test_the_example_mesh_meets_its_policies(shop: Path) -> None:
    mesh = _open(shop)
    assert mesh.governance.check() == []
    assert not [p for p in mesh.validate().problems if "policy" in p.message]


@pytest.mark.slow
def test_a_critical_violation_blocks_only_that_product(shop: Path) -> None:
    # the email column is pii: classified internal, it breaks pii_encryption (critical)
    _edit(
        shop,
        PROFILES,
        "        classification: restricted\n        tags: [pii, email]",
        "        classification: internal\n        tags: [pii, email]",
    )
    violations = _open(shop).governance.check()
    assert [(v.policy, v.severity.value, v.product_id) for v in violations] == [
        ("pii_encryption", "critical", "customers.customer_profiles")
    ]
    assert "pii column 'email' is classified internal" in violations[0].message
    # validate reports it (a warning: the spec is valid), run refuses to build the product
    warnings = [p.message for p in _open(shop).validate().warnings]
    assert any(w.startswith("critical policy pii_encryption (mesh)") for w in warnings)
    write_order_events(shop / "data/order_events/e.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 50)
    report = _open(shop).run()
    runs = {r.product_id: r for r in report.runs}
    blocked = runs["customers.customer_profiles"]
    assert blocked.status is RunStatus.FAILED and "blocked by critical governance policies" in (blocked.error or "")
    assert runs["orders.daily_sales_summary"].status is RunStatus.SUCCEEDED  # independent products still run
    assert not _open(shop).lakehouse.exists("customers.customer_profiles")


def test_domains_tighten_but_never_loosen(shop: Path) -> None:
    _add_policies(
        shop,
        "domains/orders/domain.yaml",
        "policies:\n  - {name: data_retention, kind: retention_required, severity: critical}\n",
    )
    _add_policies(
        shop,
        "domains/customers/domain.yaml",
        "policies:\n  - {name: pii_encryption, kind: pii_protection, severity: medium}\n",
    )
    problems = [p.render() for p in _open(shop).validate().errors]
    assert problems == [
        "domains/customers/domain.yaml policies[0].severity: policy 'pii_encryption' is critical in mesh.yaml: "
        "domains may tighten global policies but not loosen them (here medium)",
        "domains/customers/domain.yaml policies[0]: policy 'pii_encryption': domains may tighten global policies "
        "but not loosen them (it stops encrypting restricted)",
    ]
    with pytest.raises(SpecError, match="not loosen"):
        _open(shop).governance.check()
    # tightening is allowed: a higher severity, more classifications encrypted, fewer roles decrypting
    tighter = "severity: critical, encrypt: [confidential, restricted], keyPer: subject, decryptRoles: [dpo]"
    _edit(shop, "domains/customers/domain.yaml", "severity: medium", tighter)
    # the tightened retention policy applies in orders only
    _edit(
        shop,
        "domains/orders/products/daily_sales_summary/contract.yaml",
        "  - property: retention\n    element: daily_sales_summary.order_date\n    value: 10\n    unit: y\n",
        "",
    )
    [v] = _open(shop).governance.check()
    assert (v.policy, v.severity.value, v.product_id, v.source) == (
        "data_retention",
        "critical",
        "orders.daily_sales_summary",
        "domain orders",
    )


def test_broken_policies_are_spec_errors(shop: Path) -> None:
    _add_policies(
        shop,
        "mesh.yaml",
        "    - {name: odd, kind: owner_requird}\n"
        "    - {name: custom, kind: python, function: policies/checks.py:nope}\n"
        "    - {name: writes, kind: sql, query: 'DELETE FROM ${table}'}\n"
        "    - {name: nowhere, kind: owner_required, products: [billing.*]}\n"
        "    - {name: sealed, kind: pii_protection, encrypt: [restrictd], decryptRoles: [ghost]}\n",
    )
    problems = {p.path: p for p in _open(shop).validate().problems}
    assert "did you mean 'owner_required'" in problems["governance.policies[6].kind"].message
    assert "function 'policies/checks.py:nope' not found" in problems["governance.policies[7].function"].message
    assert "only a read-only SELECT" in problems["governance.policies[8].query"].message
    assert not problems["governance.policies[9].products"].is_error  # a scope matching nothing only warns
    assert "did you mean 'restricted'" in problems["governance.policies[10].encrypt[0]"].message
    assert "role 'ghost' is not declared" in problems["governance.policies[10].decryptRoles[0]"].message


@pytest.mark.slow
def test_python_and_sql_policies(shop: Path) -> None:
    (shop / "policies").mkdir()
    (shop / "policies/checks.py").write_text(
        "def active_only(ctx):\n"
        "    if ctx.product.spec.status.value != 'active':\n"
        "        return [f'status is {ctx.product.spec.status.value}, not active']\n"
        "    return []\n"
    )
    _add_policies(
        shop,
        "mesh.yaml",
        "    - {name: lifecycle, kind: python, function: policies/checks.py:active_only, severity: high}\n"
        "    - name: no_cancelled\n      kind: sql\n      severity: medium\n      products: [orders.analytics_orders]\n"
        "      query: SELECT count(*) FROM ${table} WHERE status = 'cancelled'\n"
        "      description: cancelled orders are archived elsewhere\n",
    )
    _edit(shop, "domains/orders/products/order_events/product.yaml", "status: active", "status: draft")
    mesh = _open(shop)
    [v] = mesh.governance.check()
    assert (v.policy, v.product_id, v.message) == ("lifecycle", "orders.order_events", "status is draft, not active")
    write_order_events(shop / "data/order_events/e.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 50)
    assert _open(shop).run().ok  # high violations do not block
    data = [v for v in _open(shop).governance.check(data=True) if v.policy == "no_cancelled"]
    assert len(data) == 1 and "offending rows (at most 0 allowed): cancelled orders" in data[0].message
    code, out = run("-w", str(shop), "governance", "check", "--data", "--json")
    assert code == 0 and {v["policy"] for v in json.loads(out)} == {"lifecycle", "no_cancelled"}  # none critical
    code, out = run("-w", str(shop), "governance", "check", "--fail-on", "high")
    assert code == 1 and "lifecycle" in out and "1 high" in out
