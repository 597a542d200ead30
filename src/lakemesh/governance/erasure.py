"""The right to be forgotten: every row of a data subject erased from every layer, and from storage.

Where a subject's data is: products whose contract tags a column `subject-key` (or names it in the
`subject_key` custom property) under the key asked for, then everything downstream of them by lineage.
A downstream product holding the same column has its rows deleted too; one without it (a gold aggregate)
is recomputed from its erased inputs, which a partition or full refresh does; anything else is flagged
for review rather than silently left as it is. Quarantine tables are erased with their products.

The order matters. Rows are deleted first (one commit per table), then the products downstream run, so
recomputed aggregates read inputs without the subject and every consumer has read its inputs' change
feed past the erasure. Only then is each table's history purged (`Lakehouse.purge_history`): older
versions, change-feed files and log entries would otherwise keep the values. A rerun after a crash at
any point finishes the job: deleting finds nothing left, and the purge is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer

from lakemesh.engines import make_engine
from lakemesh.errors import LakemeshError
from lakemesh.governance.derived import Derivation, DerivedColumns, derived_columns
from lakemesh.governance.keys import pseudonym, pseudonym_sql
from lakemesh.lakehouse import Lakehouse, is_text
from lakemesh.pipeline.results import RunReport
from lakemesh.quality.gate import quarantine_id
from lakemesh.sources.files import source_files
from lakemesh.spec.models import FileSource, Layer, RefreshMode
from lakemesh.spec.odcs import SUBJECT_KEY
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import lit, q, relation

Runner = Callable[[list[str]], RunReport]

if TYPE_CHECKING:
    from lakemesh.governance.encryption import Encryptor


class ErasureError(LakemeshError):
    """An erasure request that cannot be carried out as asked."""


@dataclass(frozen=True)
class Subject:
    """A data subject named by a key column and its value: `customer_id=C123`."""

    column: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Subject:
        column, sep, value = text.partition("=")
        if not sep or not column.strip() or not value:
            raise ErasureError(f"subject {text!r} is not COLUMN=VALUE", "e.g. --subject customer_id=C000042")
        return cls(column.strip(), value)

    @property
    def pseudonym(self) -> str:
        """What records of the erasure keep instead of the value (`keys.pseudonym`)."""
        return pseudonym(self.value)


class ErasureAction(str, Enum):
    """What erasure does to one product."""

    DELETE = "delete"  # its rows of the subjects are deleted
    RECOMPUTE = "recompute"  # rebuilt from erased inputs (an aggregate without the subject key)
    REVIEW = "review"  # cannot be erased automatically: a person must look
    SHRED = "shred"  # crypto-shredding: the subjects' keys destroyed, nothing rewritten


class ErasedSubject(BaseModel):
    """A subject as records of its erasure keep it: the key column and a keyed pseudonym, never the value."""

    model_config = ConfigDict(frozen=True)

    column: str
    pseudonym: str


class ErasureStep(BaseModel):
    """What erasure does to one product, and what it took: rows per table, bytes rewritten and removed."""

    product_id: str
    action: ErasureAction
    reason: str
    columns: list[str] = Field(default_factory=list)
    key_of: dict[str, str] = Field(default_factory=dict)  # a copy of a subject key under another name -> the key
    rows: dict[str, int] = Field(default_factory=dict)  # table (product or its quarantine) -> subject rows
    bytes_rewritten: int = 0
    bytes_removed: int = 0
    files_removed: int = 0
    log_files_removed: int = 0
    error: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class ErasureReport(BaseModel):
    """A `forget` (or its dry run): every step, with the subjects only as pseudonyms (`forget --json`)."""

    subjects: list[ErasedSubject]
    steps: list[ErasureStep]
    dry_run: bool
    seconds: float = 0.0
    keys_destroyed: int = 0  # crypto-shredding: subject keys destroyed
    catalog_records_scrubbed: int = 0  # audited query texts and check values that named a subject
    tags_erased_through: list[str] = Field(default_factory=list)  # mesh tags whose versions the purge removed
    source_files: list[str] = Field(default_factory=list)  # workspace files that still hold a value

    @classmethod
    def of(cls, subjects: list[Subject], steps: list[ErasureStep], dry_run: bool) -> ErasureReport:
        """A report on `subjects`, which keeps only their pseudonyms."""
        erased = [ErasedSubject(column=s.column, pseudonym=s.pseudonym) for s in subjects]
        return cls(subjects=erased, steps=steps, dry_run=dry_run)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rows(self) -> int:
        return sum(s.total_rows for s in self.steps)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return all(s.error is None for s in self.steps)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bytes_rewritten(self) -> int:
        return sum(s.bytes_rewritten for s in self.steps)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bytes_removed(self) -> int:
        return sum(s.bytes_removed for s in self.steps)

    @field_serializer("seconds")
    def _seconds(self, value: float) -> float:
        return round(value, 3)

    def summary(self) -> dict[str, Any]:
        """The audit record's details: the report as JSON, the subjects only as pseudonyms."""
        return self.model_dump(mode="json")


