from __future__ import annotations

from pathlib import Path

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


def test_time_is_stored_as_its_text_checked_as_a_time_and_read_back_as_one() -> None:
    import duckdb

    from lakemesh.spec.types import read_back, stored, stored_as_text

    time_type, text_type = sql_type("time", None), sql_type("string", None)
    assert stored_as_text(time_type) and stored_as_text(sql_type("time", "TIMETZ")) and not stored_as_text(text_type)
    con = duckdb.connect()
    values = ["'12:34:56.789'", "'07:00'", "'24:00:00'", "'noon'", "NULL"]
    rows = [con.execute(f"SELECT {stored(v, time_type, 'TRY_CAST')}").fetchone()[0] for v in values]  # type: ignore[index]
    assert rows == ["12:34:56.789", "07:00:00", "24:00:00", None, None]  # text Delta can hold, sorting as times
    assert sorted(r for r in rows if r) == ["07:00:00", "12:34:56.789", "24:00:00"]
    with pytest.raises(duckdb.ConversionException):
        con.execute(f"SELECT {stored(values[3], time_type)}")  # a strict cast still refuses a non-time
    assert stored("x", text_type) == "CAST(x AS TEXT)"  # other types stored as themselves
    columns = [("t", "time", None), ("tz", "time", "TIMETZ"), ("s", "string", None), ("d", "date", None)]
    assert read_back(columns) == {"t": "TIME", "tz": "TIMETZ"}


def test_ddl_export_keeps_time_as_time(tmp_path: Path) -> None:
    from lakemesh.spec.export import to_sql_ddl
    from lakemesh.spec.odcs import load_contract

    path = tmp_path / "contract.yaml"
    path.write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: c\nname: c\nversion: 1.0.0\nstatus: active\n"
        "schema:\n  - name: t\n    properties:\n      - {name: opens, logicalType: time}\n"
    )
    contract, problems = load_contract(path)
    assert contract is not None, problems
    assert '"opens" TIME' in to_sql_ddl(contract, "postgres")  # what is stored as text is a TIME to others
