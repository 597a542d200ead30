"""Erasure and policies follow column lineage: a subject key or a PII column copied into another product
under another name is found, erased and held to the PII rules; a column only computed from one is not a
copy, and is named for review."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakemesh.governance.derived import Derivation
from lakemesh.governance.erasure import ErasureAction, Subject, plan, subject_lineage
from lakemesh.governance.policies import pii_lineage
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.spec.workspace import load_workspace
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

CONTACTS = "customers.customer_contacts"
CALL_LIST = "customers.call_list"
PROFILES = "customers.customer_profiles"
ORIGIN = "customers.customer_records.customer_id"  # the key as first received, two products upstream
CONTACTS_SQL = """SELECT
    customer_id AS buyer_id,
    email AS contact,
    upper(email) AS shouting,
    country
FROM customers.customer_profiles
"""
UNTAGGED = {"buyer_id": "classification: confidential", "contact": "classification: confidential"}
TAGGED = {
    "buyer_id": "classification: confidential\n        tags: [pii, subject-key]",
    "contact": "classification: confidential\n        tags: [pii]",
}


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMESH_MASK_KEY", "test-mask-key")


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="dpo@company.com"))


def _add_product(root: Path, pid: str, reads: str, sql: str, columns: dict[str, str], key: str) -> None:
    """A gold product of the customers domain: its descriptor, its contract (`columns`: name -> the
    classification and tags lines), its SQL; merged on `key`, so erasure cannot recompute it."""
    name = pid.split(".")[1]
    folder = root / "domains/customers/products" / name
    folder.mkdir(parents=True)
    (folder / "transform.sql").write_text(sql)
    (folder / "product.yaml").write_text(f"""apiVersion: v1.0.0
kind: DataProduct
id: {pid}
name: {name}
domain: customers
status: active
version: 1.0.0
description:
  purpose: Whom the care team calls about an order.
owner: crm-team@company.com
layer: gold
inputPorts:
  - name: input
    contractId: {reads}
outputPorts:
  - name: {name}
    contractId: {pid}
    version: 1.0.0
sla:
  freshness: 1d
build:
  transform:
    sql: transform.sql
  refresh:
    mode: merge
""")
    properties = "".join(
        f"""      - name: {column}
        logicalType: string
        physicalType: VARCHAR
        description: {column}.
        {lines}
"""
        + ("        primaryKey: true\n        primaryKeyPosition: 1\n" if column == key else "")
        for column, lines in columns.items()
    )
    (folder / "contract.yaml").write_text(f"""apiVersion: v3.1.0
kind: DataContract
id: {pid}
name: {name}
version: 1.0.0
status: active
domain: customers
dataProduct: {pid}
description:
  purpose: Whom the care team calls about an order.
schema:
  - name: {name}
    physicalType: table
    properties:
{properties}slaProperties:
  - property: retention
    value: 1
    unit: y
team:
  - username: crm-team@company.com
    role: owner
""")


def _contacts(root: Path, tags: dict[str, str], sql: str = CONTACTS_SQL) -> None:
    columns = {**tags, "shouting": "classification: internal", "country": "classification: internal"}
    _add_product(root, CONTACTS, PROFILES, sql, columns, key="buyer_id")


def _call_list(root: Path) -> None:
    """A third hop: the contacts' buyer copied once more, under yet another name."""
    sql = "SELECT buyer_id AS who, country FROM customers.customer_contacts\n"
    columns = {
        "who": "classification: confidential\n        tags: [pii, subject-key]",
        "country": "classification: internal",
    }
    _add_product(root, CALL_LIST, CONTACTS, sql, columns, key="who")


def test_plan_deletes_a_renamed_copy_of_the_subject_key_through_any_number_of_products(shop: Path) -> None:
    _contacts(shop, TAGGED)
    _call_list(shop)
    ws = load_workspace(shop)
    subjects = [Subject.parse("customer_id=C000042")]
    steps = {s.product_id: s for s in plan(ws, subjects)}
    contacts, calls = steps[CONTACTS], steps[CALL_LIST]
    assert contacts.action is ErasureAction.DELETE and contacts.columns == ["buyer_id"]
    assert contacts.key_of == {"buyer_id": "customer_id"}
    assert f"buyer_id: copy of {ORIGIN}" in contacts.reason
    assert calls.action is ErasureAction.DELETE and calls.columns == ["who"]
    assert f"who: copy of {ORIGIN}" in calls.reason and calls.key_of == {"who": "customer_id"}
    # the aggregate of the key is no copy: the gold summary is still recomputed, as before
    assert steps["orders.daily_sales_summary"].action is ErasureAction.RECOMPUTE
    assert "copy" not in steps["orders.daily_sales_summary"].reason
    # cost on the example shop: lineage derived only downstream of the key columns
    started = time.perf_counter()
    lineage = subject_lineage(ws, subjects)
    seconds = time.perf_counter() - started
    assert set(lineage.derived_products) == {PROFILES, "orders.analytics_orders", "orders.daily_sales_summary",
                                             CONTACTS, CALL_LIST}  # fmt: skip
    print(f"subject lineage of the example shop + 2 products: {seconds * 1000:.1f} ms")


