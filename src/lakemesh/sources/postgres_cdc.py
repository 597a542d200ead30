"""PostgreSQL change data capture as a source: logical replication drained into bronze (`lakemesh.cdc`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from lakemesh.lakehouse import Lakehouse
from lakemesh.sources.base import SourceCapabilities
from lakemesh.spec.models import PostgresCdcSource
from lakemesh.spec.workspace import ProductEntry

if TYPE_CHECKING:
    from lakemesh.cdc.capture import CaptureReport


class PostgresChangeSource:
    """A `postgres-cdc` source: commits its own changes, exactly once, with its position."""

    capabilities: ClassVar[SourceCapabilities] = SourceCapabilities(captures=True)

    def __init__(self, spec: PostgresCdcSource) -> None:
        self.spec = spec

    def capture(
        self,
        entry: ProductEntry,
        store: Lakehouse,
        once: bool = True,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[str, int], None] | None = None,
    ) -> CaptureReport:
        """Drain (once) or stream (until `stop`) the changes pending on the slot into `entry`'s table."""
        from lakemesh.cdc.capture import capture  # psycopg and the replication protocol: only when capturing

        return capture(entry, store, once=once, stop=stop or (lambda: False), progress=progress)
