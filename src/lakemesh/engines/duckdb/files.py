"""DuckDB's file readers as FROM items, and its reader errors read back as a `FileProblem`.

Callers above the engine describe a read (a path, `CsvOptions`, the columns wanted); only here is it
spelled as DuckDB's table functions, and only here are DuckDB's many-line reader errors parsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lakemesh.engines.base import CsvOptions, FileFormat, FileProblem
from lakemesh.sql import lit, q

JSON_AUTO = "format='auto', maximum_object_size=16777216"
COPY_OPTIONS = {
    FileFormat.JSON: "FORMAT JSON",
    FileFormat.CSV: "FORMAT CSV, HEADER",
    FileFormat.PARQUET: "FORMAT PARQUET",
}


def numbered_from(reader: str, numbered: str | None, number: str = "row_number() OVER ()") -> str:
    """The reader with a column `numbered` holding each record's number, or the reader as it is."""
    if numbered is None:
        return reader
    return f"(SELECT *, {number} AS {q(numbered)} FROM {reader})"


def csv_reader(path: str, options: CsvOptions | None) -> str:
    """`read_csv(...)` with every option given (no sniffing), or DuckDB's guess when there are none."""
    if options is None:
        return f"read_csv({lit(path)}, header=true, all_varchar=true)"
    spec = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in options.columns) + "}"
    return (
        f"read_csv({lit(path)}, auto_detect=false, header={str(options.header).lower()}, "
        f"delim={lit(options.delimiter)}, quote={lit(options.quote)}, escape={lit(options.escape)}, "
        f"skip={options.skip}, columns={spec})"
    )


def json_typed_reader(path: str, keys: Sequence[str]) -> str:
    """One pass reading every value of the keys as text: a late bad value cannot fail the read."""
    columns = "{" + ", ".join(f"{lit(k)}: 'VARCHAR'" for k in keys) + "}"
    return f"read_json({lit(path)}, {JSON_AUTO}, columns={columns})"


def json_sample(path: str) -> str:
    """A query whose columns are the keys of DuckDB's sample of the file's records."""
    return f"SELECT * FROM read_json({lit(path)}, {JSON_AUTO})"


def json_objects_reader(path: str, keys: Sequence[str], raw: str | None) -> str:
    """Each record parsed once, the keys' values extracted as text, the record kept as received."""
    values = [f"json_extract_string(json, {lit(_json_path(k))}) AS {q(k)}" for k in keys]
    if raw is not None:
        values.append(f"CAST(json AS VARCHAR) AS {q(raw)}")
    return f"(SELECT {', '.join(values) or 'NULL AS _'} FROM read_ndjson_objects({lit(path)}))"


def _json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def parquet_reader(paths: Sequence[str], numbered: str | None) -> str:
    """`read_parquet`, numbering each file's records from its own row numbers (no window over the scan)."""
    files = lit(paths[0]) if len(paths) == 1 else "[" + ", ".join(lit(p) for p in paths) + "]"
    if numbered is None:
        return f"read_parquet({files})"
    reader = f"read_parquet({files}, file_row_number=true)"
    return f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS {q(numbered)} FROM {reader})"


def file_problem(message: str) -> FileProblem | None:
    """The place in a file DuckDB's reader error names, or None when the error is not about one."""
    encoding = "unicode" in message.lower() or "utf-8" in message.lower()
    line = re.search(r"CSV Error on Line: (\d+)", message)
    if line is not None:
        return FileProblem(int(line[1]), _csv_what(message), encoding)
    found = re.search(r"Malformed JSON in file .*?, at byte \d+ in line (\d+): ([^.]*)", message)
    if found is not None:  # DuckDB's line is one too high
        return FileProblem(max(int(found[1]) - 1, 1), f"malformed JSON ({found[2].strip()})")
    if encoding:
        lines = [s.strip() for s in message.splitlines() if s.strip()]
        said = next(s for s in lines if "unicode" in s.lower() or "utf-8" in s.lower())
        return FileProblem(None, said, encoding=True)
    return None


def _csv_what(message: str) -> str:
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts:
        what = f"expected {counts[1]} columns, found {counts[2]}"
    else:
        rest = [s.strip() for s in message.splitlines()[1:] if s.strip()]
        what = next((s for s in rest if not s.startswith(("Original Line", "Possible fixes", "*"))), "cannot parse")
    what = what.rstrip(". ")
    return f"{what[:1].lower()}{what[1:]}"
