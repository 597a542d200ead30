"""Golden files: generated text compared with a reviewed copy in the repository, rewritten on request.

`pytest --update-golden` (or `LAKEMESH_UPDATE_GOLDEN=1`) writes the current output over the files; review
the change with `git diff`. Without it, a missing file or any difference fails the test with a diff.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Golden:
    """Compares text with the golden file at a path, or rewrites the file when `update` is set."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, path: Path, text: str) -> None:
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(f"no golden file {name}: run pytest --update-golden and review it", pytrace=False)
        expected = path.read_text()
        if text != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), f"{name} (golden)", f"{name} (now)"
            )
            hint = "if the change is deliberate, run pytest --update-golden and review the diff"
            pytest.fail(f"output differs from {name} ({hint}):\n{''.join(diff)}", pytrace=False)
