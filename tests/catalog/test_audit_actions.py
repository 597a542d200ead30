"""Audit actions are one closed enum; the catalog stores their plain string values."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from lakemesh.catalog import AuditAction, Catalog
from lakemesh.catalog import tables as t
from lakemesh.errors import LakemeshError
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings


def _stored_actions(catalog: Catalog) -> list[str]:
    with catalog.engine.connect() as conn:
        return list(conn.execute(select(t.audit_log.c.action).order_by(t.audit_log.c.id)).scalars())


def test_actions_are_stored_as_their_string_values(tmp_path: Path) -> None:
    catalog = Catalog.connect(f"sqlite:///{tmp_path / 'catalog.db'}")
    catalog.audit("ana@example.com", AuditAction.FORGET_DONE, None, True, {"rows": 3})
    catalog.audit("ana@example.com", AuditAction.QUERY, "orders.orders", False, {})
    stored = _stored_actions(catalog)
    assert stored == ["forget.done", "query"] and all(type(a) is str for a in stored)
    [entry] = catalog.audit_entries(AuditAction.QUERY)
    assert entry.target == "orders.orders" and entry.allowed is False and entry.action is AuditAction.QUERY


def test_an_action_outside_the_enum_is_refused(tmp_path: Path) -> None:
    catalog = Catalog.connect(f"sqlite:///{tmp_path / 'catalog.db'}")
    with pytest.raises(ValueError, match="not a valid AuditAction"):
        catalog.audit("ana@example.com", "forgot", None, True, {})  # type: ignore[arg-type]
    assert _stored_actions(catalog) == []


def test_the_facade_audits_with_enum_values(shop: Path) -> None:
    with Mesh.open(shop, Settings(user="ana@company.com")) as mesh:
        with pytest.raises(LakemeshError, match="customer_records"):  # analysts are not granted it
            mesh.query("SELECT count(*) FROM customers.customer_records", principal="ana@company.com")
        [entry] = mesh.catalog.audit_entries(AuditAction.QUERY)
        assert (entry.action, entry.allowed) == (AuditAction.QUERY, False)
        assert _stored_actions(mesh.catalog) == [AuditAction.QUERY.value]
