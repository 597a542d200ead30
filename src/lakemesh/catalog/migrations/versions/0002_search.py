"""Full-text search over products: FTS5 on SQLite, a weighted tsvector with a GIN index on PostgreSQL.

Backfills the index from the products already registered, so an existing catalog gains search in place.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FIELDS = ("name", "description", "tags", "column_names", "column_docs", "domain", "owner")

SQLITE_DDL = [
    # domain and owner are indexed (weight 0) so that filters narrow the match before it is ranked
    """CREATE VIRTUAL TABLE product_search_fts USING fts5(
        name, description, tags, column_names, column_docs, domain, owner,
        content='product_search_text', content_rowid='rowid', tokenize='porter unicode61', prefix='2 3')""",
    # the `rank` column: bm25 weighted name 10, description 3, tags 6, column names 2, column docs 1, filters 0
    "INSERT INTO product_search_fts(product_search_fts, rank)"
    " VALUES ('rank', 'bm25(10.0, 3.0, 6.0, 2.0, 1.0, 0.0, 0.0)')",
    """CREATE TRIGGER product_search_ai AFTER INSERT ON product_search_text BEGIN
        INSERT INTO product_search_fts(rowid, name, description, tags, column_names, column_docs, domain, owner)
        VALUES (new.rowid, new.name, new.description, new.tags, new.column_names, new.column_docs, new.domain,
                new.owner);
    END""",
    """CREATE TRIGGER product_search_ad AFTER DELETE ON product_search_text BEGIN
        INSERT INTO product_search_fts(product_search_fts, rowid, name, description, tags, column_names, column_docs,
                                       domain, owner)
        VALUES ('delete', old.rowid, old.name, old.description, old.tags, old.column_names, old.column_docs,
                old.domain, old.owner);
    END""",
    """CREATE TRIGGER product_search_au AFTER UPDATE ON product_search_text BEGIN
        INSERT INTO product_search_fts(product_search_fts, rowid, name, description, tags, column_names, column_docs,
                                       domain, owner)
        VALUES ('delete', old.rowid, old.name, old.description, old.tags, old.column_names, old.column_docs,
                old.domain, old.owner);
        INSERT INTO product_search_fts(rowid, name, description, tags, column_names, column_docs, domain, owner)
        VALUES (new.rowid, new.name, new.description, new.tags, new.column_names, new.column_docs, new.domain,
                new.owner);
    END""",
]

# one generated tsvector (with its GIN index) per search tier: name and tags; plus description; everything
_HEAD = "setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', tags), 'A')"
_BODY = f"{_HEAD} || setweight(to_tsvector('english', description), 'B')"
_FULL = (
    f"{_BODY} || setweight(to_tsvector('english', column_names), 'C')"
    " || setweight(to_tsvector('english', column_docs), 'D')"
)
# exact filter values as lexemes (d=domain, o=owner, t=tag), so a filter is one more GIN bitmap to AND
_FILTERS = (
    "array_to_tsvector(ARRAY['d=' || domain, 'o=' || lower(owner)]"
    " || string_to_array('t=' || replace(tags, ' ', ' t='), ' '))"
)
POSTGRES_DDL = [
    stmt
    for column, expression in (
        ("head_vector", _HEAD),
        ("body_vector", _BODY),
        ("search_vector", _FULL),
        ("filter_vector", _FILTERS),
    )
    for stmt in (
        f"ALTER TABLE product_search_text ADD COLUMN {column} tsvector GENERATED ALWAYS AS ({expression}) STORED",
        # a catalog is read far more than written: no pending list for queries to scan
        f"CREATE INDEX ix_product_search_{column} ON product_search_text USING gin ({column}) WITH (fastupdate = off)",
    )
]


def upgrade() -> None:
    op.create_table(
        "product_search_text",
        sa.Column("product_id", sa.String(200), sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
        *(sa.Column(field, sa.Text, nullable=False) for field in FIELDS),
    )
    dialect = op.get_bind().dialect.name
    for ddl in SQLITE_DDL if dialect == "sqlite" else POSTGRES_DDL if dialect == "postgresql" else []:
        op.execute(ddl)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    products = bind.execute(
        sa.text("SELECT id, name, description, tags, contract_id, domain, owner FROM products WHERE removed_at IS NULL")
    ).mappings()
    for row in list(products):
        cols = bind.execute(
            sa.text("SELECT name, coalesce(description, '') AS d FROM columns WHERE contract_id = :c"),
            {"c": row["contract_id"]},
        ).all()
        bind.execute(
            sa.text(
                "INSERT INTO product_search_text"
                " (product_id, name, description, tags, column_names, column_docs, domain, owner)"
                " VALUES (:p, :n, :d, :t, :cn, :cd, :dom, :own)"
            ),
            {
                "p": row["id"],
                "n": f"{row['id']} {row['name']}",
                "d": row["description"] or "",
                "t": " ".join(_tags(row["tags"])),
                "cn": " ".join(c[0] for c in cols),
                "cd": " ".join(c[1] for c in cols),
                "dom": row["domain"],
                "own": row["owner"] or "",
            },
        )


def _tags(value: object) -> list[str]:
    import json

    if isinstance(value, str):
        value = json.loads(value)
    return [str(t) for t in value] if isinstance(value, list) else []


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS product_search_fts")
    op.drop_table("product_search_text")
