"""Problems found while loading specs: file, field path, message, severity; plus "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one file."""

    file: str
    path: str
    message: str
    severity: Severity = Severity.ERROR
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def location(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}" if self.path else where

    def render(self) -> str:
        return f"{self.location}: {self.message}"


def format_path(parts: Iterable[str | int]) -> str:
    """Render a field path like `schema[0].properties[2].logicalType`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """The " (did you mean 'x'?)" suffix for an unknown key, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)
