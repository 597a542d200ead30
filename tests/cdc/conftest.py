"""A shop database on the session's PostgreSQL server and a workspace capturing it: bronze events, silver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings

COLUMNS = """
      - {name: id, logicalType: integer, physicalType: INTEGER, primaryKey: true, primaryKeyPosition: 1, required: true}
      - {name: customer, logicalType: string, physicalType: VARCHAR}
      - {name: amount, logicalType: number, physicalType: "DECIMAL(12,2)"}
      - {name: status, logicalType: string, physicalType: VARCHAR}
      - {name: note, logicalType: string, physicalType: VARCHAR}
      - {name: placed_at, logicalType: timestamp, physicalType: TIMESTAMP}
"""


def _contract(cid: str, extra: str = "") -> str:
    return f"""apiVersion: v3.1.0
kind: DataContract
id: {cid}
name: {cid}
version: 1.0.0
status: active
schema:
  - name: orders
    physicalName: orders
    properties:{COLUMNS}{extra}
"""


def _product(pid: str, layer: str, build: str, inputs: str = "") -> str:
    return f"""apiVersion: v1.0.0
kind: DataProduct
id: {pid}
name: {pid}
domain: sales
status: active
version: 1.0.0
description: {{purpose: CDC test product}}
owner: sales@example.com
layer: {layer}
{inputs}outputPorts:
  - {{name: out, contractId: {pid}, version: 1.0.0}}
build:
{build}"""


def write_workspace(root: Path, url: str, deletes: str = "soft", snapshot: str = "initial") -> Path:
    (root / "domains/sales/products/order_changes").mkdir(parents=True)
    (root / "domains/sales/products/orders").mkdir(parents=True)
    (root / "mesh.yaml").write_text("name: cdc_shop\n")
    (root / "domains/sales/domain.yaml").write_text("name: sales\nowner: sales@example.com\ndescription: Sales\n")
    bronze = root / "domains/sales/products/order_changes"
    (bronze / "product.yaml").write_text(
        _product(
            "sales.order_changes",
            "bronze",
            f"  source:\n    type: postgres-cdc\n    url: {url}\n    tables: [public.orders]\n"
            f"    snapshot: {snapshot}\n    batchSize: 50000\n",
        )
    )
    (bronze / "contract.yaml").write_text(_contract("sales.order_changes"))
    silver = root / "domains/sales/products/orders"
    (silver / "product.yaml").write_text(
        _product(
            "sales.orders",
            "silver",
            f"  refresh:\n    mode: cdc\n    deletes: {deletes}\n",
            "inputPorts:\n  - {name: changes, contractId: sales.order_changes, version: 1.0.0}\n",
        )
    )
    extra = "      - {name: deleted_at, logicalType: timestamp, physicalType: TIMESTAMP}\n" if deletes == "soft" else ""
    (silver / "contract.yaml").write_text(_contract("sales.orders", extra))
    return root


@pytest.fixture
def source_db(postgres_url: str) -> Iterator[str]:
    """A fresh database with an orders table (note is TOASTable) and a few rows."""
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12, 2), status text, "
            "note text, placed_at timestamp)"
        )
        cur.execute(
            "INSERT INTO orders SELECT i, 'C' || i % 7, i * 1.25, 'new', NULL, "
            "TIMESTAMP '2026-01-01' + i * interval '1 minute' FROM generate_series(1, 100) i"
        )
    conn.close()
    yield postgres_url
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    with conn.cursor() as cur:  # slots outlive databases' connections: drop ours so the database can go
        cur.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE database = current_database() AND NOT active"
        )
    conn.close()


def open_mesh(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="tester@example.com"))


def sql(url: str, *statements: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()