def _subject_columns(entry: ProductEntry) -> frozenset[str]:
    return entry.contract.subject_columns if entry.contract is not None else frozenset()


def subject_lineage(ws: Workspace, subjects: list[Subject]) -> DerivedColumns:
    """The columns copied or transformed from the subjects' key columns, through column lineage: what
    `plan` follows besides the key's name (`forget` derives it once for its several plans)."""
    wanted = {s.column for s in subjects}
    keys = {pid: sorted(_subject_columns(entry) & wanted) for pid, entry in ws.products.items()}
    return derived_columns(ws, {pid: k for pid, k in keys.items() if k})


def plan(ws: Workspace, subjects: list[Subject], lineage: DerivedColumns | None = None) -> list[ErasureStep]:
    """Which products hold the subjects' data and what erasing it takes, in build order. `lineage`: the
    subjects' `subject_lineage`, derived here when not given."""
    wanted = {s.column for s in subjects}
    lineage = lineage if lineage is not None else subject_lineage(ws, subjects)
    steps: dict[str, ErasureStep] = {}
    for pid in ws.build_order():
        entry = ws.product(pid)
        keys = sorted(_subject_columns(entry) & wanted)
        feeding = [u for u in ws.upstream(pid) if u in steps]
        if keys:
            steps[pid] = _deleting(pid, f"subject key {', '.join(keys)}", keys, lineage)
        elif feeding:
            steps[pid] = _derived_step(entry, wanted, feeding, lineage)
    for pid in list(steps):  # sources feeding the subject's products, which nothing marks: e.g. CDC events
        for source in ws.upstream(pid):
            if source not in steps and ws.product(source).spec.layer is Layer.BRONZE:
                steps[source] = ErasureStep(
                    product_id=source,
                    action=ErasureAction.REVIEW,
                    reason=f"feeds {pid} but tags no subject key, so its rows of the subject cannot be found: "
                    "tag the key column, or rebuild it from a cleaned source",
                )
    if not steps:
        raise ErasureError(
            f"no product tags {', '.join(sorted(wanted))} as a subject key",
            f"tag the column `{SUBJECT_KEY}` in the contracts holding it (the gdpr policy kind subject_key_required)",
        )
    order = {pid: i for i, pid in enumerate(ws.build_order())}
    return sorted(steps.values(), key=lambda step: order[step.product_id])


def _deleting(product_id: str, why: str, held: list[str], lineage: DerivedColumns) -> ErasureStep:
    """A DELETE on the columns holding a subject key by name (`held`) and on its copies under any name,
    each copy named in the reason with the column it copies."""
    copies = {c: d for c, d in lineage.of(product_id, Derivation.COPY).items() if c not in held}
    reason = "; ".join([why, *(d.describe(c) for c, d in copies.items())])
    return ErasureStep(
        product_id=product_id,
        action=ErasureAction.DELETE,
        reason=reason,
        columns=[*held, *copies],
        key_of={c: d.origin.column for c, d in copies.items() if c != d.origin.column},
    )


def _derived_step(entry: ProductEntry, wanted: set[str], feeding: list[str], lineage: DerivedColumns) -> ErasureStep:
    source = f"from {', '.join(feeding)}"
    table = entry.contract.table() if entry.contract else None
    held = sorted(c for c in wanted if table is not None and table.column(c) is not None)
    if held or lineage.of(entry.id, Derivation.COPY):
        return _deleting(entry.id, f"{source}, holds {', '.join(held)}" if held else source, held, lineage)
    transformed = lineage.of(entry.id, Derivation.TRANSFORMED)
    review = "".join(f"; {d.describe(c)}: review it" for c, d in transformed.items())
    mode = entry.spec.build.refresh_mode(entry.spec.layer)
    if mode in (RefreshMode.PARTITIONS, RefreshMode.FULL):
        reason = f"{source}, {mode.value} refresh{review}"
        return ErasureStep(product_id=entry.id, action=ErasureAction.RECOMPUTE, reason=reason)
    return ErasureStep(
        product_id=entry.id,
        action=ErasureAction.REVIEW,
        reason=f"{source}, holds no subject key and its {mode.value} refresh cannot recompute it: "
        f"rows derived from the subject may remain; add the key column or refresh by partitions{review}",
    )


