"""PII proposals from column names and sampled values; written to the contract only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakemesh.governance.classify import luhn, mask, propose
from lakemesh.synthetic import write_customers
from tests.cli.test_cli import run

PROFILES = "domains/customers/products/customer_profiles/contract.yaml"


@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [
        ("contact", ["ada@example.com", "grace@navy.mil", "alan@bletchley.uk"], "email"),
        ("x1", ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"], "payment_card"),
        ("ref", ["123-45-6789", "078-05-1120", "219-09-9999"], "national_id"),
        ("client", ["192.168.0.1", "2001:db8::1", "10.0.0.7"], "ip_address"),
        ("mobile", ["+49 30 1234567", "(030) 123-4567", "+1 415 555 0100"], "phone"),
        ("dob", ["1984-02-29", "1950-12-01", "2001-07-14"], "date_of_birth"),
        ("full_name", ["Ada Lovelace", "Grace Hopper", "Alan Turing"], "name"),
        ("street_address", ["221B Baker Street", "10 Downing St", "1600 Pennsylvania Ave"], "address"),
    ],
)
def test_detectors(name: str, values: list[str], kind: str) -> None:
    found = propose(name, values)
    assert found is not None and found.kind == kind and found.confidence >= 0.6


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("signup_date", ["2020-05-22", "2021-01-01", "2019-12-31"]),  # dates are not phone numbers
        ("order_id", ["ORD-00000001", "ORD-00000002", "ORD-00000003"]),
        ("amount", ["12.50", "100000.00", "7.00"]),
        ("account", ["4111111111111112", "1234567812345678", "1111222233334445"]),  # fail the Luhn check
        ("birth_place", ["Berlin", "Paris", "Rome"]),  # a hint, but no date values
        ("status", ["paid", "shipped", "new"]),
    ],
)
def test_no_false_alarms(name: str, values: list[str]) -> None:
    assert propose(name, values) is None


def test_luhn_and_masking() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert mask("user42@example.com") == "u***@example.com"
    assert mask("+4930123456") == "+49******56" and "123" not in mask("+4930123456")[3:-2]


@pytest.mark.slow
def test_classify_proposes_then_writes(shop: Path) -> None:
    path = shop / PROFILES
    path.write_text(
        path.read_text().replace("tags: [pii, email]", "tags: []").replace("tags: [pii, phone]", "tags: []")
    )
    # untagged upstream too: an untagged copy of a tagged pii column is a critical violation that blocks the run
    records = shop / "domains/customers/products/customer_records/contract.yaml"
    records.write_text(records.read_text().replace("tags: [pii, phone]", "tags: []"))
    write_customers(shop / "data/customers/c.csv", 300)
    assert run("-w", str(shop), "run", "customers.customer_records", "customers.customer_profiles")[0] == 0
    code, out = run("-w", str(shop), "governance", "classify", "customers.customer_profiles", "--json")
    proposals = {p["column"]: p for p in json.loads(out)}
    assert code == 0 and set(proposals) == {"email", "phone"}
    assert proposals["email"]["tags"] == ["pii", "email"] and proposals["email"]["confidence"] >= 0.95
    assert all("@example.com" in e and not e.startswith("user") for e in proposals["email"]["examples"])
    assert "tags: []" in path.read_text()  # nothing written without --write
    code, out = run("-w", str(shop), "governance", "classify", "customers.customer_profiles", "--write")
    from lakemesh.spec.yaml_io import read_yaml

    props = {c["name"]: c for c in read_yaml(path)["schema"][0]["properties"]}
    assert code == 0 and props["email"]["tags"] == ["pii", "email"] and props["phone"]["tags"] == ["pii", "phone"]
    assert props["email"]["classification"] == "restricted"  # an existing classification is kept
    code, out = run("-w", str(shop), "governance", "classify", "customers.customer_profiles", "--json")
    assert json.loads(out) == []  # tagged now
    assert run("-w", str(shop), "validate")[0] == 0
