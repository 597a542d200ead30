"""Erased subjects as a table of their own, and the catalog's identity.

`erased_subjects` keeps each erased data subject as (column, keyed pseudonym): what later runs skip.
It is backfilled from the `forget` audit records that kept them until now. `catalog_meta` holds the
catalog's random id, which the lakehouse remembers, so a catalog that was lost and silently recreated
is told apart from the one the tables were built with.

Revision ID: 0004
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    erased = op.create_table(
        "erased_subjects",
        sa.Column("subject_column", sa.String(200), primary_key=True),
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
    )
    meta = op.create_table(
        "catalog_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "catalog_id", "value": str(uuid.uuid4())}])
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("details", sa.JSON()),
    )
    query = sa.select(audit.c.at, audit.c.actor, audit.c.details).where(audit.c.action == "forget")
    rows = op.get_bind().execute(query).all()
    seen: dict[tuple[str, str], dict[str, object]] = {}
    for at, actor, details in rows:
        doc = json.loads(details) if isinstance(details, str) else details
        for subject in (doc or {}).get("subjects", []):
            key = (str(subject["column"]), str(subject["pseudonym"]))
            seen.setdefault(key, {"subject_column": key[0], "pseudonym": key[1],
                                  "erased_at": at or datetime.now(UTC), "actor": actor})  # fmt: skip
    if seen:
        op.bulk_insert(erased, list(seen.values()))


def downgrade() -> None:
    op.drop_table("catalog_meta")
    op.drop_table("erased_subjects")
