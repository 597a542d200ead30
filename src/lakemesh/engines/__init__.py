"""Engines behind one protocol, looked up by name; heavy imports happen only when one is made."""

from lakemesh.engines.base import (
    CsvOptions,
    Engine,
    EngineCapabilities,
    EngineError,
    FileFormat,
    FileProblem,
    Protector,
    register_revealed,
)
from lakemesh.engines.registry import DEFAULT_ENGINE, ENGINES, make_engine

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "CsvOptions",
    "Engine",
    "EngineCapabilities",
    "EngineError",
    "FileFormat",
    "FileProblem",
    "Protector",
    "make_engine",
    "register_revealed",
]
