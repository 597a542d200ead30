from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events

EVENTS = "data/order_events"


def shop_data_in(shop: Path) -> Path:
    """The workspace at `shop` with a first batch of order events and customer records."""
    write_order_events(shop / EVENTS / "events-0001.jsonl", 4000)
    write_customers(shop / "data/customers/customers-0001.csv", 500)
    return shop


@pytest.fixture
def shop_data(shop: Path) -> Path:
    """The example workspace with a first batch of order events and customer records."""
    return shop_data_in(shop)


def open_mesh(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="tester@example.com"))


def table_rows(mesh: Mesh, sql: str) -> list[dict[str, object]]:
    return mesh.query(sql).to_pylist()


def held_orders(mesh: Mesh) -> set[str]:
    """Order ids in the silver product's quarantine (the example contract quarantines bad statuses/totals)."""
    held = mesh.quality.quarantine("orders.analytics_orders", limit=None)
    return set(held.column("order_id").to_pylist()) if held.num_columns else set()


def all_orders(mesh: Mesh) -> int:
    """Orders accounted for: published in silver or held in its quarantine, each once."""
    published = {str(r["order_id"]) for r in table_rows(mesh, "SELECT order_id FROM orders.analytics_orders")}
    return len(published | held_orders(mesh))
