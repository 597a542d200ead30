from __future__ import annotations

import pytest

from lakemesh.pipeline.transform import columns_read

AVAILABLE = ["event_id", "order_id", "customer_id", "status", "total_amount", "_raw", "_source_file"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT order_id, lower(status) AS s FROM orders.order_events WHERE customer_id IS NOT NULL",
            ["order_id", "customer_id", "status"],
        ),
        ("SELECT count(*) AS n, sum(total_amount) AS t FROM orders.order_events", ["total_amount"]),
        ("WITH x AS (SELECT order_id FROM orders.order_events) SELECT order_id FROM x", ["order_id"]),
        ("SELECT * FROM orders.order_events", None),
        ("SELECT e.* FROM orders.order_events e", None),
        ("WITH x AS (SELECT * FROM orders.order_events) SELECT order_id FROM x", None),
    ],
)
def test_columns_read(sql: str, expected: list[str] | None) -> None:
    found = columns_read(sql, "duckdb", AVAILABLE)
    assert (sorted(found) if found is not None else None) == (sorted(expected) if expected is not None else None)
