"""User code in the workspace, imported by `file.py:function`."""

from __future__ import annotations

from pathlib import Path

from lakemesh.spec.user_code import import_function


def test_imports_the_named_function_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code/checks.py").write_text("LIMIT = 3\n\ndef under(n):\n    return n < LIMIT\n")
    function = import_function(tmp_path, "code/checks.py:under", "lakemesh_test_user_code")
    assert function is not None and function(2) is True and function(5) is False


def test_a_missing_file_function_or_non_callable_is_none(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text("LIMIT = 3\n")
    assert import_function(tmp_path, "checks.py:nope", "m1") is None
    assert import_function(tmp_path, "checks.py:LIMIT", "m2") is None
    assert import_function(tmp_path, "missing.py:f", "m3") is None
    assert import_function(tmp_path, "checks.py", "m4") is None
