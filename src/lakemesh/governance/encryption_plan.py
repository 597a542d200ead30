"""What `governance encrypt` would do, found before anything is rewritten: which tables hold protected
values in clear, under an older mesh key, or of shredded subjects; how many rows and files a rewrite
touches; which history versions the purge after it removes (time travel to them is gone for good).

A table whose protected values are all sealed under the active key is left alone, so running encrypt
again changes nothing. Rotation re-encrypts every table by design: its plan lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lakemesh.governance.encryption import ENV_KEY, PREFIX, EncryptionError, Encryptor, reencrypt
from lakemesh.lakehouse import Lakehouse, is_text
from lakemesh.sql import lit, q, relation


class UnsealedCounts(BaseModel):
    """How many of a protected column's values are not sealed under the active key, and why."""

    model_config = ConfigDict(frozen=True)

    clear: int = 0
    old_key: int = 0  # sealed under an older mesh key
    shredded: int = 0  # sealed with a destroyed subject key: a rewrite drops them

    def any(self) -> bool:
        return bool(self.clear or self.old_key or self.shredded)

    def describe(self) -> str:
        """`12 clear, 3 old key`: the non-zero counts."""
        counts = (("clear", self.clear), ("old key", self.old_key), ("shredded", self.shredded))
        return ", ".join(f"{n:,} {kind}" for kind, n in counts if n)


class TablePlan(BaseModel):
    """One table's share of an encryption: why it is rewritten, and what the rewrite and purge touch."""

    model_config = ConfigDict(frozen=True)

    table_id: str
    columns: dict[str, UnsealedCounts]
    rows: int  # rows the rewrite writes again (the whole table)
    files: int  # data files of the current version, replaced
    versions: list[int] = Field(default_factory=list)  # history versions the purge removes

    @property
    def reasons(self) -> list[str]:
        """Per column, what it holds that is not sealed under the active key, e.g. `email: 12 clear`."""
        return [f"{c}: {counts.describe()}" for c, counts in self.columns.items() if counts.any()]


class EncryptionPlan(BaseModel):
    """Every table `governance encrypt` rewrites, and the key it seals them with (`--dry-run --json`)."""

    model_config = ConfigDict(frozen=True)

    tables: list[TablePlan]
    rotate: bool
    key: str  # the active mesh key now (rotation makes a new one)

    @property
    def empty(self) -> bool:
        return not self.tables


class EncryptionResult(BaseModel):
    """What `governance encrypt` did: rows re-sealed per table, the key now active, keys destroyed."""

    model_config = ConfigDict(frozen=True)

    tables: dict[str, int] = Field(default_factory=dict)  # table -> rows rewritten
    key: str
    retired: list[str] = Field(default_factory=list)
    files_removed: int = 0
    plan: EncryptionPlan

    @property
    def changed(self) -> bool:
        return bool(self.tables or self.retired)


def plan_encryption(
    lakehouse: Lakehouse, encryptor: Encryptor, table_ids: Iterable[str], rotate: bool = False
) -> EncryptionPlan:
    """The tables among `table_ids` that a rewrite would change (all of them that hold rows, `rotate`)."""
    key = encryptor.store.active()
    out = []
    for table_id in table_ids:
        column_plan = encryptor.plan_of(table_id)
        if column_plan is None or not lakehouse.exists(table_id):
            continue
        counts = _unsealed(lakehouse, encryptor, table_id, key)
        if rotate:
            names = lakehouse.dataset(table_id).schema.names
            counts = counts or {c: UnsealedCounts() for c in column_plan.columns if c in names}
        if not counts:
            continue
        rows = lakehouse.dataset(table_id).count_rows()
        if rotate and rows == 0:
            continue
        versions = sorted(h.version for h in lakehouse.history(table_id) if h.version >= 0)
        files = len(lakehouse.files(table_id))
        out.append(TablePlan(table_id=table_id, columns=counts, rows=rows, files=files, versions=versions))
    return EncryptionPlan(tables=out, rotate=rotate, key=key)


