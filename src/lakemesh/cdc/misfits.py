"""Change events whose values do not fit the contract: found before the fold, held out of it, quarantined.

An event is judged on what it carries: its key (after, else before) must be present and fit the key's
type; an upsert's every carried value must cast exactly to the column's type and keep the column's
schema rules (required, enum, pattern, minimum/maximum, minLength/maxLength). A misfit is held whole:
the key's other events still apply in order, as if it had not happened, so the row keeps what the events
before it left (as a row the quality gate holds back keeps the table's). Each held event becomes a row
of the product's quarantine table: the contract's columns (a value that does not fit: NULL), the event's
op and position (`file:line` for `cdc apply`, the commit LSN and place in the transaction for the
stream) and the reason naming column, value and rule.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from lakemesh.engines import Engine
from lakemesh.quality.contract_check import does_not_fit
from lakemesh.quality.gate import AT, RUN
from lakemesh.quality.suite import CHECKS, REASON
from lakemesh.spec.odcs import Column, Table
from lakemesh.spec.types import sql_type, stored
from lakemesh.sql import lit, q

FILE_BATCH = "file:"  # `_batch_id` of events a `cdc apply` read from a file: `file:<name>`, seq = line
POSITION, OP = "_cdc_position", "_cdc_op"
SHOWN = 60  # characters of a bad value the reason quotes


def _type(col: Column, dialect: str) -> str:
    return str(sql_type(col.logical_type, col.physical_type).sql(dialect))


def _path(name: str) -> str:
    return lit('$."' + name.replace('"', '\\"') + '"')


def _shown(raw: str) -> str:
    quote = "''''"  # SQL for a single quote
    more = f"CASE WHEN length({raw}) > {SHOWN} THEN '...' ELSE '' END"
    return f"{quote} || left({raw}, {SHOWN}) || {more} || {quote}"


def _value_rules(col: Column, raw: str, json_type: str, dialect: str) -> list[tuple[str, str, str]]:
    """(rule, SQL true when an upsert breaks it, SQL of the reason) for a non-key column's `raw` text."""
    name = lit(col.name + ": ")
    upsert = "op <> 'd'"
    is_not = f"{name} || {_shown(raw)} || {lit(' is not ' + _type(col, dialect))}"
    rules = [("type", f"{upsert} AND {does_not_fit(col, raw, dialect)}", is_not)]
    if col.required:
        null = f"{upsert} AND {json_type} = 'NULL'"
        rules.append(("required", null, lit(f"{col.name}: null, but the contract requires a value")))
    present = f"{upsert} AND {raw} IS NOT NULL"
    if col.valid_values is not None:
        allowed = ", ".join(lit(str(v)) for v in col.valid_values)
        reason = f"{name} || {_shown(raw)} || {lit(' is not one of ' + str(list(col.valid_values)))}"
        rules.append(("enum", f"{present} AND {raw} NOT IN ({allowed})", reason))
    if col.pattern is not None:
        reason = f"{name} || {_shown(raw)} || {lit(' does not match ' + col.pattern)}"
        rules.append(("pattern", f"{present} AND NOT regexp_matches({raw}, {lit(col.pattern)})", reason))
    return rules + _bound_rules(col, raw, present, name)


def _bound_rules(col: Column, raw: str, present: str, name: str) -> list[tuple[str, str, str]]:
    out = []
    number, length = f"TRY_CAST({raw} AS DOUBLE)", f"length({raw})"
    for key, what, op in (
        ("minimum", number, "<"),
        ("exclusiveMinimum", number, "<="),
        ("maximum", number, ">"),
        ("exclusiveMaximum", number, ">="),
        ("minLength", length, "<"),
        ("maxLength", length, ">"),
    ):
        bound = col.options.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            reason = f"{name} || {_shown(raw)} || {lit(f' breaks {key} {bound}')}"
            out.append((key, f"{present} AND {what} {op} {bound}", reason))
    return out


def _raw(table: Table, i: int) -> str:
    """The i-th contract column's text in the event: a key from after, else before; a value from after."""
    if table.columns[i].name in table.primary_key:
        return f"COALESCE(_after[{i + 1}], _before[{i + 1}])"
    return f"_after[{i + 1}]"


def _rules(table: Table, skip: str | None, dialect: str) -> list[tuple[str, str, str]]:
    rules = []
    for i, col in enumerate(table.columns):
        raw = _raw(table, i)
        if col.name in table.primary_key:
            rules.append(("primary_key", f"{raw} IS NULL", lit(f"{col.name}: no value for the primary key")))
            is_not = f"{lit(col.name + ': ')} || {_shown(raw)} || {lit(' is not ' + _type(col, dialect))}"
            rules.append(("type", does_not_fit(col, raw, dialect), is_not))
        elif col.name != skip:
            rules += _value_rules(col, raw, f"_nulls[{i + 1}]", dialect)
    return rules


POSITION_SQL = (
    f"CASE WHEN starts_with(_batch_id, {lit(FILE_BATCH)}) "
    f"THEN substr(_batch_id, {len(FILE_BATCH) + 1}) || ':' || source_seq || ' (LSN ' "
    "|| format('{:X}/{:X}', source_lsn >> 32, source_lsn & 4294967295) || ')' "
    "ELSE 'LSN ' || format('{:X}/{:X}', source_commit_lsn >> 32, source_commit_lsn & 4294967295) "
    "|| ' #' || source_seq END"
)


def hold_misfits(con: Engine, table: Table, where: str, skip: str | None, run_id: str) -> pa.Table:
    """The events (of relation `events`, with an `_event` number) that do not fit, as quarantine rows.

    They are left in a temporary table `misfit` (`_event`) for the fold to leave out. `skip`: a column
    no event sets (soft deletes' `deleted_at`)."""
    rules = _rules(table, skip, con.dialect)
    reasons = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for _, cond, reason in rules)
    checks = ", ".join(f"CASE WHEN {cond} THEN {lit(rule)} END" for rule, cond, _ in rules)
    typed = []
    for i, col in enumerate(table.columns):
        dtype = sql_type(col.logical_type, col.physical_type)
        value = "NULL" if col.name == skip else _raw(table, i)
        typed.append(f"{stored(value, dtype, 'TRY_CAST', con.dialect)} AS {q(col.name)}")
    paths = "[" + ", ".join(_path(c.name) for c in table.columns) + "]"
    # each image parsed once for all its columns (json_extract_string of a list of paths)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE misfit AS
            WITH images AS (
                SELECT _event, op, _batch_id, source_seq, source_lsn, source_commit_lsn,
                       json_extract_string(after, {paths}) AS _after,
                       json_extract_string(before, {paths}) AS _before,
                       json_type(after, {paths}) AS _nulls
                FROM events WHERE {where}
            )
            SELECT * FROM (
                SELECT _event, {", ".join(typed)}, op AS {OP}, {POSITION_SQL} AS {POSITION},
                       concat_ws('; ', {reasons}) AS {REASON}, concat_ws(',', {checks}) AS {CHECKS}
                FROM images
            ) WHERE {REASON} <> ''"""
    )
    held = con.query(f"SELECT {con.star_except(['_event'])} FROM misfit ORDER BY _event")
    now = datetime.now(UTC)
    held = held.append_column(RUN, pa.array([run_id] * held.num_rows, pa.string()))
    return held.append_column(AT, pa.array([now] * held.num_rows, pa.timestamp("us", tz="UTC")))
