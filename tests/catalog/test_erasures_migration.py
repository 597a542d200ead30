"""Migration 0004: erased subjects move out of the audit log's JSON into a table; each catalog gets an id."""

from __future__ import annotations

from datetime import UTC, datetime

from lakemesh.catalog import Catalog
from lakemesh.catalog import tables as t
from lakemesh.catalog.engine import make_engine, migrate


def test_erased_subjects_are_backfilled_from_the_audit_log(catalog_url: str) -> None:
    engine = make_engine(catalog_url)
    migrate(engine, "0003")  # a catalog from before the erased_subjects table
    subjects = [{"column": "customer_id", "pseudonym": "ab" * 32}, {"column": "email", "pseudonym": "cd" * 32}]
    with engine.begin() as conn:
        for details in ({"subjects": subjects}, {"subjects": subjects[:1]}):  # the same subject asked twice
            row = {"at": datetime.now(UTC), "actor": "dpo", "action": "forget", "allowed": True, "details": details}
            conn.execute(t.audit_log.insert().values(**row))
        conn.execute(
            t.audit_log.insert().values(
                at=datetime.now(UTC), actor="x", action="forget.done", allowed=True, details={"subjects": []}
            )
        )
    engine.dispose()
    catalog = Catalog.connect(catalog_url)
    assert catalog.erased_subjects() == {"customer_id": {"ab" * 32}, "email": {"cd" * 32}}
    assert catalog.record_erasures([("customer_id", "ab" * 32), ("customer_id", "ef" * 32)], "dpo") == 1
    first = catalog.catalog_id
    assert len(first) == 36 and Catalog.connect(catalog_url).catalog_id == first  # made once, kept
    assert not catalog.is_blank()
