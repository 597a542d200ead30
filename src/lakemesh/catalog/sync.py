"""Registering a workspace in the catalog: every changed spec becomes a new version, history kept.

All writes happen in the caller's transaction, so a failed sync leaves the catalog as it was.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, delete, insert, select, update

from lakemesh.catalog import tables as t
from lakemesh.catalog.records import ChangeKind, EntityKind
from lakemesh.spec.diff import diff_contracts
from lakemesh.spec.odcs import Contract, contract_from_document
from lakemesh.spec.workspace import DomainEntry, ProductEntry, Workspace


class EntityChange(BaseModel):
    """What a sync did to one domain, product or contract."""

    model_config = ConfigDict(frozen=True)

    kind: EntityKind
    id: str
    change: ChangeKind
    version: int
    summary: tuple[str, ...] = ()


class SyncReport(BaseModel):
    """Every entity a sync looked at, changed or not (`catalog sync --json`)."""

    changes: list[EntityChange] = Field(default_factory=list)

    def count(self, change: ChangeKind | str, kind: EntityKind | str | None = None) -> int:
        return sum(1 for c in self.changes if c.change == change and (kind is None or c.kind == kind))

    @property
    def changed(self) -> list[EntityChange]:
        return [c for c in self.changes if c.change is not ChangeKind.UNCHANGED]


def content_hash(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def flat_diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable field-level differences between two JSON documents."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{sub} removed")
            elif key not in old:
                out.append(f"{sub} added: {json.dumps(new[key], default=str)[:80]}")
            else:
                out.extend(flat_diff(old[key], new[key], sub))
        return out
    if old != new:
        return [f"{path}: {json.dumps(old, default=str)[:60]} -> {json.dumps(new, default=str)[:60]}"]
    return []


class WorkspaceSync:
    """One sync of one workspace, writing through one connection."""

    def __init__(self, conn: Connection, actor: str, now: datetime) -> None:
        self.conn = conn
        self.actor = actor
        self.now = now
        self.report = SyncReport()

    def run(self, ws: Workspace) -> SyncReport:
        for domain in ws.domains.values():
            self.domain(domain)
        for contract in ws.contracts.values():
            owner = next(
                (p.id for p in ws.products.values() if contract.id in {c.id for c in p.contracts.values()}),
                None,
            )
            self.contract(contract, owner)
        for product in ws.products.values():
            self.product(product)
        self.remove_missing(t.products, "product", t.products.c.id, set(ws.products))
        self.remove_missing(t.contracts, "contract", t.contracts.c.id, set(ws.contracts))
        self.remove_missing(t.domains, "domain", t.domains.c.name, set(ws.domains))
        return self.report

    def _current(self, table: Table, key_col: Any, key: str) -> Any:
        return self.conn.execute(select(table).where(key_col == key)).mappings().first()

    def _record(self, kind: str, key: str, change: str, version: int, summary: list[str], **cols: Any) -> None:
        self.conn.execute(
            insert(t.spec_versions).values(
                kind=kind,
                entity_id=key,
                version=version,
                change=change,
                summary=summary,
                changed_by=self.actor,
                changed_at=self.now,
                **cols,
            )
        )
        entity = EntityChange(
            kind=EntityKind(kind), id=key, change=ChangeKind(change), version=version, summary=tuple(summary)
        )
        self.report.changes.append(entity)

    def _upsert(
        self,
        table: Table,
        key_col: Any,
        kind: str,
        key: str,
        document: Any,
        values: dict[str, Any],
        summarize: Any,
        semver: str | None = None,
    ) -> bool:
        """Insert or update one entity; returns True when it changed."""
        digest = content_hash(document)
        current = self._current(table, key_col, key)
        if current is not None and current["content_hash"] == digest and current["removed_at"] is None:
            unchanged = EntityChange(
                kind=EntityKind(kind), id=key, change=ChangeKind.UNCHANGED, version=current["version"]
            )
            self.report.changes.append(unchanged)
            return False
        row = {
            **values,
            "document": document,
            "content_hash": digest,
            "updated_at": self.now,
            "removed_at": None,
        }
        if current is None:
            version, change, summary = 1, "created", ["registered"]
            if table is t.products:
                row["created_at"] = self.now
            self.conn.execute(insert(table).values({key_col.name: key, **row, "version": version}))
        else:
            version = current["version"] + 1
            restored = current["removed_at"] is not None
            change = "created" if restored else "updated"
            summary = ["restored"] if restored else summarize(current["document"], document)
            self.conn.execute(update(table).where(key_col == key).values(**row, version=version))
        self._record(kind, key, change, version, summary, document=document, content_hash=digest, semver=semver)
        return True

    def domain(self, entry: DomainEntry) -> None:
        spec = entry.spec
        doc = spec.model_dump(mode="json", by_alias=True)
        values = {
            "description": spec.description,
            "owner": spec.owner,
            "team": spec.team,
            "tags": list(spec.tags),
        }
        self._upsert(t.domains, t.domains.c.name, "domain", spec.name, doc, values, flat_diff)

    def contract(self, contract: Contract, product_id: str | None) -> None:
        values = {
            "name": contract.name,
            "semver": contract.version,
            "api_version": contract.api_version,
            "product_id": product_id,
        }
        changed = self._upsert(
            t.contracts,
            t.contracts.c.id,
            "contract",
            contract.id,
            contract.raw,
            values,
            _contract_summary,
            semver=contract.version,
        )
        if changed:
            self._columns(contract)

    def _columns(self, contract: Contract) -> None:
        self.conn.execute(delete(t.columns).where(t.columns.c.contract_id == contract.id))
        rows = [
            {
                "contract_id": contract.id,
                "table_name": table.name,
                "name": col.name,
                "position": i,
                "logical_type": col.logical_type,
                "physical_type": col.physical_type,
                "description": col.description,
                "classification": col.classification,
                "tags": list(col.tags),
                "required": col.required,
                "primary_key": col.primary_key,
            }
            for table in contract.tables
            for i, col in enumerate(table.columns)
        ]
        if rows:
            self.conn.execute(insert(t.columns), rows)

    def product(self, entry: ProductEntry) -> None:
        spec = entry.spec
        doc = spec.model_dump(mode="json", by_alias=True)
        contract = entry.contract
        values = {
            "domain": spec.domain,
            "name": spec.name,
            "description": spec.description.purpose,
            "owner": spec.owner,
            "layer": spec.layer.value,
            "status": spec.status.value,
            "spec_version": spec.version,
            "tags": list(spec.tags),
            "contract_id": contract.id if contract else None,
        }
        changed = self._upsert(t.products, t.products.c.id, "product", spec.id, doc, values, flat_diff, spec.version)
        contract_changed = contract is not None and any(
            c.kind is EntityKind.CONTRACT and c.id == contract.id and c.change is not ChangeKind.UNCHANGED
            for c in self.report.changes
        )
        if changed or contract_changed:
            self._search_entry(entry)

    def _search_entry(self, entry: ProductEntry) -> None:
        spec = entry.spec
        cols = [c for contract in entry.contracts.values() for table in contract.tables for c in table.columns]
        desc = " ".join(filter(None, (spec.description.purpose, spec.description.usage, spec.description.limitations)))
        pid = spec.id
        self.conn.execute(delete(t.product_tags).where(t.product_tags.c.product_id == pid))
        if spec.tags:
            self.conn.execute(
                insert(t.product_tags), [{"product_id": pid, "tag": tag} for tag in sorted(set(spec.tags))]
            )
        self.conn.execute(delete(t.product_search).where(t.product_search.c.product_id == pid))
        self.conn.execute(
            insert(t.product_search).values(
                product_id=pid,
                name=f"{pid} {spec.name}",
                description=desc,
                tags=" ".join(spec.tags),
                column_names=" ".join(c.name for c in cols),
                column_docs=" ".join(c.description or "" for c in cols),
                domain=spec.domain,
                owner=spec.owner or "",
            )
        )

    def remove_missing(self, table: Table, kind: str, key_col: Any, present: set[str]) -> None:
        rows = self.conn.execute(select(key_col, table.c.version).where(table.c.removed_at.is_(None))).all()
        for key, version in rows:
            if key in present:
                continue
            self.conn.execute(update(table).where(key_col == key).values(removed_at=self.now, version=version + 1))
            if table is t.products:
                self.conn.execute(delete(t.product_search).where(t.product_search.c.product_id == key))
            self._record(kind, key, "removed", version + 1, ["removed from the workspace"])


def _contract_summary(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> list[str]:
    old, _ = contract_from_document(old_doc, "catalog")
    new, _ = contract_from_document(new_doc, "workspace")
    if old is None or new is None:
        return flat_diff(old_doc, new_doc)
    changes = diff_contracts(old, new).changes
    return [f"{'BREAKING ' if c.breaking else ''}{c.kind}: {c.path} ({c.detail})" for c in changes] or flat_diff(
        old_doc, new_doc
    )
