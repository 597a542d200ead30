"""Lakehouse reads of what changed: appended files stand in for the change feed only when nothing else changed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from lakemesh.lakehouse import Lakehouse


def _rows(start: int, n: int) -> pa.Table:
    return pa.table({"id": list(range(start, start + n)), "v": [f"v{i}" for i in range(start, start + n)]})


def _read(files: tuple[str, ...]) -> list[tuple[int, str]]:
    return sorted(duckdb.connect().execute(f"SELECT id, v FROM read_parquet({list(files)!r})").fetchall())


def test_appended_versions_are_their_new_files_and_match_the_change_feed(tmp_path: Path) -> None:
    lake = Lakehouse(str(tmp_path))
    lake.append("d.t", _rows(0, 10), {}, {})
    lake.append("d.t", _rows(10, 5), {}, {})
    lake.append("d.t", _rows(15, 5), {}, {})
    added = lake.appended("d.t", 0, 2)
    assert added is not None and len(added.files) == 2
    feed = lake.changes("d.t", 1, 2, ["id", "v"])
    assert _read(added.files) == sorted(zip(feed["id"].to_pylist(), feed["v"].to_pylist(), strict=True))
    assert _read(added.files) == [(i, f"v{i}") for i in range(10, 20)]


def test_a_compaction_of_older_files_leaves_it_to_the_change_feed(tmp_path: Path) -> None:
    lake = Lakehouse(str(tmp_path))
    lake.append("d.t", _rows(0, 10), {}, {})
    lake.append("d.t", _rows(10, 5), {}, {})
    lake.append("d.t", _rows(15, 5), {}, {})
    lake.table("d.t").optimize.compact()  # rewrites every file, the old version's included
    assert lake.appended("d.t", 0, 3) is None
    assert lake.appended("d.t", 3, 3) is None  # nothing new: the change feed says so


def test_removed_or_rewritten_rows_leave_it_to_the_change_feed(tmp_path: Path) -> None:
    lake = Lakehouse(str(tmp_path))
    lake.append("d.t", _rows(0, 10), {}, {})
    lake.append("d.t", _rows(10, 5), {}, {})
    lake.table("d.t").delete("id = 3")
    assert lake.appended("d.t", 0, 2) is None
    assert lake.appended("d.t", 1, 2) is None
    lake.merge("d.t", pa.table({"id": [4, 99], "v": ["new", "new"]}), ["id"], {}, {})
    assert lake.appended("d.t", 2, 3) is None
