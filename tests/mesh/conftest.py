from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events


@pytest.fixture
def built_shop(shop: Path) -> Path:
    """The example shop with a little data, built twice (so its tables have a version to go back to)."""
    write_order_events(shop / "data/order_events/e.jsonl", 300)
    write_customers(shop / "data/customers/c.csv", 30)
    with Mesh.open(shop, Settings(user="builder@company.com")) as mesh:
        assert mesh.run().ok
        write_order_events(shop / "data/order_events/f.jsonl", 100, start=300)
        assert mesh.run().ok
    return shop
