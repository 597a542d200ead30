"""Domains, products, contracts, their columns and the version history of every spec.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("description", sa.Text),
        sa.Column("owner", sa.String(320)),
        sa.Column("team", sa.String(200)),
        sa.Column("tags", Json, nullable=False),
        sa.Column("document", Json, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("domain", sa.String(200), nullable=False, index=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("owner", sa.String(320), index=True),
        sa.Column("layer", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("spec_version", sa.String(50)),
        sa.Column("tags", Json, nullable=False),
        sa.Column("contract_id", sa.String(200)),
        sa.Column("document", Json, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    )
    op.create_table(
        "product_tags",
        sa.Column("product_id", sa.String(200), sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(200), primary_key=True),
    )
    op.create_index("ix_product_tags_tag", "product_tags", ["tag"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(500)),
        sa.Column("semver", sa.String(50), nullable=False),
        sa.Column("api_version", sa.String(20), nullable=False),
        sa.Column("product_id", sa.String(200), index=True),
        sa.Column("document", Json, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    )
    op.create_table(
        "columns",
        sa.Column("contract_id", sa.String(200), sa.ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("logical_type", sa.String(50)),
        sa.Column("physical_type", sa.String(100)),
        sa.Column("description", sa.Text),
        sa.Column("classification", sa.String(50)),
        sa.Column("tags", Json, nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("primary_key", sa.Boolean, nullable=False),
    )
    op.create_table(
        "spec_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("semver", sa.String(50)),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("summary", Json, nullable=False),
        sa.Column("document", Json),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("changed_by", sa.String(320), nullable=False),
        _ts("changed_at"),
        sa.UniqueConstraint("kind", "entity_id", "version", name="uq_spec_versions_entity_version"),
    )


def downgrade() -> None:
    for table in ("spec_versions", "columns", "contracts", "product_tags", "products", "domains"):
        op.drop_table(table)
