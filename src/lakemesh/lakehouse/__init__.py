"""Delta Lake tables of products (delta-rs in the embedded mode) behind the `TableStore` protocol."""

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
from lakemesh.lakehouse.store import CDF_COLUMNS, NATIVE_ERRORS, Lakehouse

__all__ = [
    "CDF_COLUMNS",
    "NATIVE_ERRORS",
    "ConcurrentWriteError",
    "HistoryPurgedError",
    "Lakehouse",
    "LakehouseError",
    "MergeClause",
    "ParquetScan",
    "TableStore",
    "WriteResult",
    "is_text",
    "plain",
]
