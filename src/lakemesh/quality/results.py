"""Check outcomes as data: what the CLI, the API and the UI render."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class CheckStatus(str, Enum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one column (or the whole table)."""

    rule: str
    column: str | None
    status: CheckStatus
    violations: int
    detail: str
    examples: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.rule}:{self.column}" if self.column else self.rule


@dataclass
class CheckReport:
    """Every rule's result for one data file checked against one contract table."""

    contract_id: str
    table: str
    source: str
    rows: int
    seconds: float
    results: list[RuleResult] = field(default_factory=list)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.status in (CheckStatus.FAILED, CheckStatus.ERROR)]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")