def erase(
    ws: Workspace,
    lakehouse: Lakehouse,
    subjects: list[Subject],
    run: Runner,
    dry_run: bool = False,
    encryptor: Encryptor | None = None,
    lineage: DerivedColumns | None = None,
) -> ErasureReport:
    """Erase the subjects (`dry_run`: only count): delete, recompute downstream, purge history."""
    started = time.perf_counter()
    steps = plan(ws, subjects, lineage)
    report = ErasureReport.of(subjects, steps, dry_run)
    deleting = [s for s in steps if s.action is ErasureAction.DELETE]
    stored = {s.product_id: _as_stored(s, subjects, encryptor) for s in deleting}
    for step in deleting:
        _count(lakehouse, step, stored[step.product_id])
    report.source_files = _source_files_holding(ws, deleting, subjects)
    if not dry_run:
        for step in deleting:
            _delete(lakehouse, step, stored[step.product_id])
        _rebuild(ws, lakehouse, steps, run)
        for step in steps:
            if step.error is None and step.action is not ErasureAction.REVIEW:
                _purge(lakehouse, step)
    report.seconds = time.perf_counter() - started
    return report


def shred(
    ws: Workspace,
    lakehouse: Lakehouse,
    subjects: list[Subject],
    encryptor: Encryptor | None,
    dry_run: bool = False,
    lineage: DerivedColumns | None = None,
) -> ErasureReport:
    """Crypto-shredding, the fast path: destroy the subjects' own keys, so their encrypted values in every
    table, version and copy become unreadable at once, with nothing rewritten. What their rows hold in
    clear (the subject key itself, unencrypted columns, products without encryption) stays: each such
    product is listed for `review`, and a full `forget` removes it."""
    started = time.perf_counter()
    steps = [s for s in plan(ws, subjects, lineage) if s.action is ErasureAction.DELETE]
    for step in steps:
        _count(lakehouse, step, subjects)
        column_plan = encryptor.plan_of(step.product_id) if encryptor else None
        if column_plan is not None and column_plan.subject_column in step.columns:
            encrypted = ", ".join(c for c in column_plan.columns if c != "_raw")
            step.action, step.reason = ErasureAction.SHRED, f"{encrypted} unreadable; the rest of each row stays"
        else:
            step.action, step.reason = (
                ErasureAction.REVIEW,
                "holds the subject in clear: not shredded, erase it without --shred",
            )
    if not any(s.action is ErasureAction.SHRED for s in steps):
        raise ErasureError(
            "no product encrypts these subjects' data with a key per subject: there is nothing to shred",
            "set keyPer: subject on a pii_protection policy with encrypt, or erase without --shred",
        )
    report = ErasureReport.of(subjects, steps, dry_run)
    if not dry_run and encryptor is not None:
        report.keys_destroyed = encryptor.store.shred([s.value for s in subjects])
    report.seconds = time.perf_counter() - started
    return report


def _as_stored(step: ErasureStep, subjects: list[Subject], encryptor: Encryptor | None) -> list[Subject]:
    """The subjects as the product stores them: where its key column is encrypted with a mesh key, also
    each key's (deterministic) ciphertext of the value, so the rows are found without decrypting."""
    from lakemesh.governance.encryption import equal_ciphertexts

    plan = encryptor.plan_of(step.product_id) if encryptor else None
    if plan is None or encryptor is None:
        return subjects
    sealed = [
        Subject(s.column, c) for s in subjects if s.column in plan.columns
        for c in equal_ciphertexts(encryptor.store, plan, s.value)
    ]  # fmt: skip
    return subjects + sealed


MIN_SCRUB_LENGTH = 4  # shorter values (an initial, a 2-letter code) would match all over the catalog
SENSITIVE = {"pii", "restricted", "confidential"}


