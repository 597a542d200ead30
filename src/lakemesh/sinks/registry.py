"""Sinks by spec `type`, imported only when used; none is registered yet (Kafka, PostgreSQL, Redis next)."""

from __future__ import annotations

import importlib
from typing import Any

from lakemesh.errors import LakemeshError
from lakemesh.sinks.base import Sink

# spec `type` -> "module:Class"; the class is constructed with the sink spec
SINKS: dict[str, str] = {}


class UnknownSinkError(LakemeshError):
    """A sink spec names a type no module is registered for."""


def open_sink(spec: Any) -> Sink:
    """The sink for a spec, by its `type`."""
    target = SINKS.get(spec.type)
    if target is None:
        known = ", ".join(sorted(SINKS)) or "none yet"
        raise UnknownSinkError(f"no sink of type '{spec.type}'", f"known sink types: {known}")
    module, _, name = target.partition(":")
    sink: Sink = getattr(importlib.import_module(module), name)(spec)
    return sink
