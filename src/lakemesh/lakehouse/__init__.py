"""Delta Lake tables of products (delta-rs in the embedded mode)."""

from lakemesh.lakehouse.store import (
    CDF_COLUMNS,
    ConcurrentWriteError,
    HistoryPurgedError,
    Lakehouse,
    LakehouseError,
    MergeClause,
    ParquetScan,
    WriteResult,
    is_text,
    plain,
)

__all__ = [
    "CDF_COLUMNS",
    "ConcurrentWriteError",
    "HistoryPurgedError",
    "Lakehouse",
    "LakehouseError",
    "MergeClause",
    "ParquetScan",
    "WriteResult",
    "is_text",
    "plain",
]
