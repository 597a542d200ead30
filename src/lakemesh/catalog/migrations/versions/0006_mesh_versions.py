"""Mesh versions and tags: one history for the whole mesh.

`mesh_versions` has one row per publication (a run, cdc, forget, retention, restore ...), and
`mesh_version_tables` the table versions of the products it changed; a product's version at mesh version
N is its row with the greatest mesh version <= N. `mesh_tags` names mesh versions; `erased_through` is the
mesh version of an erasure that purged versions the tag pointed at (erasure wins over tags).

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mesh_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
    )
    op.create_table(
        "mesh_version_tables",
        sa.Column("mesh_version", sa.Integer, sa.ForeignKey("mesh_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("product_id", sa.String(200), primary_key=True),
        sa.Column("table_version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_mesh_version_tables_product", "mesh_version_tables", ["product_id", "mesh_version"])
    op.create_table(
        "mesh_tags",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("mesh_version", sa.Integer, sa.ForeignKey("mesh_versions.id"), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_through", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("mesh_tags")
    op.drop_index("ix_mesh_version_tables_product", "mesh_version_tables")
    op.drop_table("mesh_version_tables")
    op.drop_table("mesh_versions")
