"""Exports against golden files: `pytest --update-golden` rewrites them after a deliberate change."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema
import pytest

from lakemesh.spec.export import to_jsonschema, to_sql_ddl
from lakemesh.spec.odcs import load_contract
from tests.conftest import EXAMPLE, FIXTURES
from tests.golden.checker import Golden

GOLDEN = Path(__file__).parent / "golden"
ORDERS = EXAMPLE / "domains/orders/products/analytics_orders/contract.yaml"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark", "oracle", "tsql", "mysql"])
def test_sql_ddl_golden(golden: Golden, dialect: str) -> None:
    contract, _ = load_contract(ORDERS)
    assert contract is not None
    golden.check(GOLDEN / f"analytics_orders.{dialect}.sql", to_sql_ddl(contract, dialect))


@pytest.mark.parametrize(
    ("dialect", "bounded", "key", "unbounded"),
    [
        ("oracle", "VARCHAR2(12 CHAR)", "VARCHAR2(4000 CHAR)", "VARCHAR2(4000 CHAR)"),
        ("tsql", "NVARCHAR(12)", "NVARCHAR(450)", "NVARCHAR(MAX)"),
        ("mysql", "VARCHAR(12)", "VARCHAR(255)", "TEXT"),
    ],
)
def test_sql_ddl_gives_strings_a_length_where_the_dialect_needs_one(
    tmp_path: Path, dialect: str, bounded: str, key: str, unbounded: str
) -> None:
    """Oracle rejects a VARCHAR2 without length, SQL Server reads VARCHAR as VARCHAR(1), MySQL cannot key
    a TEXT: the contract's maxLength, else the dialect's default (a key column's fits an index)."""
    text = ORDERS.read_text()
    pattern = '          pattern: "^ORD-[0-9]{8}$"\n'
    text = text.replace(pattern, pattern + "          maxLength: 12\n")
    (tmp_path / "c.yaml").write_text(text)
    contract, problems = load_contract(tmp_path / "c.yaml")
    assert contract is not None and not problems, problems
    ddl = to_sql_ddl(contract, dialect)
    ident = {"oracle": '"{}"', "tsql": "[{}]", "mysql": "`{}`"}[dialect]
    assert f"{ident.format('order_id')} {bounded} NOT NULL" in ddl
    assert f"{ident.format('customer_id')} {unbounded} NOT NULL" in ddl
    original, _ = load_contract(ORDERS)
    assert original is not None
    assert f"{ident.format('order_id')} {key} NOT NULL" in to_sql_ddl(original, dialect)


def test_sql_ddl_runs_in_duckdb_and_enforces_the_contract() -> None:
    contract, _ = load_contract(FIXTURES / "full-v3.1.odcs.yaml")
    assert contract is not None
    con = duckdb.connect()
    con.execute(to_sql_ddl(contract, "duckdb"))
    con.execute("INSERT INTO fin_settlements (settlement_id, line_no, amount) VALUES ('a', 1, 10.5)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO fin_settlements (settlement_id, line_no, amount) VALUES ('a', 1, 3)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO fin_settlements (settlement_id, line_no) VALUES ('b', 1)")
    comment = con.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'fin_settlements' AND column_name = 'amount'"
    ).fetchone()
    assert comment == ("Settled amount in the settlement currency.",)


def test_jsonschema_golden_and_validates_records(golden: Golden) -> None:
    contract, _ = load_contract(ORDERS)
    assert contract is not None
    schema = to_jsonschema(contract)
    golden.check(GOLDEN / "analytics_orders.schema.json", json.dumps(schema, indent=2) + "\n")
    good = {
        "order_id": "ORD-00000001",
        "customer_id": "C1",
        "order_date": "2026-01-01",
        "total_amount": 10,
        "status": "paid",
        "items_count": None,
        "updated_at": "2026-01-01T00:00:00Z",
    }
    jsonschema.validate(good, schema)
    for field, value in (("status", "lost"), ("order_id", "X"), ("total_amount", -1), ("customer_id", None)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, field: value}, schema)


def test_jsonschema_of_several_tables_uses_defs() -> None:
    contract, _ = load_contract(FIXTURES / "full-v3.1.odcs.yaml")
    assert contract is not None
    schema = to_jsonschema(contract)
    assert set(schema["$defs"]) == {"settlements", "merchants"}
    jsonschema.validate({"id": "m1", "country": "DE"}, schema)
