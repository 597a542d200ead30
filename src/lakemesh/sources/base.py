"""The source protocol: what the runner needs of a bronze product's source, and what a source can do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lakemesh.lakehouse import Lakehouse, TableStore
from lakemesh.spec.odcs import Table
from lakemesh.spec.workspace import ProductEntry

if TYPE_CHECKING:  # the capture report lives with the CDC code, loaded only when a capture runs
    from lakemesh.cdc.capture import CaptureReport
    from lakemesh.sources.files import Batch


@dataclass(frozen=True)
class SourceCapabilities:
    """What a source declares: the runner branches on these, never on the source's kind."""

    batches: bool = False  # yields batches of new records that the runner gates, seals and commits itself
    captures: bool = False  # commits its own changes exactly once (change capture); the runner records it


class Source(Protocol):
    """A bronze product's source, made from its spec by `registry.open_source`."""

    capabilities: SourceCapabilities


class BatchSource(Source, Protocol):
    """A source read in batches of units (files): which units exist, which the table holds, one batch read."""

    label: str  # what the source names, for messages (a path or glob)

    def units(self, root: Path) -> list[Path]:
        """Every unit the source names now, sorted."""
        ...

    def ingested(self, store: TableStore, product_id: str, version: int | None = None) -> set[str]:
        """The units the product's table holds rows of at `version` (default: the newest)."""
        ...

    def read(self, root: Path, table: Table, units: list[Path], batch_id: str, now: datetime, product_id: str) -> Batch:
        """The given units read into one batch typed by the contract; any unit that does not parse fails it."""
        ...


class CaptureSource(Source, Protocol):
    """A source that drains its pending changes into the product's table itself, exactly once."""

    def capture(
        self,
        entry: ProductEntry,
        store: Lakehouse,
        once: bool = True,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[str, int], None] | None = None,
    ) -> CaptureReport:
        """Drain (once) or stream (until `stop`) the pending changes into `entry`'s table."""
        ...
