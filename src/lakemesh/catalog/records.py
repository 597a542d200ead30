"""What the catalog hands out: typed records of its rows, with enums where the values are a closed set.

The CLI's `--json` and the HTTP API dump these (`model_dump(mode="json")`); no caller indexes a row dict.
Each record is built from a row mapping with `model_validate`, so a value outside an enum (a row altered
by hand) fails loudly here rather than somewhere downstream.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lakemesh.catalog.audit import AuditAction
from lakemesh.spec.expectations import CheckSeverity, CheckStatus
from lakemesh.spec.models import Layer, ProductStatus

METRIC = "metric"  # the stored status of a computed metric's row (`metric.completeness`, ...)


class EntityKind(str, Enum):
    """What the catalog versions: the specs of a workspace."""

    DOMAIN = "domain"
    PRODUCT = "product"
    CONTRACT = "contract"


class ChangeKind(str, Enum):
    """What a sync did to one entity."""

    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"
    UNCHANGED = "unchanged"


class RunKind(str, Enum):
    """What made a run: a pipeline build, or change data capture into bronze."""

    RUN = "run"
    CDC = "cdc"


class RunStatus(str, Enum):
    """How one product's run ended (recorded as its string value)."""

    SUCCEEDED = "succeeded"
    UP_TO_DATE = "up_to_date"
    FAILED = "failed"
    SKIPPED = "skipped"


class QualityRecordKind(str, Enum):
    """A recorded quality row is a check's outcome or a computed metric's value."""

    CHECK = "check"
    METRIC = "metric"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class VersionRecord(_Record):
    """One version of one domain, product or contract: what changed, who changed it, the document then."""

    kind: EntityKind
    entity_id: str
    version: int
    semver: str | None
    change: ChangeKind
    summary: list[str]
    changed_by: str
    changed_at: datetime
    document: Any


class ProductRow(_Record):
    """A registered product as the catalog holds it (its descriptor in `document`)."""

    id: str
    domain: str
    name: str
    description: str | None
    owner: str | None
    layer: Layer
    status: ProductStatus
    spec_version: str | None
    tags: list[str]
    contract_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None
    document: dict[str, Any]


class ColumnRecord(_Record):
    """One column of a registered contract's table."""

    table_name: str
    name: str
    position: int
    logical_type: str | None
    physical_type: str | None
    description: str | None
    classification: str | None
    tags: list[str]
    required: bool
    primary_key: bool


class QualityRecord(_Record):
    """One recorded check result (status and severity) or computed metric (`metric.*`, its value in
    `observed`, no status), of one check or gate."""

    id: int
    run_id: str | None
    product_id: str
    check_name: str
    kind: QualityRecordKind
    status: CheckStatus | None
    severity: CheckSeverity | None
    observed: Any
    unexpected_count: int | None
    unexpected_percent: float | None
    table_version: int | None
    checked_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> QualityRecord:
        """From a `quality_results` row, where a metric is stored with the status `metric`."""
        values = dict(row)
        metric = values["status"] == METRIC
        values["kind"] = QualityRecordKind.METRIC if metric else QualityRecordKind.CHECK
        values["status"] = None if metric else values["status"]
        return cls.model_validate(values)

    @property
    def is_metric(self) -> bool:
        return self.kind is QualityRecordKind.METRIC


class RunRecord(_Record):
    """One recorded run of one product: its kind, outcome, versions read and written, counts."""

    id: str
    product_id: str
    kind: RunKind
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    input_versions: dict[str, Any]
    output_version: int | None
    rows_read: int | None
    rows_written: int | None
    error: str | None
    details: dict[str, Any] = Field(default_factory=dict)


class AuditRecord(_Record):
    """One audited action: who, what, on which target, allowed or refused, and its details."""

    id: int
    at: datetime
    actor: str
    action: AuditAction
    target: str | None
    allowed: bool
    details: dict[str, Any] = Field(default_factory=dict)


class ProductRecord(_Record):
    """A registered product with its contract, columns, version history and latest quality check."""

    product: ProductRow
    contract: dict[str, Any] | None
    columns: list[ColumnRecord]
    versions: list[VersionRecord]
    quality: list[QualityRecord] = Field(default_factory=list)  # the latest check's results and metrics

    @property
    def document(self) -> dict[str, Any]:
        return self.product.document
