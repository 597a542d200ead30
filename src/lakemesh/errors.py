"""The one error base of lakemesh and the layer-specific errors built on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakemesh.spec.problems import Problem


class LakemeshError(Exception):
    """An error a user can act on: a message naming what and where, and an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SpecError(LakemeshError):
    """One or more workspace or contract files are invalid; carries every problem found."""

    def __init__(self, problems: Sequence[Problem], hint: str | None = None) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.is_error]
        first = errors[0] if errors else self.problems[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first.render()}{more}", hint or "run `lakemesh validate` to see every problem")


class CatalogError(LakemeshError):
    """The catalog database cannot be reached, migrated or queried."""


class NotFoundError(LakemeshError):
    """A product, contract or domain named by the user does not exist."""


class DataFileError(LakemeshError):
    """A data file cannot be read: missing, wrong format, wrong encoding."""
