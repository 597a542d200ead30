"""The guard: every changing action of the facade is locked, authorized and audited, refusals and failures too."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lakemesh.catalog import AuditAction, AuditRecord
from lakemesh.catalog.lock import LockTimeoutError
from lakemesh.errors import LakemeshError
from lakemesh.governance.access import AccessDenied
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.spec.models import AccessLevel
from lakemesh.synthetic import write_customers, write_order_events

ENFORCED = """access:
  enforceWrites: true
  roles: [reader, admin]
  principals:
    - {name: reader@company.com, roles: [reader]}
    - {name: root@company.com, roles: [admin]}
  grants:
    - {products: ["*"], roles: [reader]}
    - {products: ["*"], roles: [admin], access: admin}
"""
ORDERS, EVENTS = "orders.analytics_orders", "orders.order_events"


def _enforced(shop: Path) -> Path:
    text = (shop / "mesh.yaml").read_text()
    text = text[: text.index("\naccess:") + 1] + ENFORCED if "\naccess:" in text else text + ENFORCED
    (shop / "mesh.yaml").write_text(text)
    write_order_events(shop / "data/order_events/e.jsonl", 300)
    write_customers(shop / "data/customers/c.csv", 30)
    return shop


def _as(root: Path, who: str) -> Mesh:
    return Mesh.open(root, Settings(user=who))


def _audit(root: Path, action: AuditAction) -> list[AuditRecord]:
    with _as(root, "root@company.com") as mesh:
        return mesh.catalog.audit_entries(action)


# every facade action that changes the lakehouse, called as someone who may only read
CHANGES: list[tuple[AuditAction, Callable[[Mesh], object]]] = [
    (AuditAction.RUN, lambda m: m.run([ORDERS])),
    (AuditAction.RESTORE, lambda m: m.tables.restore(ORDERS, "0")),
    (AuditAction.OPTIMIZE, lambda m: m.tables.optimize(EVENTS)),
    (AuditAction.VACUUM, lambda m: m.tables.vacuum(EVENTS, 0, dry_run=False, force=True)),
    (AuditAction.QUARANTINE_REPROCESS, lambda m: m.quality.reprocess(ORDERS)),
    (AuditAction.RETENTION, lambda m: m.governance.retention()),
    (AuditAction.FORGET, lambda m: m.governance.forget(["customer_id=C000001"])),
    (AuditAction.TAG_CREATE, lambda m: m.versions.tag("readers-tag")),
    (AuditAction.TAG_DELETE, lambda m: m.versions.delete("before-readers")),
    (AuditAction.CDC_RUN, lambda m: m.streams.apply_file(EVENTS, ['{"op": "c", "after": {"id": 1}}\n'], "e.json")),
]


@pytest.mark.slow
def test_no_changing_action_gets_past_the_guard_without_a_grant(shop: Path) -> None:
    root = _enforced(shop)
    assert _as(root, "root@company.com").run().ok
    _as(root, "root@company.com").versions.tag("before-readers")
    before = {p: _as(root, "root@company.com").lakehouse.version(p) for p in (ORDERS, EVENTS)}
    for action, call in CHANGES:
        with pytest.raises(AccessDenied, match=r"reader@company\.com is not granted (write|admin)"):
            call(_as(root, "reader@company.com"))
        refused = [a for a in _audit(root, action) if a.actor == "reader@company.com"]
        assert [a.allowed for a in refused] == [False], action  # one refusal, audited under its action
        assert "not granted" in str(refused[0].details["reason"])
    after = {p: _as(root, "root@company.com").lakehouse.version(p) for p in (ORDERS, EVENTS)}
    assert after == before  # nothing was written by a refused action
    # a dry run changes nothing, so it needs no grant and leaves no record
    assert _as(root, "reader@company.com").tables.vacuum(EVENTS, 0, dry_run=True, force=True) == []
    assert len(_audit(root, AuditAction.VACUUM)) == 1


def test_success_is_audited_once_with_what_the_action_reports(built_shop: Path) -> None:
    with Mesh.open(built_shop, Settings(user="owner@company.com")) as mesh:
        result = mesh.tables.restore(ORDERS, "0")
        [entry] = mesh.catalog.audit_entries(AuditAction.RESTORE)
    assert entry.allowed is True and entry.actor == "owner@company.com" and entry.target == ORDERS
    assert entry.details["to"] == "0" and entry.details["rebuild_on_next_run"] == result.rebuild_on_next_run
    assert result.rebuild_on_next_run  # what the action reported is what the audit keeps


def test_a_failure_is_audited_with_its_error_and_raised(built_shop: Path) -> None:
    with Mesh.open(built_shop, Settings(user="owner@company.com")) as mesh:
        with pytest.raises(LakemeshError, match="99") as raised:
            mesh.tables.restore(ORDERS, "99")  # no such version
        [entry] = mesh.catalog.audit_entries(AuditAction.RESTORE)
    assert entry.allowed is True and entry.details["error"] == raised.value.message


def test_parts_recorded_as_they_happen_replace_the_closing_record(built_shop: Path) -> None:
    with Mesh.open(built_shop, Settings(user="owner@company.com")) as mesh:
        with mesh.guard.act(AuditAction.RETENTION, [ORDERS, EVENTS], AccessLevel.ADMIN) as act:
            act.record(ORDERS, {"rows": 1})
            act.record(EVENTS, {"rows": 2})
        with mesh.guard.act(AuditAction.OPTIMIZE, [ORDERS], AccessLevel.ADMIN) as act:
            act.audited = False  # a no-op
        entries = mesh.catalog.audit_entries(AuditAction.RETENTION)
        assert [(e.target, e.details["rows"]) for e in entries] == [(EVENTS, 2), (ORDERS, 1)]
        assert mesh.catalog.audit_entries(AuditAction.OPTIMIZE) == []


def test_a_writing_action_waits_for_the_writer_lock_and_a_reading_one_does_not(built_shop: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom lakemesh.mesh import Mesh\nmesh = Mesh.open(sys.argv[1])\n"
         "with mesh.writer_lock():\n    print('locked', flush=True)\n    time.sleep(600)\n", str(built_shop)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "LAKEMESH_USER": "other@company.com"},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        mesh = Mesh.open(built_shop, Settings(user="owner@company.com"))
        mesh.lock_wait, mesh.lock_notice = 0.2, lambda _: None
        ran = []
        with pytest.raises(LockTimeoutError), mesh.guard.act(AuditAction.OPTIMIZE, [ORDERS], AccessLevel.ADMIN):
            ran.append("write")
        with mesh.guard.act(AuditAction.QUERY, [ORDERS], AccessLevel.READ, writes=False):
            ran.append("read")
        assert ran == ["read"]  # the body of the locked-out action never ran
    finally:
        holder.kill()
        holder.wait()
