"""A breaking contract change refused by `validate` (and so by `catalog sync`) names the downstream
columns it breaks, from the catalog's lineage, not only the consuming products."""

from __future__ import annotations

from pathlib import Path

import yaml

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings

CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


def test_a_refused_breaking_change_names_the_columns_it_breaks(shop: Path, catalog_url: str) -> None:
    Mesh.open(shop, Settings(catalog_url=catalog_url)).sync()
    doc = yaml.safe_load((shop / CONTRACT).read_text())
    doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"] if p["name"] != "status"]
    (shop / CONTRACT).write_text(yaml.safe_dump(doc, sort_keys=False))
    report = Mesh.open(shop, Settings(catalog_url=catalog_url)).validate()
    version = next(p for p in report.errors if p.path == "version")
    assert "consumed by orders.daily_sales_summary" in version.message
    assert version.message.endswith(
        "it breaks orders.daily_sales_summary.avg_order_value, orders.daily_sales_summary.revenue"
    )
