"""The compiled checks are SQL for any engine: the same expectations run on a real PostgreSQL server
give the same results as on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pyarrow as pa
import pytest

from lakemesh.engines import EngineCapabilities, EngineError
from lakemesh.engines.duckdb.engine import DuckDBEngine
from lakemesh.quality.suite import run_suite
from lakemesh.spec.expectations import CheckSeverity, Expectation, Suite
from tests.quality.test_suite import ROWS

pytestmark = pytest.mark.postgres


class PostgresEngine:
    """Just enough of the Engine protocol to run checks on PostgreSQL: a query in, Arrow out."""

    name = "postgres"
    dialect = "postgres"
    capabilities = EngineCapabilities(
        dialect="postgres", star_modifiers=False, arrow_udfs=False, reads_parquet_files=False
    )

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True

    def register(self, product_id: str, data: Any, where: str | None = None, exclude: tuple[str, ...] = ()) -> None:
        raise NotImplementedError("the test loads its table itself")

    def query(self, sql: str) -> pa.Table:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                names = [d[0] for d in cur.description or []]
                rows = cur.fetchall()
        except psycopg2.Error as exc:
            raise EngineError(str(exc).splitlines()[0]) from exc
        if not rows:
            return pa.table({n: pa.array([], pa.string()) for n in names})
        return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])

    def columns(self, sql: str) -> list[str]:
        return list(self.query(f"SELECT * FROM ({sql}) s LIMIT 0").column_names)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresEngine]:
    engine = PostgresEngine(postgres_url)
    with engine.conn.cursor() as cur:
        cur.execute(
            "CREATE SCHEMA t; CREATE TABLE t.orders (id text, amount numeric(10, 2), status text, a int, b int, "
            "code text, day date)"
        )
        cur.executemany(
            "INSERT INTO t.orders VALUES (%(id)s, %(amount)s, %(status)s, %(a)s, %(b)s, %(code)s, %(day)s)", ROWS
        )
    yield engine
    engine.close()


SUITE = [
    ("expect_column_values_to_not_be_null", {"column": "id"}),
    ("expect_column_values_to_be_unique", {"column": "id"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}),
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0, "max_value": 250}),
    ("expect_column_values_to_be_in_set", {"column": "status", "value_set": ["paid", "shipped"], "mostly": 0.5}),
    ("expect_column_values_to_match_regex", {"column": "code", "regex": "^[A-Z]{2}-"}),
    ("expect_column_value_lengths_to_be_between", {"column": "code", "min_value": 2, "max_value": 4}),
    ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "a", "column_B": "b"}),
    ("expect_multicolumn_sum_to_equal", {"column_list": ["a", "b"], "sum_total": 3}),
    ("expect_column_mean_to_be_between", {"column": "amount", "min_value": 0, "max_value": 500}),
    ("expect_column_median_to_be_between", {"column": "amount", "min_value": 0}),
    ("expect_column_unique_value_count_to_be_between", {"column": "id", "min_value": 1}),
    ("expect_column_distinct_values_to_be_in_set", {"column": "status", "value_set": ["paid", "shipped"]}),
    ("expect_column_most_common_value_to_be_in_set", {"column": "status", "value_set": ["paid"]}),
    ("expect_table_row_count_to_equal", {"value": len(ROWS)}),
    ("odcs.duplicateValues", {"column": "id", "operator": ["mustBe", 0], "unit": "percent"}),
    ("odcs.sql", {"query": "SELECT count(*) FROM ${table} WHERE status = 'lost'", "operator": ["mustBe", 40]}),
]


def _outcomes(engine: Any) -> dict[str, tuple[Any, ...]]:
    suite = Suite("t", [Expectation(t, dict(kw), t + str(i), CheckSeverity.ERROR) for i, (t, kw) in enumerate(SUITE)])
    report = run_suite(engine, '"t"."orders"', suite, "t.orders")
    out = {}
    for r in report.results:
        observed = r.observed
        if isinstance(observed, float | int) or type(observed).__name__ == "Decimal":
            observed = round(float(observed), 6)
        elif isinstance(observed, list):
            observed = sorted(map(str, observed))
        out[r.name] = (r.status, observed, r.unexpected_count, bool(r.examples) if r.unexpected_count else None)
    return out


def test_the_same_checks_give_the_same_results_on_postgresql(pg: PostgresEngine) -> None:
    duck = DuckDBEngine()
    duck.register("t.orders", pa.Table.from_pylist(ROWS))
    try:
        expected = _outcomes(duck)
    finally:
        duck.close()
    got = _outcomes(pg)
    assert got == expected
    assert {s for s, *_ in got.values()} >= {s for s, *_ in expected.values()}  # and none became an error
    assert not [name for name, (status, *_) in got.items() if status.value == "error"]
