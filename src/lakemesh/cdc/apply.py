"""Applying change events to a silver product: the last change per key wins, then one MERGE.

Within a batch the events of each key are folded: the operation is the last one's (by commit LSN, then
place in the transaction); each column takes the value of the last event that carried it, so an
unchanged TOAST value (not carried) keeps the table's value; deletes delete, or with `deletes: soft` set
the `deleted_at` column; snapshot reads upsert. A truncate replaces the table by what follows it.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lakemesh.cdc.misfits import POSITION, hold_misfits
from lakemesh.engines import EngineError, make_engine
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import MergeClause, TableStore, WriteResult
from lakemesh.quality.suite import REASON
from lakemesh.spec.odcs import Column, Table
from lakemesh.spec.types import sql_type, stored
from lakemesh.sql import lit, q


class ApplyError(LakemeshError):
    """Change events that cannot be applied to the product."""


def _stored(value: str, col: Column, dialect: str) -> str:
    return stored(value, sql_type(col.logical_type, col.physical_type), dialect=dialect)


def _type(col: Column, dialect: str) -> str:
    return str(sql_type(col.logical_type, col.physical_type).sql(dialect))


def fold(
    events: pa.Table, table: Table, deleted_at: str | None, source_table: str | None, run_id: str = ""
) -> tuple[pa.Table, bool, pa.Table]:
    """One row per key: typed contract columns plus `_op` and `_keep` (columns no event carried).

    Returns the rows, whether the batch held a truncate (the rows then follow the last one), and the
    events left out because they do not fit the contract, as quarantine rows (`lakemesh.cdc.misfits`).
    """
    keys = table.primary_key
    if not keys:
        raise ApplyError(f"contract {table.name} has no primary key: change events cannot name their rows")
    con = make_engine()
    try:
        con.attach("events", events.append_column("_event", pa.array(range(events.num_rows), pa.int64())))
        where = "op IN ('c', 'u', 'd', 'r', 't')"
        if source_table:
            where += f" AND source_schema || '.' || source_table = {lit(source_table)}"
        query = f"SELECT max([source_commit_lsn, source_seq]) FROM events WHERE {where} AND op = 't'"
        last_truncate = con.rows(query)[0][0]
        if last_truncate is not None:
            where += f" AND [source_commit_lsn, source_seq] > {lit_list(last_truncate)}"
        where += " AND op <> 't'"
        held = hold_misfits(con, table, where, deleted_at, run_id)
        where += " AND _event NOT IN (SELECT _event FROM misfit)"
        key_exprs = ", ".join(
            f"COALESCE(json_extract_string(after, {lit('$.' + _json_key(k))}), "
            f"json_extract_string(before, {lit('$.' + _json_key(k))})) AS {q(k)}"
            for k in keys
        )
        values = [c for c in table.columns if c.name not in keys and c.name != deleted_at]
        carried = {
            c.name: f"op <> 'd' AND coalesce(unchanged NOT LIKE {lit('%,' + c.name + ',%')}, true)" for c in values
        }
        picks = ", ".join(
            f"arg_max_null(json_extract_string(after, {lit('$.' + _json_key(c.name))}), pos) "
            f"FILTER (WHERE {carried[c.name]}) AS {q(c.name)}, "
            f"count(*) FILTER (WHERE {carried[c.name]}) AS {q('_n_' + c.name)}"
            for c in values
        )
        keep = ", ".join(f"CASE WHEN {q('_n_' + c.name)} = 0 THEN {lit(c.name)} END" for c in values)
        typed = [f"{_stored(q(c.name), c, con.dialect)} AS {q(c.name)}" for c in table.columns if c.name in keys]
        typed += [f"{_stored(q(c.name), c, con.dialect)} AS {q(c.name)}" for c in values]
        if deleted_at:
            col = table.column(deleted_at)
            if col is None:
                raise ApplyError(
                    f"soft deletes set column '{deleted_at}', which contract {table.name} does not declare",
                    f"add an optional timestamp column '{deleted_at}' to the contract, or set refresh.deletedAt",
                )
            when = "CASE WHEN _op = 'd' THEN make_timestamp(_ts_ms * 1000) END"
            typed.append(f"CAST({when} AS {_type(col, con.dialect)}) AS {q(deleted_at)}")
        sql = f"""
            WITH ev AS (
                SELECT *, [source_commit_lsn, source_seq] AS pos, {key_exprs} FROM events WHERE {where}
            ), folded AS (
                SELECT {", ".join(q(k) for k in keys)}, arg_max(op, pos) AS _op, arg_max(source_ts_ms, pos) AS _ts_ms
                       {", " + picks if picks else ""},
                       ',' || concat_ws(',', {keep or "NULL"}) || ',' AS _keep
                FROM ev GROUP BY {", ".join(q(k) for k in keys)}
            )
            SELECT {", ".join(typed)}, _op, _keep FROM folded"""
        try:
            folded = con.query(sql)
        except EngineError as exc:
            raise ApplyError(f"change events do not fit contract {table.name}: {exc.message}") from exc
        return folded, last_truncate is not None, held
    finally:
        con.close()


def _screened(folded: pa.Table, columns: list[str], screen: Callable[[pa.Table], pa.Table]) -> pa.Table:
    """The folded rows minus the upserts the screen held back (deletes always pass)."""
    numbered = folded.append_column("_row", pa.array(range(folded.num_rows), pa.int64()))
    upserts = numbered.filter(pc.not_equal(numbered["_op"], "d"))
    passed = screen(upserts.select([*columns, "_row"]))
    if passed.num_rows == upserts.num_rows:
        return folded
    keep = pc.or_(pc.equal(numbered["_op"], "d"), pc.is_in(numbered["_row"], passed["_row"]))
    return numbered.filter(keep).drop_columns(["_row"])


def lit_list(values: list[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def apply_changes(
    lakehouse: TableStore,
    product_id: str,
    table: Table,
    events: pa.Table,
    checkpoints: dict[str, int],
    metadata: dict[str, str],
    deletes: str = "hard",
    deleted_at: str = "deleted_at",
    source_table: str | None = None,
    screen: Callable[[pa.Table], pa.Table] | None = None,
    hold: Callable[[pa.Table], None] | None = None,
) -> WriteResult:
    """Fold the events and MERGE them into the product in one commit carrying `checkpoints`.

    `screen` (the quality gate) gets the upserted rows with a `_row` column and returns those that may be
    written; a row it holds back leaves its key as the table has it. `hold` gets the events that do not
    fit the contract (quarantine rows, before the product's commit); without it they are an error.
    """
    soft = deletes == "soft"
    run_id = metadata.get("lakemesh.run", "")
    folded, truncated, held = fold(events, table, deleted_at if soft else None, source_table, run_id)
    if held.num_rows and hold is None:
        first = held.slice(0, 1).to_pylist()[0]
        raise ApplyError(f"{product_id}: change event at {first[POSITION]} does not fit: {first[REASON]}")
    if held.num_rows and hold is not None:
        hold(held)
    keys = table.primary_key
    null_keys = sum(folded[k].null_count for k in keys)
    if null_keys:
        raise ApplyError(f"{product_id}: {null_keys} change events carry no value for the key {', '.join(keys)}")
    columns = [c.name for c in table.columns]
    if screen is not None:
        folded = _screened(folded, columns, screen)
    upserts_only = folded.filter(pc.not_equal(folded["_op"], "d"))
    if truncated and soft:
        raise ApplyError(f"{product_id}: a TRUNCATE with soft deletes is not supported", "use deletes: hard")
    if not lakehouse.exists(product_id):
        return lakehouse.append(product_id, upserts_only.select(columns), checkpoints, metadata)
    if truncated:  # the table is what follows the last truncate
        return lakehouse.replace(product_id, upserts_only.select(columns), None, checkpoints, metadata)
    value_cols = [c for c in columns if c not in keys and c != (deleted_at if soft else None)]
    present = set(lakehouse.table(product_id).schema().to_arrow().names)
    # a column no event of the batch carried keeps the table's value (a column new to the table has none)
    updates = {
        f'"{c}"': f'CASE WHEN s._keep LIKE \'%,{c},%\' THEN t."{c}" ELSE s."{c}" END' if c in present else f's."{c}"'
        for c in value_cols
    }
    if soft:
        updates[f'"{deleted_at}"'] = "NULL"
    deleting = (
        MergeClause("update", "s._op = 'd'", {f'"{deleted_at}"': f's."{deleted_at}"'})
        if soft
        else MergeClause("delete", "s._op = 'd'")
    )
    clauses = [
        deleting,
        MergeClause("update", "s._op <> 'd'", updates),
        MergeClause("insert", "s._op <> 'd'", {f'"{c}"': f's."{c}"' for c in columns}),
    ]
    evolve = any(c not in present for c in columns)  # a column the contract gained: the table evolves
    source = folded.select([*columns, "_op", "_keep"]) if evolve else folded
    return lakehouse.merge_with(product_id, source, keys, clauses, checkpoints, metadata, evolve)
