"""The parallel Parquet writer: its tables read back as written, its statistics are delta-rs's own."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from lakemesh.lakehouse import Lakehouse, LakehouseError, ParquetScan, parallel_writer

N = 3000


def _batch(n: int = N, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    status = pa.array([["paid", "shipped", None][i % 3] for i in ids]).dictionary_encode()
    return pa.table(
        {
            "id": pa.array([f"ID-{i:06d}" for i in ids]),
            "amount": pa.array([Decimal(i % 997) / 100 - 3 for i in ids], pa.decimal128(10, 2)),
            "count": pa.array([i % 7 for i in ids], pa.int32()),
            "ratio": pa.array([None if i % 11 == 0 else i / 3 for i in ids], pa.float64()),
            "flag": pa.array([i % 2 == 0 for i in ids]),
            "day": pa.array([date(2026, 1, 1 + i % 28) for i in ids]),
            # microseconds: delta-rs keeps milliseconds in statistics, and so must this writer
            "at": pa.array(
                [datetime(2026, 1, 1, 0, 0, i % 60, 123456 + i, tzinfo=UTC) for i in ids], pa.timestamp("us", tz="UTC")
            ),
            "local": pa.array([datetime(2026, 2, 1, 12, 0, i % 60, 999999 - i) for i in ids], pa.timestamp("us")),
            "status": status,
            "note": pa.array(["x" * 40 if i == start else f"n{i}" for i in ids]),
            "_record": pa.array(ids, pa.int64()),
        }
    )


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches take the parallel path, as 10M-row ones do."""
    monkeypatch.setattr(parallel_writer, "MIN_ROWS", 100)


