"""Engines looked up by name; an engine's module (and its library) is imported only when one is made."""

from __future__ import annotations

from importlib import import_module

from lakemesh.engines.base import Engine
from lakemesh.errors import LakemeshError

ENGINES = {"duckdb": "lakemesh.engines.duckdb.engine:DuckDBEngine"}
DEFAULT_ENGINE = "duckdb"  # the embedded mode's engine; callers name this, never a literal


def make_engine(name: str = "duckdb") -> Engine:
    """A new engine by registry name."""
    target = ENGINES.get(name)
    if target is None:
        raise LakemeshError(f"unknown engine '{name}'", f"use one of {', '.join(ENGINES)}")
    module, cls = target.split(":")
    engine: Engine = getattr(import_module(module), cls)()
    return engine
