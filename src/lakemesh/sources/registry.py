"""Sources by spec `type`, imported only when a product of that type is built: a Kafka or HTTP source
brings its client library along only for the meshes that use it."""

from __future__ import annotations

import importlib
from typing import Any

from lakemesh.errors import LakemeshError
from lakemesh.sources.base import Source

# spec `type` -> "module:Class"; the class is constructed with the source spec
SOURCES: dict[str, str] = {
    "files": "lakemesh.sources.files:FilesSource",
    "postgres-cdc": "lakemesh.sources.postgres_cdc:PostgresChangeSource",
}


class UnknownSourceError(LakemeshError):
    """A source spec names a type no module is registered for."""


def source_class(kind: str) -> type[Any]:
    """The class registered for `kind`, imported now."""
    target = SOURCES.get(kind)
    if target is None:
        known = ", ".join(sorted(SOURCES))
        raise UnknownSourceError(f"no source of type '{kind}'", f"known source types: {known}")
    module, _, name = target.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def open_source(spec: Any) -> Source:
    """The source for a product's `build.source` spec, by its `type`."""
    source: Source = source_class(spec.type)(spec)
    return source
