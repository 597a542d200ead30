"""What a run did, as data: per product and for the whole run (`model_dump(mode="json")` for --json)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lakemesh.catalog.records import RunStatus
from lakemesh.quality.results import QualityReport


class ProductRun(BaseModel):
    """One product in one run."""

    product_id: str
    run_id: str
    status: RunStatus = RunStatus.SUCCEEDED
    rows_read: int = 0
    rows_written: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    input_versions: dict[str, list[int | None]] = Field(default_factory=dict)
    output_version: int | None = None
    seconds: float = 0.0
    error: str | None = None
    hint: str | None = None
    details: dict[str, object] = Field(default_factory=dict)
    quality: QualityReport | None = None  # the gate's checks of the rows this run wrote (or refused)
    quarantined: int = 0


class RunReport(BaseModel):
    runs: list[ProductRun] = Field(default_factory=list)

    @property
    def failed(self) -> list[ProductRun]:
        return [r for r in self.runs if r.status is RunStatus.FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed
