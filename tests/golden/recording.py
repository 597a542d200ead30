"""The real DuckDB engine, keeping the text of every statement it hands DuckDB: what golden tests compare.

Tests put it in the engine registry (`ENGINES["duckdb"]`), so library code makes it through `make_engine`
as usual and runs every statement for real; only the log is added.
"""

from __future__ import annotations

import re
from typing import Any

from lakemesh.engines.duckdb.engine import DuckDBEngine

REGISTRY_ENTRY = "tests.golden.recording:RecordingEngine"
STATEMENTS: list[str] = []  # one xdist worker is one process: the log is never shared between workers


class _LoggedConnection:
    """A DuckDB connection that appends the SQL of `execute` and `sql` to `STATEMENTS` before running it."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.append(sql)
        return self._con.execute(sql, *args, **kwargs)

    def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS.append(sql)
        return self._con.sql(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class RecordingEngine(DuckDBEngine):
    def __init__(self, memory_limit: str | None = None) -> None:
        super().__init__(memory_limit)
        self.con = _LoggedConnection(self.con)  # type: ignore[assignment]


SETTINGS = re.compile(r"^SET (enable_progress_bar|memory_limit)\b")
FILES = re.compile(r"read_parquet\(\[[^\]]*\]")


def recorded(root: str) -> list[str]:
    """The statements run since the last call, without the engine's session settings, temporary paths
    (`root`, the Parquet file lists a Delta snapshot names) replaced by stable placeholders."""
    out = [FILES.sub("read_parquet([<files>]", s.replace(root, "<root>")) for s in STATEMENTS if not SETTINGS.match(s)]
    STATEMENTS.clear()
    return out
