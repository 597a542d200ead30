"""One guard around every entry point: hold the writer lock, authorize, act, audit.

The CLI, the API server and notebooks reach the mesh through the facade, and every facade method that
changes something (or reads as a principal) goes through `Guard.act`, so a new entry point cannot take the
lock but forget the grant check, or act but leave no audit record. A refusal is audited under the action it
would have been, a failure is audited with its error, a success with what the action reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakemesh.catalog import AuditAction
from lakemesh.errors import LakemeshError
from lakemesh.spec.models import AccessLevel

if TYPE_CHECKING:
    from lakemesh.catalog import Catalog
    from lakemesh.spec.models import Access


@dataclass
class Act:
    """The action under way: what the audit record will say once it is done.

    `action` may change as the work finds its outcome (`forget` ends as done, shredded or failed);
    `audited` False: nothing happened worth recording (a no-op)."""

    actor: str
    action: AuditAction
    target: str | None
    details: dict[str, Any] = field(default_factory=dict)
    audited: bool = True
    _record: Callable[[str, AuditAction, str | None, bool, dict[str, Any]], None] | None = None

    def record(self, target: str | None, details: dict[str, Any], allowed: bool = True) -> None:
        """Audit one part of the action now (retention: one record per product, as each is done); the
        closing record is then not written."""
        if self._record is not None:
            self._record(self.actor, self.action, target, allowed, details)
        self.audited = False


class Guard:
    """Authorize, act and audit for one mesh (its access rules, catalog, actor and writer lock)."""

    def __init__(
        self,
        access: Callable[[], Access],
        catalog: Callable[[], Catalog],
        actor: Callable[[], str],
        writer_lock: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self._access, self._catalog, self._actor, self._writer_lock = access, catalog, actor, writer_lock

    @contextmanager
    def act(
        self,
        action: AuditAction,
        products: Sequence[str],
        level: AccessLevel | None,
        *,
        actor: str | None = None,
        writes: bool = True,
        request: dict[str, Any] | None = None,
        enabled: bool = True,
    ) -> Iterator[Act]:
        """Run the body as `action` on `products`, needing `level` where the mesh enforces grants on changes.

        `writes`: hold the lakehouse's writer lock for the whole action. `request`: audited as soon as the
        action is authorized, before the body runs (an erasure request must outlive a crash in the middle).
        `enabled` False (a dry run): no lock, no grant check, no audit, the body only."""
        who = actor or self._actor()
        if not enabled:
            yield Act(who, action, ",".join(products) or None)
            return
        act = Act(who, action, ",".join(products) or None, _record=self.record)
        lock = self._writer_lock() if writes else nullcontext()
        with lock:
            try:
                self.authorize(who, products, level)
                if request is not None:
                    self.record(who, action, act.target, True, request)
                yield act
            except LakemeshError as exc:
                self._failed(act, exc)
                raise
            if act.audited:
                self.record(who, act.action, act.target, True, act.details)

    def authorize(self, actor: str, products: Sequence[str], level: AccessLevel | None) -> None:
        """Where the mesh enforces grants on changes, `actor` must hold `level` on every product; a refusal
        is audited and raised (AccessDenied). Reads as a principal are checked by the governed query."""
        access = self._access()
        if level is None or level is AccessLevel.READ or not access.enforce_writes:
            return
        from lakemesh.governance.access import authorize

        authorize(access, actor, products, level)  # AccessDenied: audited by `act` as a refusal

    def _failed(self, act: Act, exc: LakemeshError) -> None:
        """Audit a refusal (allowed: false) or a failure (its error); the error itself is what the caller
        sees, so a catalog that cannot take the record only adds a note to it."""
        from lakemesh.governance.access import AccessDenied

        allowed, target, details = True, act.target, {**act.details, "error": exc.message}
        if isinstance(exc, AccessDenied):
            allowed, details = False, {**act.details, "reason": exc.message}
            if exc.decision is not None:
                target = ",".join(exc.decision.products) or None
        try:
            self.record(act.actor, act.action, target, allowed, details)
        except Exception as audit_error:  # noqa: BLE001 - the action's own error must reach the caller
            exc.add_note(f"lakemesh: the failure could not be audited: {audit_error}")

    def record(
        self, actor: str, action: AuditAction, target: str | None, allowed: bool, details: dict[str, Any]
    ) -> None:
        self._catalog().audit(actor, action, target, allowed, details)
