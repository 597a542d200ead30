"""Check outcomes as data: what the CLI, the API and the UI render (`model_dump(mode="json")`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field, field_serializer, field_validator

from lakemesh.spec.expectations import CheckSeverity, CheckStatus


class RuleResult(BaseModel):
    """The outcome of one rule on one column (or the whole table)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    column: str | None
    status: CheckStatus
    violations: int
    detail: str
    examples: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.rule}:{self.column}" if self.column else self.rule

    @field_serializer("examples")
    def _examples(self, value: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
        return [{k: _jsonable(v) for k, v in e.items()} for e in value]


class CheckReport(BaseModel):
    """Every rule's result for one data file checked against one contract table (`contract check --json`)."""

    contract_id: str = Field(validation_alias=AliasChoices("contract_id", "contract"), serialization_alias="contract")
    table: str
    source: str
    rows: int
    seconds: float
    results: list[RuleResult] = Field(default_factory=list)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.status in (CheckStatus.FAILED, CheckStatus.ERROR)]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @field_serializer("seconds")
    def _seconds(self, value: float) -> float:
        return round(value, 3)


class ExpectationResult(BaseModel):
    """The outcome of one expectation on one table (or the batch a run is about to write)."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    columns: tuple[str, ...]
    severity: CheckSeverity
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

    @field_serializer("observed")
    def _observed(self, value: Any) -> Any:
        return _jsonable(value)

    @field_serializer("examples")
    def _examples(self, value: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
        return [{k: _jsonable(v) for k, v in e.items()} for e in value]


class QualityReport(BaseModel):
    """Every expectation of a product's contract checked in one scan, plus the computed quality metrics."""

    product_id: str = Field(validation_alias=AliasChoices("product_id", "product"), serialization_alias="product")
    rows: int
    seconds: float
    table_version: int | None = None
    results: list[ExpectationResult] = Field(default_factory=list)
    unsupported: list[tuple[str, str]] = Field(default_factory=list)  # (expectation, why the engine cannot)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    checked_at: datetime | None = Field(default=None, exclude=True)
    quarantined: int = 0

    def blocking(self) -> list[ExpectationResult]:
        """Failures that stop a run: severity error, failed or broken."""
        bad = (CheckStatus.FAILED, CheckStatus.ERROR)
        return [r for r in self.results if r.status in bad and r.severity is CheckSeverity.ERROR]

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.status in (CheckStatus.FAILED, CheckStatus.ERROR)]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.failed

    @field_serializer("unsupported")
    def _unsupported(self, value: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"name": name, "why": why} for name, why in value]

    @field_validator("unsupported", mode="before")
    @classmethod
    def _unsupported_read(cls, value: Any) -> Any:
        """The dumped shape (`{"name", "why"}`) reads back: a report round-trips through its JSON."""
        if isinstance(value, list):
            return [(v["name"], v["why"]) if isinstance(v, dict) else v for v in value]
        return value

    @field_serializer("seconds")
    def _seconds(self, value: float) -> float:
        return round(value, 4)


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
            "severity": r.severity.value,
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
