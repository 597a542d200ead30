"""`validate` parses every SQL transform with the checks `run` applies, naming the SQL file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.mesh import Mesh
from lakemesh.pipeline import RunStatus
from lakemesh.synthetic import write_customers, write_order_events

GOLD_SQL = "domains/orders/products/daily_sales_summary/transform.sql"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT order_date, count(* FROM orders.analytics_orders", "SQL syntax error"),
        ("CREATE TABLE x AS SELECT * FROM orders.analytics_orders", "exactly one SELECT query"),
        ("DELETE FROM orders.analytics_orders", "exactly one SELECT query"),
        ("SELECT 1; SELECT 2", "exactly one SELECT query"),
        ("SELECT * FROM orders.order_events", "reads orders.order_events, which is not an input port"),
        ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv"),
        (
            "SELECT * FROM orders.analytics_orders a JOIN read_text('/etc/hosts') t ON true",
            "table function read_text",
        ),
        ("SELECT * FROM '/tmp/some.parquet'", "which is not an input port"),
    ],
)
def test_validate_refuses_bad_transform_sql(shop: Path, sql: str, message: str) -> None:
    write_order_events(shop / "data/order_events/e.jsonl", 200)
    write_customers(shop / "data/customers/c.csv", 50)
    (shop / GOLD_SQL).write_text(sql)
    mesh = Mesh.open(shop)
    report = mesh.validate()
    [problem] = report.errors
    assert problem.file == GOLD_SQL and message in problem.message
    assert problem.message.startswith("orders.daily_sales_summary: ")
    # and `run` fails that product for the same reason, and only it and what it feeds
    runs = {r.product_id: r for r in mesh.run().runs}
    failed = runs["orders.daily_sales_summary"]
    assert failed.status is RunStatus.FAILED and failed.error is not None and message in failed.error
    assert {r.status for p, r in runs.items() if p != failed.product_id} == {RunStatus.SUCCEEDED}


def test_the_example_transforms_validate(shop: Path) -> None:
    assert Mesh.open(shop).validate().ok
