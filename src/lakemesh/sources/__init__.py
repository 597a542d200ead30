"""Sources a bronze product is fed from, one module per spec `type`, looked up lazily (`registry`)."""

from __future__ import annotations

from lakemesh.sources.base import BatchSource, CaptureSource, Source, SourceCapabilities
from lakemesh.sources.registry import SOURCES, open_source

__all__ = ["SOURCES", "BatchSource", "CaptureSource", "Source", "SourceCapabilities", "open_source"]
