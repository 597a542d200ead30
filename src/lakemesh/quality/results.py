"""Check outcomes as data: what the CLI, the API and the UI render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation on one table (or the batch a run is about to write)."""

    name: str
    type: str
    columns: tuple[str, ...]
    severity: str
    status: CheckStatus
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    detail: str = ""
    examples: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in (CheckStatus.PASSED, CheckStatus.SKIPPED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "columns": list(self.columns),
            "severity": self.severity,
            "status": self.status.value,
            "observed": _jsonable(self.observed),
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "element_count": self.element_count,
            "detail": self.detail,
            "examples": [{k: _jsonable(v) for k, v in e.items()} for e in self.examples],
        }


@dataclass
class QualityReport:
    """Every expectation of a product's contract checked in one scan, plus the computed quality metrics."""

    product_id: str
    rows: int
    seconds: float
    table_version: int | None = None
    results: list[ExpectationResult] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    checked_at: datetime | None = None
    quarantined: int = 0

    def blocking(self) -> list[ExpectationResult]:
        """Failures that stop a run: severity error, failed or broken."""
        bad = (CheckStatus.FAILED, CheckStatus.ERROR)
        return [r for r in self.results if r.status in bad and r.severity == "error"]

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.status in (CheckStatus.FAILED, CheckStatus.ERROR)]

    @property
    def passed(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "product": self.product_id,
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "table_version": self.table_version,
            "passed": self.passed,
            "metrics": self.metrics,
            "quarantined": self.quarantined,
            "results": [r.as_dict() for r in self.results],
            "unsupported": [{"name": n, "why": w} for n, w in self.unsupported],
        }


def _jsonable(value: Any) -> Any:
    """JSON-safe: decimals and numbers as floats, dates and times as ISO text, lists element-wise."""
    from datetime import date, time
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def quality_rows(report: QualityReport, run_id: str | None) -> list[dict[str, Any]]:
    """Catalog rows for a report: one per check, one per computed metric (`metric.completeness`, ...)."""
    at = report.checked_at or datetime.now().astimezone()
    base = {"run_id": run_id, "product_id": report.product_id, "table_version": report.table_version, "checked_at": at}
    rows = [
        {
            **base,
            "check_name": r.name,
            "status": r.status.value,
            "severity": r.severity,
            "observed": _jsonable(r.observed),
            "unexpected_count": r.unexpected_count,
            "unexpected_percent": r.unexpected_percent,
        }
        for r in report.results
    ]
    for name, value in report.metrics.items():
        rows.append(
            {
                **base,
                "check_name": f"metric.{name}",
                "status": "metric",
                "severity": None,
                "observed": value,
                "unexpected_count": None,
                "unexpected_percent": None,
            }
        )
    return rows
