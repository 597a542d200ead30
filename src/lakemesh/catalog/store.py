"""The catalog: products, contracts and domains with their version history, search, runs and audit."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, func, insert, or_, select, true, update
from sqlalchemy.exc import SQLAlchemyError

from lakemesh.catalog import tables as t
from lakemesh.catalog.audit import AuditAction
from lakemesh.catalog.engine import check_connection, current_revision, display_url, make_engine, migrate
from lakemesh.catalog.records import (
    AuditRecord,
    ColumnRecord,
    ProductRecord,
    ProductRow,
    QualityRecord,
    RunRecord,
    VersionRecord,
)
from lakemesh.catalog.search import SearchHit, search_products
from lakemesh.catalog.sync import SyncReport, WorkspaceSync
from lakemesh.errors import CatalogError, NotFoundError
from lakemesh.spec.problems import did_you_mean
from lakemesh.spec.workspace import Workspace


class Catalog:
    """The catalog database behind one SQLAlchemy engine (SQLite or PostgreSQL, same code)."""

    def __init__(self, engine: Engine, url: str | None = None) -> None:
        self.engine = engine
        self.url = display_url(url or engine.url.render_as_string(hide_password=False))

    @classmethod
    def connect(cls, url: str, create: bool = True) -> Catalog:
        """Open the catalog at `url`, upgrading its schema in place (creating it when `create`)."""
        engine = make_engine(url, create=create)
        check_connection(engine, url)
        migrate(engine)
        return cls(engine, url)

    @property
    def revision(self) -> str | None:
        return current_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def sync(self, workspace: Workspace, actor: str) -> SyncReport:
        """Register every domain, product and contract; one transaction, all or nothing."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                return WorkspaceSync(conn, actor, now).run(workspace)
        except SQLAlchemyError as exc:
            raise CatalogError(f"catalog sync to {self.url} failed, nothing was changed: {exc}") from exc

    def search(
        self,
        query: str,
        domain: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        with self.engine.connect() as conn:
            return search_products(conn, query, domain=domain, tag=tag, owner=owner, limit=limit)

    def product_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.products.c.id).where(t.products.c.removed_at.is_(None)))
            return [r[0] for r in rows]

    def product(self, product_id: str) -> ProductRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.products).where(t.products.c.id == product_id)).mappings().first()
            if row is None:
                hint = did_you_mean(product_id, self.product_ids())
                raise NotFoundError(f"no product '{product_id}' in the catalog{hint}", "run `lakemesh catalog sync`")
            contract = None
            columns: list[ColumnRecord] = []
            if row["contract_id"]:
                contract = self.contract_document(row["contract_id"])
                cols = (
                    select(t.columns)
                    .where(t.columns.c.contract_id == row["contract_id"])
                    .order_by(t.columns.c.table_name, t.columns.c.position)
                )
                columns = [ColumnRecord.model_validate(c) for c in conn.execute(cols).mappings()]
        return ProductRecord(
            product=ProductRow.model_validate(row),
            contract=contract,
            columns=columns,
            versions=self.versions("product", product_id),
            quality=self.latest_quality(product_id),
        )

    def contract_document(self, contract_id: str) -> dict[str, Any] | None:
        """The current registered document of a contract, or None."""
        with self.engine.connect() as conn:
            doc = conn.execute(
                select(t.contracts.c.document).where(
                    t.contracts.c.id == contract_id, t.contracts.c.removed_at.is_(None)
                )
            ).scalar()
        return doc if isinstance(doc, dict) else None

    def versions(self, kind: str, entity_id: str) -> list[VersionRecord]:
        """Every version of one entity, newest first."""
        q = (
            select(t.spec_versions)
            .where(t.spec_versions.c.kind == kind, t.spec_versions.c.entity_id == entity_id)
            .order_by(t.spec_versions.c.version.desc())
        )
        with self.engine.connect() as conn:
            return [VersionRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def record_run(self, row: dict[str, Any], inputs: list[str]) -> None:
        """A pipeline run of one product, with the table lineage it exercised (inputs -> output)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(insert(t.runs).values(**row))
            if inputs:
                edges = [
                    {
                        "source": src,
                        "target": row["product_id"],
                        "kind": "table",
                        "run_id": row["id"],
                        "recorded_at": now,
                    }
                    for src in inputs
                ]
                conn.execute(insert(t.lineage_edges), edges)

    def record_quality(self, rows: list[dict[str, Any]]) -> None:
        """Check results (and computed metrics, `metric.*`) of one quality check or gate, in one transaction."""
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(t.quality_results), rows)

    def quality_history(self, product_id: str, check: str | None = None, limit: int = 1000) -> list[QualityRecord]:
        """Recorded results of a product's checks (one check when named), newest first."""
        q = select(t.quality_results).where(t.quality_results.c.product_id == product_id)
        if check is not None:
            q = q.where(t.quality_results.c.check_name == check)
        q = q.order_by(t.quality_results.c.checked_at.desc(), t.quality_results.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [QualityRecord.from_row(r) for r in conn.execute(q).mappings()]

    def latest_quality(self, product_id: str) -> list[QualityRecord]:
        """The results of the product's most recent check or gate."""
        newest = (
            select(t.quality_results.c.checked_at)
            .where(t.quality_results.c.product_id == product_id)
            .order_by(t.quality_results.c.checked_at.desc())
            .limit(1)
        ).scalar_subquery()
        q = (
            select(t.quality_results)
            .where(t.quality_results.c.product_id == product_id, t.quality_results.c.checked_at == newest)
            .order_by(t.quality_results.c.id)
        )
        with self.engine.connect() as conn:
            return [QualityRecord.from_row(r) for r in conn.execute(q).mappings()]

    def runs(self, product_id: str, limit: int = 20) -> list[RunRecord]:
        """The latest runs of a product, newest first."""
        q = select(t.runs).where(t.runs.c.product_id == product_id).order_by(t.runs.c.started_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [RunRecord.model_validate(r) for r in conn.execute(q).mappings()]

    def audit(
        self, actor: str, action: AuditAction, target: str | None, allowed: bool, details: dict[str, Any]
    ) -> None:
        """Record one action (a closed set: AuditAction, stored as its string value) by `actor`."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.audit_log).values(
                    at=datetime.now(UTC),
                    actor=actor,
                    action=AuditAction(action).value,
                    target=target,
                    allowed=allowed,
                    details=details,
                )
            )

    def audit_entries(self, action: AuditAction, limit: int | None = None) -> list[AuditRecord]:
        """Audit records of one action (`forget`, `query`, ...), newest first."""
        q = (
            select(t.audit_log)
            .where(t.audit_log.c.action == AuditAction(action).value)
            .order_by(t.audit_log.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [AuditRecord.model_validate(r) for r in conn.execute(q).mappings()]

    @property
    def catalog_id(self) -> str:
        """This catalog's random id, made when it was created: the lakehouse remembers it."""
        with self.engine.connect() as conn:
            value = conn.execute(select(t.catalog_meta.c.value).where(t.catalog_meta.c.key == "catalog_id")).scalar()
        if value is None:
            raise CatalogError(f"the catalog at {self.url} has no id", "it was altered by hand: restore it")
        return str(value)

    def is_blank(self) -> bool:
        """Whether the catalog has recorded nothing yet: no run, no audit entry, no erased subject."""
        with self.engine.connect() as conn:
            return all(
                conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
                for table in (t.runs, t.audit_log, t.erased_subjects)
            )

    def record_erasures(self, subjects: list[tuple[str, str]], actor: str) -> int:
        """Keep erased subjects as (column, pseudonym), once each; returns how many were new."""
        known = {(c, p) for c, names in self.erased_subjects().items() for p in names}
        new = [{"subject_column": c, "pseudonym": p, "erased_at": datetime.now(UTC), "actor": actor}
               for c, p in dict.fromkeys(subjects) if (c, p) not in known]  # fmt: skip
        if new:
            with self.engine.begin() as conn:
                conn.execute(insert(t.erased_subjects), new)
        return len(new)

    def erased_subjects(self) -> dict[str, set[str]]:
        """Every erased subject: subject column -> pseudonyms."""
        out: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            for column, name in conn.execute(select(t.erased_subjects.c.subject_column, t.erased_subjects.c.pseudonym)):
                out.setdefault(column, set()).add(name)
        return out

    def scrub(self, values: list[str]) -> int:
        """Replace the values (any case, as whole words) wherever the catalog recorded them inside text
        (the SQL of audited queries, observed values of checks, run errors and details) with `[erased]`,
        then compact the database so the old bytes leave its files; returns how many records changed.
        Erasure records themselves are left alone: they hold pseudonyms, which later runs rely on."""
        values = sorted({v for v in values if v}, key=len, reverse=True)  # the longest match first
        if not values:
            return 0
        pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(v)}(?![\w-])" for v in values), re.IGNORECASE)
        # JSON documents are stored as text with non-ASCII characters escaped: look for both spellings
        needles = sorted({n.lower() for v in values for n in (v, json.dumps(v)[1:-1])})
        changed = 0
        with self.engine.begin() as conn:
            audited = t.audit_log.c.action.not_like("forget%")
            for table, column, scope in (
                (t.audit_log, t.audit_log.c.details, audited),
                (t.quality_results, t.quality_results.c.observed, true()),
                (t.runs, t.runs.c.details, true()),
                (t.runs, t.runs.c.error, true()),
            ):
                text = func.lower(cast(column, Text))
                hit = or_(*(text.contains(n, autoescape=True) for n in needles))
                for key, document in conn.execute(select(table.c.id, column).where(hit, scope)).all():
                    cleaned = _replace_in_strings(document, pattern)
                    if cleaned != document:
                        conn.execute(update(table).where(table.c.id == key).values({column.name: cleaned}))
                        changed += 1
        if changed:
            self.compact()
        return changed

    def compact(self) -> None:
        """Rewrite the database without free pages or dead rows, which would still hold bytes of changed
        or deleted records: SQLite's VACUUM plus a truncated write-ahead log; PostgreSQL's VACUUM."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("VACUUM")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                for table in (t.audit_log, t.quality_results, t.runs):
                    conn.exec_driver_sql(f"VACUUM {table.name}")

    def counts(self) -> dict[str, int]:
        """How many live domains, products, contracts and versions the catalog holds."""
        with self.engine.connect() as conn:
            out = {}
            for name, table in (("domains", t.domains), ("products", t.products), ("contracts", t.contracts)):
                out[name] = conn.execute(
                    select(func.count()).select_from(table).where(table.c.removed_at.is_(None))
                ).scalar_one()
            out["versions"] = conn.execute(select(func.count()).select_from(t.spec_versions)).scalar_one()
        return out


def _replace_in_strings(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` (decoded JSON) with every match of `pattern` inside its strings replaced by `[erased]`."""
    if isinstance(value, str):
        return pattern.sub("[erased]", value)
    if isinstance(value, list):
        return [_replace_in_strings(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _replace_in_strings(v, pattern) for k, v in value.items()}
    return value