def subject_values(
    ws: Workspace,
    lakehouse: Lakehouse,
    subjects: list[Subject],
    encryptor: Encryptor | None,
    lineage: DerivedColumns | None = None,
) -> list[str]:
    """Every value lakemesh holds of the subjects in a personal column (tagged `pii`, or classified pii,
    restricted or confidential) of a product holding them, decrypted: what the catalog must not keep
    after the erasure. The subjects' keys always; other values of MIN_SCRUB_LENGTH characters or more,
    and the words of that length of a name. Read before the rows are deleted."""
    found: dict[str, None] = {s.value: None for s in subjects}
    for step in (s for s in plan(ws, subjects, lineage) if s.action is ErasureAction.DELETE):
        columns = _personal_columns(ws.product(step.product_id))
        for table in _tables(lakehouse, step.product_id):
            for row in _subject_rows(lakehouse, table, step, subjects, list(columns), encryptor):
                for column, value in row.items():
                    if value is not None:
                        found.update(dict.fromkeys(_scrubbable(str(value), columns[column])))
    return list(found)


def _subject_rows(
    lakehouse: Lakehouse,
    table: str,
    step: ErasureStep,
    subjects: list[Subject],
    columns: list[str],
    encryptor: Encryptor | None,
) -> list[dict[str, Any]]:
    """The distinct values of `columns` in the subjects' rows of a table, read in clear."""
    from lakemesh.engines import register_revealed

    predicate = _predicate(lakehouse, table, step, subjects)
    data = lakehouse.scan(table)
    present = [c for c in columns if c in data.schema.names]
    if predicate is None or not present:
        return []
    engine = make_engine()
    try:
        register_revealed(engine, table, data, encryptor)
        picked = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in present)
        return engine.query(f"SELECT DISTINCT {picked} FROM {relation(table)} WHERE {predicate}").to_pylist()
    finally:
        engine.close()


def _personal_columns(entry: ProductEntry) -> dict[str, bool]:
    """The product's personal columns, each with whether it holds a name (scrubbed word by word too)."""
    if entry.contract is None:
        return {}
    out = {}
    for c in entry.contract.table().columns:
        tags = {t.lower() for t in c.tags or []}
        if tags & SENSITIVE or str(c.classification or "").lower() in SENSITIVE:
            out[c.name] = "name" in tags or "name" in c.name.lower()
    return out


def _scrubbable(value: str, is_name: bool) -> list[str]:
    words = value.split() if is_name else []
    return [v for v in (value, *words) if len(v) >= MIN_SCRUB_LENGTH]


def _tables(lakehouse: Lakehouse, product_id: str) -> list[str]:
    return [t for t in (product_id, quarantine_id(product_id)) if lakehouse.exists(t)]


def _predicate(lakehouse: Lakehouse, table: str, step: ErasureStep, subjects: list[Subject]) -> str | None:
    """SQL selecting the subjects' rows, valid for both DuckDB and delta-rs; None if the table has no key."""
    schema = lakehouse.dataset(table).schema
    terms = []
    for column in step.columns:
        if column not in schema.names:
            continue
        values = [s.value for s in subjects if s.column == step.key_of.get(column, column)]
        if not values:
            continue
        kind = schema.field(column).type
        if pa.types.is_integer(kind):
            if not all(v.lstrip("-").isdigit() for v in values):
                raise ErasureError(f"{table}.{column} holds integers: {', '.join(values)} cannot match it")
            literals = ", ".join(str(int(v)) for v in values)
        elif is_text(kind):
            literals = ", ".join(lit(v) for v in values)
        else:
            raise ErasureError(f"{table}.{column} is {kind}: a subject key must be a text or integer column")
        terms.append(f"{q(column)} IN ({literals})")
    return " OR ".join(terms) or None


def _count(lakehouse: Lakehouse, step: ErasureStep, subjects: list[Subject]) -> None:
    for table in _tables(lakehouse, step.product_id):
        predicate = _predicate(lakehouse, table, step, subjects)
        if predicate is None:
            continue
        engine = make_engine()
        try:
            engine.register(table, lakehouse.scan(table))
            found = engine.query(f"SELECT count(*) AS n FROM {relation(table)} WHERE {predicate}")
            step.rows[table] = int(found["n"][0].as_py())
        finally:
            engine.close()


def _delete(lakehouse: Lakehouse, step: ErasureStep, subjects: list[Subject]) -> None:
    for table, rows in step.rows.items():
        if rows == 0:
            continue
        predicate = _predicate(lakehouse, table, step, subjects)
        assert predicate is not None
        before = lakehouse.files(table)
        lakehouse.delete(table, predicate, {}, {"lakemesh.erasure": "subject rows deleted"})
        step.bytes_rewritten += sum(size for path, size in lakehouse.files(table).items() if path not in before)


