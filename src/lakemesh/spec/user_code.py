"""User code in a workspace: a Python function named `file.py:function`, imported from its file.

Python transforms (`build.transform.python`) and `python` policies both name their function this way.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any


def import_function(base: Path, ref: str, module_name: str) -> Callable[..., Any] | None:
    """The function `file.py:function` names, the file relative to `base`; None when either is missing."""
    file, _, func = ref.partition(":")
    path = base / file
    if not func or not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, func, None)
    return function if callable(function) else None