def _adds(uri: str, version: int) -> list[dict[str, object]]:
    lines = (Path(uri) / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    return [json.loads(line)["add"] for line in lines if '"add"' in line]


def test_a_parallel_append_reads_back_with_its_checkpoint_and_change_feed(tmp_path: Path, parallel: None) -> None:
    lake = Lakehouse(str(tmp_path / "lake"))
    first, second = _batch(), _batch(start=N)
    lake.append("d.t", first, {"lakemesh:src": 1}, {"lakemesh.run": "r1"})
    lake.append("d.t", second, {"lakemesh:src": 2}, {"lakemesh.run": "r2"})
    table = lake.table("d.t")
    assert table.version() == 1
    assert table.transaction_version("lakemesh:src") == 2
    latest = lake.history("d.t", 1)[0]
    assert latest.run == "r2" and latest.operation == "WRITE"
    assert latest.operation_metrics["num_added_rows"] == N
    assert len(_adds(lake.uri("d.t"), 1)) >= 2  # encoded by more than one thread
    expected = pa.concat_tables([first, second])
    expected = expected.set_column(8, "status", expected["status"].cast(pa.string()))
    got = table.to_pyarrow_table().sort_by("_record")
    assert got.cast(expected.schema).equals(expected.combine_chunks())
    feed = pa.table(table.load_cdf(starting_version=1).read_all())
    assert feed.num_rows == N and set(feed["_change_type"].to_pylist()) == {"insert"}
    table.create_checkpoint()  # parses every file's statistics
    assert DeltaTable(lake.uri("d.t")).to_pyarrow_table().num_rows == 2 * N


def test_statistics_are_those_delta_rs_writes(tmp_path: Path, parallel: None) -> None:
    data = _batch()
    write_deltalake(str(tmp_path / "rs"), data, writer_properties=None)
    rs = json.loads(str(_adds(str(tmp_path / "rs"), 0)[0]["stats"]))
    ours_uri = str(tmp_path / "ours")
    parallel_writer.append(ours_uri, None, data, {}, {}, {})
    files = [json.loads(str(a["stats"])) for a in _adds(ours_uri, 0)]
    assert sum(int(f["numRecords"]) for f in files) == rs["numRecords"]
    for column in data.column_names:
        assert sum(f["nullCount"][column] for f in files) == rs["nullCount"][column], column
        if column == "note":  # the 40-character maximum is in the first file: no bounds there rather than cut ones
            assert "note" not in files[0]["maxValues"] and files[1]["maxValues"]["note"].startswith("n")
            continue
        assert min(f["minValues"][column] for f in files) == rs["minValues"][column], column
        assert max(f["maxValues"][column] for f in files) == rs["maxValues"][column], column


def test_file_skipping_on_its_statistics_keeps_every_matching_row(tmp_path: Path, parallel: None) -> None:
    lake = Lakehouse(str(tmp_path / "lake"))
    data = _batch()
    lake.append("d.t", data, {}, {})
    latest = pc.max(data["at"]).as_py()  # microseconds past the millisecond the statistics keep
    dataset = lake.table("d.t").to_pyarrow_dataset()
    assert dataset.to_table(filter=pc.field("at") == latest).num_rows == 1
    assert dataset.to_table(filter=pc.field("id") == "ID-002999").num_rows == 1
    con = duckdb.connect()
    files = lake.table("d.t").file_uris()
    negative = con.execute(f"SELECT count(*) FROM read_parquet({files!r}) WHERE amount < 0").fetchall()
    assert negative == [(pc.sum(pc.less(data["amount"], 0)).as_py(),)]


def test_small_evolving_or_partitioned_writes_go_through_delta_rs(tmp_path: Path, parallel: None) -> None:
    uri = str(tmp_path / "t")
    data = _batch()
    assert parallel_writer.eligible(uri, None, data)
    assert not parallel_writer.eligible(uri, None, data.slice(0, 10))  # below the threshold
    assert not parallel_writer.eligible("s3://bucket/t", None, data)
    nested = data.append_column("tags", pa.array([[1]] * N))
    assert not parallel_writer.eligible(uri, None, nested)
    write_deltalake(uri, data.slice(0, 10), partition_by=["count"])
    assert not parallel_writer.eligible(uri, DeltaTable(uri), data)
    other = str(tmp_path / "o")
    write_deltalake(other, data.drop_columns(["note"]))
    assert not parallel_writer.eligible(other, DeltaTable(other), data)  # a new column: an evolution


def test_a_failed_file_leaves_nothing_behind(tmp_path: Path, parallel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lakehouse(str(tmp_path / "lake"))
    lake.append("d.t", _batch(), {}, {})
    before = sorted(p.name for p in Path(lake.uri("d.t")).glob("*.parquet"))
    real = parallel_writer.pq.write_table
    calls = []

    def failing(table: pa.Table, where: object, **kwargs: object) -> None:
        calls.append(where)
        if len(calls) == 2:
            raise OSError("No space left on device")
        real(table, where, **kwargs)

    monkeypatch.setattr(parallel_writer.pq, "write_table", failing)
    with pytest.raises(LakehouseError, match="nothing was committed: No space left"):
        lake.append("d.t", _batch(start=N), {}, {})
    assert lake.table("d.t").version() == 0
    assert sorted(p.name for p in Path(lake.uri("d.t")).glob("*.parquet")) == before


def test_statistics_cover_every_row_group_of_a_file(tmp_path: Path) -> None:
    data = pa.table(
        {
            "f": pa.array([float("nan")] * 4 + [1.5, None, 3.0, 0.5]),  # the first row group has no bounds
            "s": pa.array([None] * 4 + ["b", "a", None, "c"]),  # the first row group is all null
        }
    )
    collected: list[pq.FileMetaData] = []
    pq.write_table(data, tmp_path / "f.parquet", row_group_size=4, metadata_collector=collected)
    assert collected[0].num_row_groups == 2
    stats = json.loads(parallel_writer.file_stats(collected[0], data.schema, 32))
    assert stats["numRecords"] == 8
    assert stats["nullCount"] == {"f": 1, "s": 5}  # counted past the group without bounds
    assert "f" not in stats["minValues"] and "f" not in stats["maxValues"]
    assert (stats["minValues"]["s"], stats["maxValues"]["s"]) == ("a", "c")


def test_delta_rs_merges_into_files_written_here(tmp_path: Path, parallel: None) -> None:
    lake = Lakehouse(str(tmp_path / "lake"))
    lake.append("d.t", _batch(10, start=0).drop_columns(["status"]), {}, {})  # delta-rs's files (10 rows)
    lake.append("d.t", _batch(start=10).drop_columns(["status"]), {}, {})  # this writer's files
    changed = _batch(4, start=N + 8).drop_columns(["status"])  # 2 updates of rows written here, 2 inserts
    changed = changed.set_column(1, "amount", pa.array([Decimal("42.00")] * 4, pa.decimal128(10, 2)))
    result = lake.merge("d.t", changed, ["id"], {}, {})
    assert (result.inserted, result.updated) == (2, 2)
    scan = lake.scan("d.t")  # DuckDB's own reader over the files of both writers
    assert isinstance(scan, ParquetScan)
    con = duckdb.connect()
    files = list(scan.files)
    rows = con.execute(f"SELECT count(*), sum(amount = 42) FROM read_parquet({files!r}, union_by_name = true)")
    assert rows.fetchall() == [(N + 12, 4)]
    feed = pa.table(lake.table("d.t").load_cdf(starting_version=2).read_all())
    kinds = sorted(feed["_change_type"].to_pylist())
    assert kinds == ["insert", "insert", "update_postimage", "update_postimage", "update_preimage", "update_preimage"]
