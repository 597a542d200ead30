from __future__ import annotations

import pytest

from lakemesh.spec.types import TypeChange, compare_types, sql_type


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (("number", "DECIMAL(10,2)"), ("number", "decimal(10, 2)"), TypeChange.SAME),
        (("number", "NUMERIC(10,2)"), ("number", "DECIMAL(10,2)"), TypeChange.SAME),
        (("number", "DECIMAL(10,2)"), ("number", "DECIMAL(12,2)"), TypeChange.WIDENED),
        (("number", "DECIMAL(10,2)"), ("number", "DECIMAL(10,3)"), TypeChange.NARROWED),
        (("number", "DECIMAL(10,2)"), ("number", "DECIMAL(11,3)"), TypeChange.WIDENED),
        (("integer", "INT"), ("integer", "BIGINT"), TypeChange.WIDENED),
        (("integer", "BIGINT"), ("integer", "SMALLINT"), TypeChange.NARROWED),
        (("integer", "INT"), ("number", "DOUBLE"), TypeChange.WIDENED),
        (("number", "DOUBLE"), ("integer", "BIGINT"), TypeChange.NARROWED),
        (("string", "VARCHAR(50)"), ("string", "VARCHAR(20)"), TypeChange.NARROWED),
        (("string", "VARCHAR(20)"), ("string", "VARCHAR"), TypeChange.WIDENED),
        (("string", "VARCHAR"), ("string", "TEXT"), TypeChange.SAME),
        (("date", None), ("timestamp", None), TypeChange.WIDENED),
        (("timestamp", None), ("date", None), TypeChange.NARROWED),
        (("string", None), ("boolean", None), TypeChange.CHANGED),
        (("integer", None), ("number", None), TypeChange.WIDENED),
    ],
)
def test_compare_types(old: tuple[str, str | None], new: tuple[str, str | None], expected: TypeChange) -> None:
    assert compare_types(old[0], old[1], new[0], new[1]) is expected


def test_sql_type_falls_back_to_logical() -> None:
    assert sql_type("integer", None).sql("duckdb") == "BIGINT"
    assert sql_type("number", "DECIMAL(10,2)").sql("duckdb") == "DECIMAL(10, 2)"
    assert sql_type("string", "no such type ((").sql("duckdb") == "TEXT"
