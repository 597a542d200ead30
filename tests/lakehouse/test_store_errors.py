"""A damaged or misused table is a LakehouseError naming the product and the file, and the doctor finds why."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.lakehouse import Lakehouse, LakehouseError
from lakemesh.lakehouse.doctor import diagnose


def _rows(start: int, n: int) -> pa.Table:
    return pa.table({"id": list(range(start, start + n)), "value": [f"v{i}" for i in range(start, start + n)]})


def _lake(tmp_path: Path, versions: int = 3) -> Lakehouse:
    lake = Lakehouse(str(tmp_path / "lake"))
    for v in range(versions):
        lake.append("d.t", _rows(10 * v, 10), {}, {})
    return lake


def _log(tmp_path: Path, version: int) -> Path:
    return tmp_path / "lake/d/t/_delta_log" / f"{version:020d}.json"


def _newest_file(lake: Lakehouse) -> Path:
    files = [Path(f.removeprefix("file://")) for f in lake.table("d.t").file_uris()]
    return max(files, key=lambda f: f.stat().st_mtime_ns)


def test_zorder_by_an_unknown_column_names_it_and_the_close_one(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    with pytest.raises(LakehouseError, match=r"d\.t has no column 'valeu' \(did you mean 'value'\?\)"):
        lake.optimize("d.t", ["id", "valeu"])
    assert lake.table("d.t").version() == 2  # nothing was committed


def test_a_missing_data_file_is_named_when_reading_or_optimizing(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    missing = _newest_file(lake)
    missing.unlink()
    with pytest.raises(LakehouseError, match=f"data file {missing.name} .* is missing") as err:
        lake.scan("d.t")
    assert "lakemesh doctor d.t" in (err.value.hint or "")
    with pytest.raises(LakehouseError, match="is missing"):
        lake.optimize("d.t")
    assert lake.scan("d.t", as_of=1) is not None  # versions before the lost file still read


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_damaged_log_is_one_error_naming_the_table(tmp_path: Path, damage: str) -> None:
    lake = _lake(tmp_path)
    log = _log(tmp_path, 0)
    if damage == "missing":
        log.unlink()
    else:
        log.write_bytes(log.read_bytes()[:150])
    with pytest.raises(LakehouseError, match=r"d\.t: the Delta log of its table .* cannot be read") as err:
        lake.history("d.t")
    assert "lakemesh doctor d.t" in (err.value.hint or "")
    with pytest.raises(LakehouseError):
        lake.scan("d.t")


def test_vacuum_below_a_week_needs_force(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    lake.table("d.t").optimize.compact()
    with pytest.raises(LakehouseError, match="below 168 hours") as err:
        lake.vacuum("d.t", 0, dry_run=True)
    assert "--force" in (err.value.hint or "")
    assert len(lake.vacuum("d.t", 0, dry_run=True, force=True)) == 3
    assert lake.vacuum("d.t", 168, dry_run=True) == []


def test_doctor_finds_nothing_wrong_with_a_healthy_table(tmp_path: Path) -> None:
    assert diagnose(_lake(tmp_path), "d.t") == []


def test_doctor_names_a_lost_data_file_and_the_version_to_restore(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    missing = _newest_file(lake)
    missing.unlink()
    findings = diagnose(lake, "d.t")
    assert len(findings) == 1
    assert missing.name in findings[0].problem and "version 2" in findings[0].problem
    assert "lakemesh restore d.t --to 1" in findings[0].fix
    lake.restore("d.t", 1)  # the fix it proposes works
    assert lake.table("d.t").to_pyarrow_table().num_rows == 20 and diagnose(lake, "d.t") == []


@pytest.mark.parametrize(("damage", "words"), [("missing", "is missing"), ("truncated", "is not valid JSON")])
def test_doctor_names_a_damaged_log_file(tmp_path: Path, damage: str, words: str) -> None:
    lake = _lake(tmp_path)
    log = _log(tmp_path, 1)
    if damage == "missing":
        log.unlink()
    else:
        log.write_bytes(log.read_bytes()[:150])
    findings = diagnose(lake, "d.t")
    assert findings and f"version 1 ({log.name}) {words}" in findings[0].problem
    assert "lakemesh run d.t" in findings[0].fix
