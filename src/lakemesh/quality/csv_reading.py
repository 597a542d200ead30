"""Reading CSV files by the contract: explicit reader options, header names matched to contract columns.

DuckDB's sniffer guesses delimiter, quoting and whether there is a header at all; when it guesses wrong
(one malformed row is enough) a file reads as one column named `id,created_at,amount` and every value
NULL. So nothing is left to the sniffer: the delimiter comes from the spec's reader options, or is the
one of `, ; tab |` whose header names the contract's columns; the header is required unless the spec
says `header: false` (then columns are the contract's, in order). Parse errors become one line naming
the file and the line.

What is decided here is the same for every engine (it reads the file's first line in Python), so it ends
in engine-neutral `CsvOptions` that each engine's `read_csv` spells in its own reader's words.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakemesh.engines import CsvOptions, FileProblem
from lakemesh.errors import DataFileError
from lakemesh.spec.odcs import Table
from lakemesh.spec.problems import did_you_mean

# the reader options a spec may set (build.source.options in product.yaml), with their defaults
CSV_OPTIONS: dict[str, Any] = {"delimiter": None, "header": True, "quote": '"', "escape": '"', "skip": 0}
DELIMITERS = (",", ";", "\t", "|")
OPTIONS_HINT = (
    "set the reader options in product.yaml, e.g. build.source.options: {delimiter: ';', header: true, "
    "quote: '\"', escape: '\"', skip: 0} (README: CSV files)"
)
ENCODING_HINT = "the file is not UTF-8: convert it, e.g. `iconv -f LATIN1 -t UTF-8 in.csv > out.csv`"
_HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class CsvLayout:
    """How to read one CSV file: the reader's options and the file's columns against the contract's."""

    options: CsvOptions  # `options.columns`: contract names where a header name matched one
    missing: list[str] = field(default_factory=list)  # contract columns the file lacks
    extra: list[str] = field(default_factory=list)  # file columns the contract does not declare

    @property
    def columns(self) -> list[str]:
        return list(self.options.columns)


def reader_options(options: dict[str, Any], where: str) -> dict[str, Any]:
    """The spec's CSV options over the defaults; unknown or ill-typed ones are errors naming the option."""
    out = dict(CSV_OPTIONS)
    for key, value in options.items():
        if key not in CSV_OPTIONS:
            raise DataFileError(f"{where}: unknown CSV reader option '{key}'{did_you_mean(key, list(CSV_OPTIONS))}",
                                f"the options are {', '.join(CSV_OPTIONS)}")  # fmt: skip
        out[key] = value
    for key in ("delimiter", "quote", "escape"):
        if out[key] is not None and (not isinstance(out[key], str) or len(out[key]) != 1):
            raise DataFileError(f"{where}: CSV option {key} must be one character, not {out[key]!r}")
    if not isinstance(out["header"], bool):
        raise DataFileError(f"{where}: CSV option header must be true or false, not {out['header']!r}")
    if not isinstance(out["skip"], int) or isinstance(out["skip"], bool) or out["skip"] < 0:
        raise DataFileError(f"{where}: CSV option skip must be a number of lines, not {out['skip']!r}")
    return out


def csv_layout(path: Path, table: Table, options: dict[str, Any], name: str) -> CsvLayout:
    """Read the file's first line and decide how to read it; `name` is how errors show the file."""
    opts = reader_options(options, name)
    head = _head(path, opts["skip"], name)
    wanted = [c.name for c in table.columns]
    delimiter = opts["delimiter"] or _delimiter(head, wanted, opts)
    fields = _first_row(head, delimiter, opts)
    if fields is None:
        raise DataFileError(f"{name} is empty: not even a header line", OPTIONS_HINT)
    if opts["header"]:
        columns = _match(fields, wanted, name)
        if not set(columns) & set(wanted):
            shown = ", ".join(fields[:5])
            raise DataFileError(
                f"{name}: the header ({shown}) names none of the contract's columns ({', '.join(wanted[:5])})",
                OPTIONS_HINT,
            )
    else:
        columns = wanted[: len(fields)] + [f"column{i}" for i in range(len(wanted), len(fields))]
    reader = CsvOptions(tuple(columns), delimiter, opts["header"], opts["quote"], opts["escape"], opts["skip"])
    missing = [c for c in wanted if c not in columns]
    return CsvLayout(reader, missing, [c for c in columns if c not in wanted])


def _head(path: Path, skip: int, name: str) -> str:
    """The start of the file as text, the `skip` lines dropped."""
    try:
        with path.open("rb") as f:
            raw = f.read(_HEAD_BYTES)
    except FileNotFoundError as exc:
        raise DataFileError(f"{name}: no such file") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(raw) < _HEAD_BYTES or exc.start < len(raw) - 4:  # not a character cut by the sample's end
            raise DataFileError(f"{name}: not UTF-8 text (byte {exc.start})", ENCODING_HINT) from exc
        text = raw[: exc.start].decode("utf-8-sig")
    return "".join(text.splitlines(keepends=True)[skip:])


def _first_row(head: str, delimiter: str, opts: dict[str, Any]) -> list[str] | None:
    doubled = opts["escape"] == opts["quote"]
    reader = csv.reader(
        io.StringIO(head),
        delimiter=delimiter,
        quotechar=opts["quote"],
        doublequote=doubled,
        escapechar=None if doubled else opts["escape"],
    )
    row = next(reader, None)
    return [f.strip() for f in row] if row else None


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).casefold()


def _match(fields: list[str], wanted: list[str], name: str) -> list[str]:
    """Header names as the contract spells them where they match one (case and spacing aside)."""
    by_key = {_key(w): w for w in wanted}
    out: list[str] = []
    for f in fields:
        column = f if f in wanted else by_key.get(_key(f), f)
        if column in out:
            raise DataFileError(f"{name}: the header names column {column} twice", OPTIONS_HINT)
        out.append(column)
    return out


def _delimiter(head: str, wanted: list[str], opts: dict[str, Any]) -> str:
    """The delimiter whose first line names the most contract columns (or, headerless, has their count)."""
    keys = {_key(w) for w in wanted}
    best, score = ",", 0
    for candidate in DELIMITERS:
        fields = _first_row(head, candidate, opts) or []
        if opts["header"]:
            found = len({_key(f) for f in fields} & keys)
        else:
            found = len(wanted) if len(fields) == len(wanted) and len(fields) > 1 else 0
        if found > score:
            best, score = candidate, found
    return best


def located(problem: FileProblem | None, name: str) -> str | None:
    """The engine's parse problem as one line naming the file and the line, or None when it has no line."""
    if problem is None or problem.line is None:
        return None
    return f"{name} line {problem.line}: {problem.what}"


def csv_hint(problem: FileProblem | None) -> str:
    """What to do about a CSV error: convert the encoding, or set the reader options."""
    return ENCODING_HINT if problem is not None and problem.encoding else OPTIONS_HINT
