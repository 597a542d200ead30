"""The catalog's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create and evolve them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _versioned() -> list[Column[object]]:
    """What every versioned spec carries: its document, the document's hash, a version counter, times."""
    return [
        Column("document", Json, nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    ]


domains = Table(
    "domains",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("description", Text),
    Column("owner", String(320)),
    Column("team", String(200)),
    Column("tags", Json, nullable=False),
    *_versioned(),
)

products = Table(
    "products",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("domain", String(200), nullable=False, index=True),
    Column("name", String(500), nullable=False),
    Column("description", Text),
    Column("owner", String(320), index=True),
    Column("layer", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("spec_version", String(50)),
    Column("tags", Json, nullable=False),
    Column("contract_id", String(200)),
    _ts("created_at"),
    *_versioned(),
)

product_tags = Table(
    "product_tags",
    metadata,
    Column("product_id", String(200), ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(200), primary_key=True),
    Index("ix_product_tags_tag", "tag"),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(500)),
    Column("semver", String(50), nullable=False),
    Column("api_version", String(20), nullable=False),
    Column("product_id", String(200), index=True),
    *_versioned(),
)

columns = Table(
    "columns",
    metadata,
    Column("contract_id", String(200), ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True),
    Column("table_name", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("logical_type", String(50)),
    Column("physical_type", String(100)),
    Column("description", Text),
    Column("classification", String(50)),
    Column("tags", Json, nullable=False),
    Column("required", Boolean, nullable=False),
    Column("primary_key", Boolean, nullable=False),
)

spec_versions = Table(
    "spec_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("semver", String(50)),
    Column("change", String(20), nullable=False),
    Column("summary", Json, nullable=False),
    Column("document", Json),
    Column("content_hash", String(64)),
    Column("changed_by", String(320), nullable=False),
    _ts("changed_at"),
    UniqueConstraint("kind", "entity_id", "version", name="uq_spec_versions_entity_version"),
)

product_search = Table(
    "product_search_text",
    metadata,
    Column("product_id", String(200), ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("column_names", Text, nullable=False),
    Column("column_docs", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("owner", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(200), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("status", String(20), nullable=False),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    Column("input_versions", Json, nullable=False),
    Column("output_version", BigInteger),
    Column("rows_read", BigInteger),
    Column("rows_written", BigInteger),
    Column("error", Text),
    Column("details", Json, nullable=False),
)

quality_results = Table(
    "quality_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), ForeignKey("runs.id", ondelete="SET NULL"), index=True),
    Column("product_id", String(200), nullable=False),
    Column("check_name", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(20)),
    Column("observed", Json),
    Column("unexpected_count", BigInteger),
    Column("unexpected_percent", Float),
    Column("table_version", BigInteger),
    _ts("checked_at"),
    Index("ix_quality_results_product_check", "product_id", "check_name", "checked_at"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(300), nullable=False, index=True),
    Column("target", String(300), nullable=False, index=True),
    Column("source_column", String(200)),
    Column("target_column", String(200)),
    Column("kind", String(20), nullable=False),
    Column("run_id", String(36), ForeignKey("runs.id", ondelete="SET NULL")),
    _ts("recorded_at"),
)

lineage_versions = Table(
    "lineage_versions",
    metadata,
    Column("product_id", String(200), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("current", Boolean, nullable=False),
    Column("granularity", String(20), nullable=False),
    Column("domain", String(200)),
    Column("layer", String(20)),
    Column("owner", String(320)),
    Column("inputs", Json, nullable=False),
    Column("sources", Json, nullable=False),
    Column("warnings", Json, nullable=False),
    Column("columns", Json, nullable=False),  # the output columns, in contract order
    Column("product_level", Json, nullable=False),  # output columns whose lineage is only "these inputs"
    Column("pii", Json, nullable=False),  # columns the contract tags pii
    Column("derived_pii", Json),  # those and every column holding a copy of one (set by each refresh)
    Column("masked", Json, nullable=False),  # columns a mask or encryption covers
    _ts("recorded_at"),
    Index("ix_lineage_versions_current", "current", "product_id"),
)

lineage_column_edges = Table(
    "lineage_column_edges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("current", Boolean, nullable=False),
    Column("source_product", String(300), nullable=False),
    Column("source_column", String(200), nullable=False),
    Column("target_product", String(200), nullable=False),
    Column("target_column", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("subtypes", String(200), nullable=False),  # comma-separated, strongest direct first
    Column("masking", Boolean, nullable=False),
    Index("ix_lineage_column_edges_version", "product_id", "fingerprint"),
    Index("ix_lineage_column_edges_downstream", "current", "source_product", "source_column"),
    Index("ix_lineage_column_edges_upstream", "current", "target_product", "target_column"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("at"),
    Column("actor", String(320), nullable=False),
    Column("action", String(50), nullable=False, index=True),
    Column("target", String(300)),
    Column("allowed", Boolean, nullable=False),
    Column("details", Json, nullable=False),
)

erased_subjects = Table(
    "erased_subjects",
    metadata,
    Column("subject_column", String(200), primary_key=True),
    Column("pseudonym", String(64), primary_key=True),
    _ts("erased_at"),
    Column("actor", String(320), nullable=False),
)

catalog_meta = Table(
    "catalog_meta",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

mesh_versions = Table(
    "mesh_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("published_at"),
    Column("action", String(50), nullable=False),
    Column("actor", String(320), nullable=False),
)

mesh_version_tables = Table(
    "mesh_version_tables",
    metadata,
    Column("mesh_version", Integer, ForeignKey("mesh_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", String(200), primary_key=True),
    Column("table_version", BigInteger, nullable=False),
    Index("ix_mesh_version_tables_product", "product_id", "mesh_version"),
)

mesh_tags = Table(
    "mesh_tags",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("mesh_version", Integer, ForeignKey("mesh_versions.id"), nullable=False),
    Column("message", Text),
    Column("actor", String(320), nullable=False),
    _ts("created_at"),
    Column("erased_through", Integer),
)
