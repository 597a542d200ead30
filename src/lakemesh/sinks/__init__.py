"""Output sinks a product's rows are sent to, one module per spec `type`, looked up lazily (`registry`)."""

from __future__ import annotations

from lakemesh.sinks.base import Sink, SinkCapabilities
from lakemesh.sinks.registry import SINKS, open_sink

__all__ = ["SINKS", "Sink", "SinkCapabilities", "open_sink"]
