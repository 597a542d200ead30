"""DuckDB as the embedded engine; `engine` imports duckdb, so the registry loads it only when asked."""
