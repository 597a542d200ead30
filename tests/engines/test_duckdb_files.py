"""DuckDB's file readers behind the protocol: CSV by explicit options, JSON lines, Parquet with record
numbers, files written with `copy_to`, and reader errors read back as a `FileProblem`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakemesh.engines import CsvOptions, Engine, EngineError, FileFormat, make_engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    made = make_engine()
    yield made
    made.close()


def test_csv_is_read_by_the_options_given_not_by_a_guess(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("# exported\nid;note\n1;'a;b'\n2;plain\n")
    options = CsvOptions(("id", "note"), delimiter=";", quote="'", escape="'", skip=1)
    reader = engine.read_csv(str(path), options, numbered="n")
    assert engine.describe(f"SELECT * FROM {reader}") == {"id": "VARCHAR", "note": "VARCHAR", "n": "BIGINT"}
    assert engine.rows(f"SELECT id, note, n FROM {reader} ORDER BY n") == [("1", "a;b", 1), ("2", "plain", 2)]
    headerless = CsvOptions(("id", "note"), delimiter=";", header=False, quote="'", escape="'", skip=2)
    assert engine.rows(f"SELECT * FROM {engine.read_csv(str(path), headerless)}") == [("1", "a;b"), ("2", "plain")]


def test_json_lines_as_text_with_the_record_kept(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": 1, "tags": ["x"], "odd key": "v"}\n{"id": "two"}\n')
    kept = engine.read_json(str(path), ["id", "odd key", "absent"], raw="raw", numbered="n")
    rows = engine.rows(f'SELECT id, "odd key", absent, raw, n FROM {kept} ORDER BY n')
    assert rows == [
        ("1", "v", None, '{"id": 1, "tags": ["x"], "odd key": "v"}', 1),
        ("two", None, None, '{"id": "two"}', 2),
    ]
    sampled = engine.read_json(str(path))  # the keys of a sample of the records, every value as text
    assert engine.describe(f"SELECT * FROM {sampled}") == {"id": "VARCHAR", "tags": "VARCHAR", "odd key": "VARCHAR"}


def test_parquet_records_are_numbered_per_file_from_one(engine: Engine, tmp_path: Path) -> None:
    paths = []
    for name, ids in (("a", [10, 11, 12]), ("b", [20])):
        paths.append(str(tmp_path / f"{name}.parquet"))
        pq.write_table(pa.table({"id": ids}), paths[-1])
    reader = engine.read_parquet(paths, numbered="n")
    assert engine.rows(f"SELECT id, n FROM {reader} ORDER BY id") == [(10, 1), (11, 2), (12, 3), (20, 1)]
    assert engine.columns(f"SELECT * FROM {engine.read_parquet(paths[:1])}") == ["id"]


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_copy_to_writes_what_the_readers_read_back(engine: Engine, tmp_path: Path, fmt: FileFormat) -> None:
    path = str(tmp_path / f"out.{fmt.value}")
    engine.copy_to("SELECT i AS id, 'v' || i AS v FROM range(3) t(i)", path, fmt)
    readers = {
        FileFormat.CSV: lambda: engine.read_csv(path, CsvOptions(("id", "v"))),
        FileFormat.JSON: lambda: engine.read_json(path),
        FileFormat.PARQUET: lambda: engine.read_parquet([path]),
    }
    got = engine.rows(f"SELECT CAST(id AS VARCHAR), v FROM {readers[fmt]()} ORDER BY 1")
    assert got == [("0", "v0"), ("1", "v1"), ("2", "v2")]


def test_a_csv_parse_error_names_its_line_and_what_is_wrong(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(EngineError) as caught:
        engine.rows(f"SELECT * FROM {engine.read_csv(str(path), CsvOptions(('a', 'b')))}")
    problem = caught.value.problem
    assert problem is not None and (problem.line, problem.what, problem.encoding) == (
        3,
        "expected 2 columns, found 3",
        False,
    )


def test_a_malformed_json_line_is_the_line_of_the_file(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n')
    with pytest.raises(EngineError) as caught:
        engine.rows(f"SELECT * FROM {engine.read_json(str(path), ['a'], raw='raw')}")
    problem = caught.value.problem
    assert problem is not None and problem.line == 3 and problem.what.startswith("malformed JSON (")


def test_a_file_that_is_not_utf8_says_so(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(EngineError) as caught:
        engine.rows(f"SELECT * FROM {engine.read_csv(str(path), CsvOptions(('a', 'b')))}")
    assert caught.value.problem is not None and caught.value.problem.encoding


def test_an_error_about_no_file_has_no_problem_to_place(engine: Engine) -> None:
    with pytest.raises(EngineError) as caught:
        engine.rows("SELECT nope FROM range(1)")
    assert caught.value.problem is None