def test_a_transformed_key_is_not_a_copy_but_is_named_for_review(shop: Path) -> None:
    _contacts(shop, TAGGED, CONTACTS_SQL.replace("customer_id AS buyer_id", "upper(customer_id) AS buyer_id"))
    step = next(s for s in plan(load_workspace(shop), [Subject.parse("customer_id=C1")]) if s.product_id == CONTACTS)
    assert step.action is ErasureAction.REVIEW and step.columns == []
    assert f"buyer_id: derives from {ORIGIN} through lineage (transformed, not a copy): review it" in step.reason


def test_governance_check_reports_untagged_copies_of_pii_and_tagging_clears_them(shop: Path) -> None:
    _contacts(shop, UNTAGGED)
    violations = [v for v in _open(shop).governance.check() if v.product_id == CONTACTS]
    messages = sorted(v.message for v in violations)
    assert [v.policy for v in violations] == ["pii_encryption", "pii_encryption"]
    assert {v.severity.value for v in violations} == {"critical"}
    assert messages == [
        "column 'buyer_id' is a copy of pii column customers.customer_records.customer_id (column lineage) "
        "but is not tagged pii: tag it `pii` and classify it one of ['confidential', 'restricted']",
        "column 'contact' is a copy of pii column customers.customer_profiles.email (column lineage) "
        "but is not tagged pii: tag it `pii` and classify it one of ['confidential', 'restricted']",
    ]  # profiles.email is lower(trim()) of the record's: the copy's origin is the profile's column
    assert not any("shouting" in m for m in messages)  # upper(email): computed, not a copy
    # the CLI shows it, validate warns, and the critical policy keeps the product from being built
    code, out = run("-w", str(shop), "governance", "check")
    assert code == 1 and "contact" in out and "customers.customer_profiles.email" in out
    warnings = [p.message for p in _open(shop).validate().warnings]
    assert any("pii_encryption" in w and "'contact' is a copy of pii column" in w for w in warnings)
    from lakemesh.governance.policies import blocked_products

    assert CONTACTS in blocked_products(load_workspace(shop))
    # tagged pii (with a subject key for the gdpr policy), the copies are governed: nothing left
    _edit_contract(shop, UNTAGGED, TAGGED)
    assert [v for v in _open(shop).governance.check() if v.product_id == CONTACTS] == []


def test_policies_derive_lineage_once_and_only_downstream_of_pii(shop: Path) -> None:
    _contacts(shop, UNTAGGED)
    lineage = pii_lineage(load_workspace(shop))
    assert "customers.customer_records" not in lineage.derived_products  # bronze reads files
    assert set(lineage.of(CONTACTS, Derivation.COPY)) == {"buyer_id", "contact"}
    assert set(lineage.of(CONTACTS, Derivation.TRANSFORMED)) == {"shouting"}
    print(f"pii lineage of the example shop + 1 product: {lineage.seconds * 1000:.1f} ms")


_TYPED = "        logicalType: string\n        physicalType: VARCHAR\n"


def _edit_contract(root: Path, old: dict[str, str], new: dict[str, str]) -> None:
    path = root / "domains/customers/products/customer_contacts/contract.yaml"
    text = path.read_text()
    for column in old:
        before = f"- name: {column}\n{_TYPED}        description: {column}.\n        "
        assert before + old[column] in text
        text = text.replace(before + old[column], before + new[column], 1)
    path.write_text(text)


@pytest.mark.slow
def test_forget_erases_the_subject_from_a_renamed_copy(shop: Path) -> None:
    _contacts(shop, TAGGED)
    write_order_events(shop / "data/order_events/e.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 200)
    mesh = _open(shop)
    assert mesh.run().ok
    count = f"SELECT count(*) AS n FROM {CONTACTS} WHERE buyer_id = '{{}}'"
    buyer = str(mesh.query(f"SELECT buyer_id FROM {CONTACTS} ORDER BY buyer_id LIMIT 1").to_pylist()[0]["buyer_id"])
    total = mesh.query(f"SELECT count(*) AS n FROM {CONTACTS}").to_pylist()[0]["n"]
    assert mesh.query(count.format(buyer)).to_pylist()[0]["n"] == 1
    dry = mesh.governance.forget([f"customer_id={buyer}"], dry_run=True)
    step = next(s for s in dry.steps if s.product_id == CONTACTS)
    assert step.action is ErasureAction.DELETE and step.rows == {CONTACTS: 1}
    code, out = run("-w", str(shop), "forget", "--subject", f"customer_id={buyer}", "--dry-run")
    assert code == 0 and CONTACTS in out and f"buyer_id: copy of {ORIGIN}" in out
    assert mesh.query(count.format(buyer)).to_pylist()[0]["n"] == 1  # a dry run changes nothing
    report = mesh.governance.forget([f"customer_id={buyer}"])
    assert report.ok and next(s for s in report.steps if s.product_id == CONTACTS).rows == {CONTACTS: 1}
    mesh = _open(shop)
    assert mesh.query(count.format(buyer)).to_pylist()[0]["n"] == 0
    assert mesh.query(f"SELECT count(*) AS n FROM {CONTACTS}").to_pylist()[0]["n"] == total - 1
