"""Lineage not derived from SQL: bronze from its source (files, PostgreSQL CDC), Python transforms as
declared (or product-level with a warning), products applied by column name (CDC silver)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.lineage.columns import product_lineage
from lakemesh.lineage.model import EdgeSubtype, Granularity, SourceKind
from lakemesh.spec.workspace import load_workspace
from tests.cdc.conftest import write_workspace

S = EdgeSubtype
SUMMARY = "domains/orders/products/daily_sales_summary"


def python_summary(shop: Path, lineage: str = "") -> None:
    """The example's gold product as a Python transform, declaring `lineage` (YAML under transform:)."""
    (shop / SUMMARY / "build.py").write_text("def summary(inputs):\n    return inputs['orders.analytics_orders']\n")
    product = shop / SUMMARY / "product.yaml"
    product.write_text(
        product.read_text().replace("    sql: transform.sql", f"    python: build.py:summary\n{lineage}")
    )


def test_python_transform_without_declared_lineage_is_product_level(shop: Path) -> None:
    python_summary(shop)
    workspace = load_workspace(shop)
    assert workspace.ok, workspace.problems
    lineage = product_lineage(workspace, workspace.product("orders.daily_sales_summary"))
    assert lineage.granularity is Granularity.PRODUCT and lineage.edges == []
    assert lineage.inputs == ["orders.analytics_orders"]
    (warning,) = lineage.warnings
    assert "order_date, orders_count, revenue, avg_order_value, unique_customers" in warning
    assert "build.transform.lineage" in warning


def test_python_transform_declared_lineage(shop: Path) -> None:
    declared = """    lineage:
      order_date: [orders.analytics_orders.order_date:identity]
      orders_count: [orders.analytics_orders.order_date:group_by]
      revenue: [orders.analytics_orders.total_amount:aggregation, orders.analytics_orders.status:filter]
      avg_order_value: [orders.analytics_orders.total_amount:aggregation]
      unique_customers: [orders.analytics_orders.customer_id:aggregation]
"""
    python_summary(shop, declared)
    workspace = load_workspace(shop)
    lineage = product_lineage(workspace, workspace.product("orders.daily_sales_summary"))
    assert lineage.granularity is Granularity.COLUMN and lineage.warnings == []
    found = {(str(e.source), e.target.column, t.subtype) for e in lineage.edges for t in e.transformations}
    assert ("orders.analytics_orders.status", "revenue", S.FILTER) in found
    assert ("orders.analytics_orders.order_date", "order_date", S.IDENTITY) in found
    assert len(found) == 6


def test_declared_lineage_mistakes_are_named(shop: Path) -> None:
    declared = """    lineage:
      order_date: [orders.analytics_orders.order_day]
      revenue: [orders.nowhere.total_amount, orders.analytics_orders.total_amount:sum]
      not_a_column: [orders.analytics_orders.status]
"""
    python_summary(shop, declared)
    workspace = load_workspace(shop)
    lineage = product_lineage(workspace, workspace.product("orders.daily_sales_summary"))
    assert lineage.granularity is Granularity.PRODUCT and lineage.edges == []
    text = "\n".join(lineage.warnings)
    assert "orders.analytics_orders has no column order_day" in text
    assert "orders.nowhere is not an input port's product" in text
    assert "'sum' is not one of" in text
    assert "names not_a_column, not a column of its contract" in text
    assert "orders.daily_sales_summary.orders_count: no lineage declared" in text


def test_no_declared_lineage_leaves_spec_dumps_and_fingerprints_as_they_were(shop: Path) -> None:
    python_summary(shop)
    entry = load_workspace(shop).product("orders.daily_sales_summary")
    assert "lineage" not in entry.spec.model_dump(mode="json", by_alias=True)["build"]["transform"]
    bare = product_lineage(load_workspace(shop), entry)
    product = shop / SUMMARY / "product.yaml"
    declared = "    lineage:\n      order_date: [orders.analytics_orders.order_date]\n"
    product.write_text(
        product.read_text().replace("    python: build.py:summary\n", f"    python: build.py:summary\n{declared}")
    )
    entry = load_workspace(shop).product("orders.daily_sales_summary")
    assert entry.spec.build.transform is not None and entry.spec.build.transform.lineage
    assert product_lineage(load_workspace(shop), entry).fingerprint != bare.fingerprint  # lineage is versioned


@pytest.mark.parametrize(
    ("url", "namespace"),
    [
        ("postgresql://app:secret@db.internal:6543/shop", "postgres://db.internal:6543/shop"),
        ("postgresql://db.internal/shop", "postgres://db.internal:5432/shop"),
        ("${LINEAGE_TEST_UNSET_URL}", "postgres://unknown"),
    ],
)
def test_cdc_bronze_links_to_the_table_without_credentials(tmp_path: Path, url: str, namespace: str) -> None:
    workspace = load_workspace(write_workspace(tmp_path / "ws", url))
    lineage = product_lineage(workspace, workspace.product("sales.order_changes"))
    (source,) = lineage.sources
    assert (source.kind, source.namespace, source.name) == (SourceKind.POSTGRES, namespace, "public.orders")
    assert "secret" not in lineage.model_dump_json()
    assert {(e.source.product, e.source.column, e.target.column) for e in lineage.edges} == {
        ("public.orders", c, c) for c in ("id", "customer", "amount", "status", "note", "placed_at")
    }
    assert {"op", "after", "_ingested_at"} <= set(lineage.unsourced)


def test_cdc_silver_applies_columns_by_name(tmp_path: Path) -> None:
    workspace = load_workspace(write_workspace(tmp_path / "ws", "postgresql://db/shop", deletes="soft"))
    lineage = product_lineage(workspace, workspace.product("sales.orders"))
    assert lineage.granularity is Granularity.COLUMN, lineage.warnings
    found = {(e.source.column, e.target.column, t.subtype) for e in lineage.edges for t in e.transformations}
    assert ("amount", "amount", S.IDENTITY) in found
    assert {f for f in found if f[1] == "deleted_at"} == {
        ("source_ts_ms", "deleted_at", S.TRANSFORMATION),
        ("op", "deleted_at", S.CONDITIONAL),
    }
