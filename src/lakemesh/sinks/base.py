"""The sink protocol: where a product's committed rows go beyond the lakehouse (Kafka, PostgreSQL, search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class SinkCapabilities:
    """What a sink declares: callers branch on these, never on the sink's kind."""

    upserts: bool = False  # takes rows keyed by the primary key (else appends)
    deletes: bool = False  # takes deletions


class Sink(Protocol):
    """An output sink, made from its spec by `registry.open_sink`."""

    capabilities: SinkCapabilities

    def write(self, product_id: str, rows: pa.Table, version: int) -> None:
        """Send the rows of `product_id`'s commit `version`; sending one version twice must not repeat them."""
        ...