def _rebuild(ws: Workspace, lakehouse: Lakehouse, steps: list[ErasureStep], run: Runner) -> None:
    """Run every erased product's downstream, so aggregates drop the subject and no consumer still needs
    the change feed the purge removes (bronze is not re-ingested: that would read new files)."""
    ids = [s.product_id for s in steps if ws.product(s.product_id).spec.layer is not Layer.BRONZE]
    if not ids:
        return
    before = {s.product_id: lakehouse.files(s.product_id) for s in steps if lakehouse.exists(s.product_id)}
    runs = {r.product_id: r for r in run(ids).runs}
    for step in steps:
        result = runs.get(step.product_id)
        if result is not None and result.error:
            step.error = f"rebuilding failed: {result.error}"
        elif step.product_id in before:
            files = lakehouse.files(step.product_id).items()
            step.bytes_rewritten += sum(n for path, n in files if path not in before[step.product_id])


def _purge(lakehouse: Lakehouse, step: ErasureStep) -> None:
    for table in _tables(lakehouse, step.product_id):
        purged = lakehouse.purge_history(table, "erasure: history before this version removed")
        step.files_removed += purged["files_removed"]
        step.bytes_removed += purged["bytes_removed"]
        step.log_files_removed += purged["log_files_removed"]


def _source_files_holding(ws: Workspace, steps: list[ErasureStep], subjects: list[Subject]) -> list[str]:
    """Workspace source files of erased bronze products that still hold a subject's value: lakemesh does
    not own them, so they are reported for their owners to delete (the suppression list keeps the rows
    from being ingested again meanwhile)."""
    found = []
    for step in steps:
        source = ws.product(step.product_id).spec.build.source
        if not isinstance(source, FileSource):
            continue
        for path in source_files(ws.root, source):
            if _file_holds(path, step.columns, subjects):
                found.append(str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path))
    return found


def _file_holds(path: Path, columns: list[str], subjects: list[Subject]) -> bool:
    values = [s.value for s in subjects if s.column in columns]
    if path.suffix != ".parquet":
        # text formats: the value's bytes anywhere in the file (a raw record may hold it off its column)
        return _bytes_hold(path, [v.encode() for v in values])
    con = make_engine()
    try:
        reader = con.read_parquet([str(path)])
        names = set(con.describe(f"SELECT * FROM {reader}"))
        terms = [f"CAST({q(c)} AS VARCHAR) IN ({', '.join(lit(v) for v in values)})" for c in columns if c in names]
        if not terms:
            return False
        sql = f"SELECT count(*) FROM {reader} WHERE {' OR '.join(terms)}"
        return bool(con.rows(sql)[0][0])
    finally:
        con.close()


def _bytes_hold(path: Path, needles: list[bytes], chunk: int = 1 << 23) -> bool:
    """Whether any needle occurs in the file, read in chunks that overlap by the longest needle."""
    overlap = max((len(n) for n in needles), default=1) - 1
    tail = b""
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            window = tail + block
            if any(n in window for n in needles):
                return True
            tail = window[-overlap:] if overlap else b""
    return False


def suppress(entry: ProductEntry, data: pa.Table, erased: dict[str, set[str]]) -> tuple[pa.Table, int]:
    """`data` without the rows of erased subjects (`erased`: subject column -> pseudonyms), and how many
    went: a source file still holding an erased subject must not bring the subject back."""
    columns = [c for c in sorted(_subject_columns(entry)) if erased.get(c) and c in data.column_names]
    if not columns or data.num_rows == 0:
        return data, 0
    con = make_engine()
    try:
        con.attach("batch", data.select(columns))
        kept = pa.array([True] * data.num_rows, pa.bool_())
        for column in columns:
            text = f"CAST({q(column)} AS VARCHAR)"
            hashes = ", ".join(lit(h) for h in sorted(erased[column]))
            sql = f"SELECT v FROM (SELECT DISTINCT {text} AS v FROM batch) WHERE {pseudonym_sql('v')} IN ({hashes})"
            found = [r[0] for r in con.rows(sql)]
            if found:
                hit = pc.is_in(pc.cast(data[column], pa.string()), pa.array(found, pa.string()))
                kept = pc.and_(kept, pc.invert(pc.fill_null(hit, False)))
    finally:
        con.close()
    out = data.filter(kept)
    return out, data.num_rows - out.num_rows
