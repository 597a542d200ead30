"""What later layers record: pipeline runs, quality results, lineage edges and the audit log.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("input_versions", Json, nullable=False),
        sa.Column("output_version", sa.BigInteger),
        sa.Column("rows_read", sa.BigInteger),
        sa.Column("rows_written", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("details", Json, nullable=False),
    )
    op.create_table(
        "quality_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="SET NULL"), index=True),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("check_name", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20)),
        sa.Column("observed", Json),
        sa.Column("unexpected_count", sa.BigInteger),
        sa.Column("unexpected_percent", sa.Float),
        sa.Column("table_version", sa.BigInteger),
        _ts("checked_at"),
    )
    op.create_index("ix_quality_results_product_check", "quality_results", ["product_id", "check_name", "checked_at"])
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(300), nullable=False, index=True),
        sa.Column("target", sa.String(300), nullable=False, index=True),
        sa.Column("source_column", sa.String(200)),
        sa.Column("target_column", sa.String(200)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="SET NULL")),
        _ts("recorded_at"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _ts("at"),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(50), nullable=False, index=True),
        sa.Column("target", sa.String(300)),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("details", Json, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "lineage_edges", "quality_results", "runs"):
        op.drop_table(table)
