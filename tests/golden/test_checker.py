"""The golden-file check itself: a difference fails with a diff, a missing file says how to create it,
update mode rewrites the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.checker import Golden


def test_a_changed_output_fails_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "scan.sql"
    path.write_text("SELECT COUNT(*) AS m0\nFROM t;\n")
    Golden(update=False).check(path, "SELECT COUNT(*) AS m0\nFROM t;\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        Golden(update=False).check(path, "SELECT COUNT(*) AS m0\nFROM u;\n")
    message = str(failed.value)
    assert "-FROM t;" in message and "+FROM u;" in message
    assert "--update-golden" in message
    assert path.read_text() == "SELECT COUNT(*) AS m0\nFROM t;\n"  # checking never writes


def test_a_missing_golden_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no golden file .*new\.sql: run pytest --update-golden"):
        Golden(update=False).check(tmp_path / "new.sql", "SELECT 1;\n")


def test_update_mode_rewrites_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "scan.sql"
    Golden(update=True).check(path, "SELECT 2;\n")
    assert path.read_text() == "SELECT 2;\n"
    Golden(update=False).check(path, "SELECT 2;\n")
