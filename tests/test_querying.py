"""`lakemesh query`: what may be read, and how a refusal names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.mesh import Mesh
from lakemesh.querying import QueryError
from lakemesh.settings import Settings


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
        ("SELECT * FROM glob('*')", "glob()"),
        ("SELECT * FROM range(10)", "range()"),
        ("SELECT * FROM orders.analytics_orders, read_parquet('a.parquet')", "read_parquet()"),
    ],
)
def test_a_table_function_is_refused_by_name(shop: Path, sql: str, named: str) -> None:
    with pytest.raises(QueryError) as info:
        Mesh.open(shop, Settings()).query(sql)
    assert info.value.message == f"table function {named} is not allowed: queries read products by id"


def test_a_three_part_name_is_not_read_as_the_product(shop: Path) -> None:
    with pytest.raises(QueryError, match=r"unknown product x\.orders\.analytics_orders"):
        Mesh.open(shop, Settings()).query("SELECT * FROM x.orders.analytics_orders")
