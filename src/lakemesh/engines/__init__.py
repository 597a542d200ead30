"""Engines behind one protocol, looked up by name; heavy imports happen only when one is made."""

from __future__ import annotations

from importlib import import_module

from lakemesh.engines.base import Engine, Protector, register_revealed
from lakemesh.errors import LakemeshError

ENGINES = {"duckdb": "lakemesh.engines.duckdb_engine:DuckDBEngine"}


def make_engine(name: str = "duckdb") -> Engine:
    """A new engine by registry name."""
    target = ENGINES.get(name)
    if target is None:
        raise LakemeshError(f"unknown engine '{name}'", f"use one of {', '.join(ENGINES)}")
    module, cls = target.split(":")
    engine: Engine = getattr(import_module(module), cls)()
    return engine


__all__ = ["ENGINES", "Engine", "Protector", "make_engine", "register_revealed"]
