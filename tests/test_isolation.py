"""The suite runs in parallel (xdist) beside other sessions: what it writes stays in its own folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.governance.keys import key_dir


def test_keys_live_in_the_session_folder_not_the_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert key_dir().is_relative_to(tmp_path_factory.getbasetemp())
    assert not key_dir().is_relative_to(Path.home() / ".config")
