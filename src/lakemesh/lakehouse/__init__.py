"""Delta Lake tables of products (delta-rs in the embedded mode) behind the `TableStore` protocol.

The delta-rs store is imported on first use of `Lakehouse` (or its constants), not with the package:
engines and commands that never touch a table do not load deltalake.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from lakemesh.lakehouse.base import (
    ConcurrentWriteError,
    HistoryPurgedError,
    LakehouseError,
    MergeClause,
    ParquetScan,
    TableStore,
    WriteResult,
    is_text,
    plain,
)
from lakemesh.lakehouse.results import CompactionResult, RestoreResult, TableVersion

if TYPE_CHECKING:
    from lakemesh.lakehouse.store import CDF_COLUMNS, NATIVE_ERRORS, Lakehouse

_FROM_STORE = ("CDF_COLUMNS", "NATIVE_ERRORS", "Lakehouse")


def __getattr__(name: str) -> Any:
    if name in _FROM_STORE:
        return getattr(import_module("lakemesh.lakehouse.store"), name)
    raise AttributeError(f"module 'lakemesh.lakehouse' has no attribute '{name}'")


__all__ = [
    "CDF_COLUMNS",
    "NATIVE_ERRORS",
    "CompactionResult",
    "ConcurrentWriteError",
    "HistoryPurgedError",
    "Lakehouse",
    "LakehouseError",
    "MergeClause",
    "ParquetScan",
    "RestoreResult",
    "TableStore",
    "TableVersion",
    "WriteResult",
    "is_text",
    "plain",
]
