"""What the table store's upkeep returns, as values the CLI and the API dump (`model_dump(mode="json")`).

Delta's own commit info and metrics are dicts with engine-specific keys; these models lift out what
lakemesh relies on (a version, an operation, files added and removed) and keep the rest as they came.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# keys of a Delta commit's info that are fields of TableVersion; any other key (readVersion, app
# metadata such as lakemesh.run) stays in `metadata`
_COMMIT_FIELDS = ("version", "timestamp", "operation", "operationParameters", "operationMetrics")


class TableVersion(BaseModel):
    """One commit of a table: when, which operation, its metrics, and the metadata the writer attached."""

    model_config = ConfigDict(frozen=True)

    version: int
    timestamp: datetime
    operation: str
    operation_parameters: dict[str, Any] = Field(default_factory=dict)
    operation_metrics: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)  # e.g. lakemesh.run, lakemesh.rebuild, readVersion

    @property
    def run(self) -> str | None:
        """The lakemesh run that made this commit, when one did."""
        value = self.metadata.get("lakemesh.run")
        return None if value is None else str(value)

    @classmethod
    def from_commit(cls, commit: dict[str, Any]) -> TableVersion:
        """A Delta commit info entry (delta-rs `history()`), its timestamp in milliseconds since the epoch."""
        return cls(
            version=int(commit.get("version", -1)),
            timestamp=datetime.fromtimestamp(int(commit.get("timestamp", 0)) / 1000, UTC),
            operation=str(commit.get("operation", "")),
            operation_parameters=commit.get("operationParameters") or {},
            operation_metrics=commit.get("operationMetrics") or {},
            metadata={k: v for k, v in commit.items() if k not in _COMMIT_FIELDS},
        )


class RestoreResult(BaseModel):
    """A restore's commit: the version it made and which files it brought back or took away."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    restored_to: int | str  # the version asked for, or the timestamp as given
    version: int  # the new version, whose content is the restored one
    files_restored: int
    files_removed: int
    rebuild_on_next_run: list[str] = Field(default_factory=list)  # filled by the mesh: readers rebuilt next run


class CompactionResult(BaseModel):
    """An optimize (compaction, or Z-order clustering): files and bytes before and after, one commit."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    zorder: list[str] = Field(default_factory=list)
    files_added: int
    files_removed: int
    bytes_added: int
    bytes_removed: int
    version: int | None = None  # the commit, None when there was nothing to compact
    metrics: dict[str, Any] = Field(default_factory=dict)  # delta-rs's metrics as reported

    @classmethod
    def from_metrics(
        cls, product_id: str, metrics: dict[str, Any], zorder: list[str] | None, version: int | None
    ) -> CompactionResult:
        """From delta-rs's optimize metrics, whose file statistics are JSON text (`{"totalSize": ...}`)."""
        return cls(
            product_id=product_id,
            zorder=list(zorder or []),
            files_added=int(metrics.get("numFilesAdded", 0)),
            files_removed=int(metrics.get("numFilesRemoved", 0)),
            bytes_added=_total_size(metrics.get("filesAdded")),
            bytes_removed=_total_size(metrics.get("filesRemoved")),
            version=version,
            metrics=metrics,
        )


def _total_size(stats: Any) -> int:
    """`totalSize` of a delta-rs file statistics entry (a dict, or the same as JSON text); 0 when absent."""
    if isinstance(stats, str):
        try:
            stats = json.loads(stats)
        except ValueError:
            return 0
    return int(stats.get("totalSize", 0) or 0) if isinstance(stats, dict) else 0