def _unsealed(lakehouse: Lakehouse, encryptor: Encryptor, table_id: str, key: str) -> dict[str, UnsealedCounts]:
    """Per protected column, how many values are clear, under another mesh key, or of a shredded subject."""
    from lakemesh.engines import make_engine

    plan = encryptor.plan_of(table_id)
    assert plan is not None
    data = lakehouse.scan(table_id)
    schema = data.schema
    present = [c for c in plan.columns if c in schema.names]
    if not present:
        return {}
    terms = []
    for i, column in enumerate(present):
        c = q(column)
        if not is_text(schema.field(column).type):  # stored with its own type: written before encryption
            terms.append(f"count({c}) AS clear_{i}, 0 AS old_{i}")
            continue
        current = lit(f"{PREFIX}m{key}:")
        sealed_by_mesh = lit(f"{PREFIX}m")
        terms.append(
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT starts_with({c}, {lit(PREFIX)})) AS clear_{i}, "
            f"count(*) FILTER (WHERE starts_with({c}, {sealed_by_mesh}) AND NOT starts_with({c}, {current})) "
            f"AS old_{i}"
        )
    engine = make_engine()
    try:
        engine.register(table_id, data)
        found = engine.query(f"SELECT {', '.join(terms)} FROM {relation(table_id)}").to_pylist()[0]
        shredded = _shredded(engine, encryptor, relation(table_id), present, plan.subject_column, schema.names)
    finally:
        engine.close()
    out: dict[str, UnsealedCounts] = {}
    for i, column in enumerate(present):
        counts = UnsealedCounts(
            clear=int(found[f"clear_{i}"]), old_key=int(found[f"old_{i}"]), shredded=shredded.get(column, 0)
        )
        if counts.any():
            out[column] = counts
    return out


def _shredded(
    engine: Any, encryptor: Encryptor, relation: str, columns: list[str], subject: str | None, names: list[str]
) -> dict[str, int]:
    """Per column, values sealed with a subject key that was destroyed: ciphertext nothing opens any more,
    which a rewrite drops."""
    if subject is None or subject not in names:
        return {}
    sealed = f"{lit(PREFIX)} || 's:'"
    text = [c for c in columns if c != subject]
    if not text:
        return {}
    any_sealed = " OR ".join(f"starts_with(CAST({q(c)} AS VARCHAR), {sealed})" for c in text)
    sql = f"SELECT DISTINCT CAST({q(subject)} AS VARCHAR) AS s FROM {relation} WHERE {any_sealed}"
    owners = [r["s"] for r in engine.query(sql).to_pylist() if r["s"] is not None]
    ciphers = encryptor.store.subject_ciphers(owners, create=False) if owners else {}
    gone = sorted(s for s, cipher in ciphers.items() if cipher is None)
    if not gone:
        return {}
    values = ", ".join(lit(s) for s in gone)
    counts = ", ".join(
        f"count(*) FILTER (WHERE starts_with(CAST({q(c)} AS VARCHAR), {sealed})) AS {q(c)}" for c in text
    )
    row = engine.query(f"SELECT {counts} FROM {relation} WHERE CAST({q(subject)} AS VARCHAR) IN ({values})")
    return {c: int(n) for c, n in row.to_pylist()[0].items()}


def required(encryptor: Encryptor | None) -> Encryptor:
    """The encryptor; EncryptionError when no policy encrypts anything."""
    if encryptor is None:
        raise EncryptionError("no pii_protection policy encrypts any column", "add encrypt: [restricted] to one")
    return encryptor


def check_request(rotate: bool, retire: bool, some_products: bool) -> None:
    """EncryptionError for a rotation or retirement that cannot be done as asked."""
    if rotate and os.environ.get(ENV_KEY):
        raise EncryptionError(
            f"the mesh key comes from {ENV_KEY}, which lakemesh cannot rotate: values sealed with it are "
            "tagged `env`, and a new value there would leave them unreadable",
            "rotation needs the old and the new key side by side: keep the mesh key in the key store instead",
        )
    if retire and some_products:
        raise EncryptionError("--retire-old re-encrypts every product", "leave out the product names")


def apply_encryption(
    lakehouse: Lakehouse, encryptor: Encryptor, plan: EncryptionPlan, rotate: bool, retire: bool
) -> EncryptionResult | None:
    """Carry out `plan`: a new key first (`rotate`), the planned tables rewritten and their history
    purged, then the older keys destroyed (`retire`). None when there is nothing to do."""
    old = [k["id"] for k in encryptor.store.mesh_keys()]
    if plan.empty and not rotate and not (retire and len(old) > 1):
        return None
    if rotate:
        encryptor.store.add()
    done = reencrypt(lakehouse, encryptor, [t.table_id for t in plan.tables])
    active = encryptor.store.active()
    retired = [k for k in old if k != active] if retire else []
    for key_id in retired:
        encryptor.store.retire(key_id)
    return EncryptionResult(
        tables={d.table_id: d.rows for d in done},
        key=active,
        retired=retired,
        files_removed=sum(d.files_removed for d in done),
        plan=plan,
    )
