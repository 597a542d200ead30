"""Column lineage versioned with the product specs: one row per (product, fingerprint) and its column edges.

Old versions stay (a fingerprint names the spec they were derived from); `current` marks the one queries
read, and indexes on both ends of an edge serve upstream and downstream walks.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
_LISTS = ("inputs", "sources", "warnings", "columns", "product_level", "pii", "masked")


def upgrade() -> None:
    op.create_table(
        "lineage_versions",
        sa.Column("product_id", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("granularity", sa.String(20), nullable=False),
        sa.Column("domain", sa.String(200)),
        sa.Column("layer", sa.String(20)),
        sa.Column("owner", sa.String(320)),
        *(sa.Column(name, Json, nullable=False) for name in _LISTS[:-1]),
        sa.Column("derived_pii", Json),
        sa.Column("masked", Json, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lineage_versions_current", "lineage_versions", ["current", "product_id"])
    op.create_table(
        "lineage_column_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("source_product", sa.String(300), nullable=False),
        sa.Column("source_column", sa.String(200), nullable=False),
        sa.Column("target_product", sa.String(200), nullable=False),
        sa.Column("target_column", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("subtypes", sa.String(200), nullable=False),
        sa.Column("masking", sa.Boolean, nullable=False),
    )
    edges = "lineage_column_edges"
    op.create_index("ix_lineage_column_edges_version", edges, ["product_id", "fingerprint"])
    op.create_index("ix_lineage_column_edges_downstream", edges, ["current", "source_product", "source_column"])
    op.create_index("ix_lineage_column_edges_upstream", edges, ["current", "target_product", "target_column"])


def downgrade() -> None:
    op.drop_table("lineage_column_edges")
    op.drop_table("lineage_versions")
