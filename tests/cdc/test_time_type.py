"""A contract column of logical type `time`: stored as its ISO text (Delta has no TIME), read back as a TIME."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.lakehouse import is_text
from tests.cdc.conftest import open_mesh, sql, write_workspace
from tests.cli.test_cli import run

pytestmark = pytest.mark.postgres
BRONZE, SILVER = "sales.order_changes", "sales.orders"
READY = "      - {name: ready, logicalType: time, physicalType: TIME}\n"


def test_a_time_column_through_logical_replication_into_silver_and_out(tmp_path: Path, source_db: str) -> None:
    sql(source_db, "ALTER TABLE orders ADD COLUMN ready time", "UPDATE orders SET ready = '08:30' WHERE id <= 2")
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    for name in ("order_changes", "orders"):
        contract = root / f"domains/sales/products/{name}/contract.yaml"
        contract.write_text(contract.read_text() + READY)
    assert open_mesh(root).run().ok  # the snapshot's times
    sql(
        source_db,
        "UPDATE orders SET ready = '12:34:56.789012' WHERE id = 2",
        "INSERT INTO orders (id, customer, ready) VALUES (500, 'T', '23:59:59.5')",
    )
    report = open_mesh(root).run()  # the stream's times (pgoutput text)
    assert report.ok, [r.error for r in report.runs]
    rows = open_mesh(root).query(f"SELECT id, ready FROM {SILVER} WHERE ready IS NOT NULL ORDER BY ready").to_pylist()
    assert rows == [
        {"id": 1, "ready": time(8, 30)},
        {"id": 2, "ready": time(12, 34, 56, 789012)},
        {"id": 500, "ready": time(23, 59, 59, 500000)},
    ]
    code, out = run(
        "-w",
        str(root),
        "query",
        f"SELECT id, ready + INTERVAL 1 HOUR AS later FROM {SILVER} WHERE ready > TIME '12:00' ORDER BY id",
    )
    assert code == 0 and "13:34:56.789012" in out and "00:59:59.5" in out, out
    stored = pa.schema(open_mesh(root).lakehouse.table(SILVER).schema().to_arrow()).field("ready").type
    assert is_text(stored)  # Delta holds the text


def test_a_time_column_of_a_file_bronze_product_and_a_parquet_file_typed_time(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run("init", "shop", "--path", str(root), "--domain", "shop", "--product", "hours")[0] == 0
    contract = root / "domains/shop/products/hours/contract.yaml"
    opens = "      - {name: opens, logicalType: time, physicalType: TIME}\n"
    contract.write_text(contract.read_text().replace("slaProperties:", opens + "slaProperties:"))
    data = root / "data/hours"
    data.mkdir(parents=True, exist_ok=True)
    (data / "a.csv").write_text(
        "id,created_at,amount,opens\na,2026-01-01 00:00:00,1,09:00\nb,2026-01-01 00:00:00,2,17:30:15.25\n"
    )
    import duckdb

    duckdb.sql(  # a Parquet file whose column is already a TIME: still stored as its text
        "COPY (SELECT 'c' AS id, TIMESTAMP '2026-01-01' AS created_at, 3.0 AS amount, TIME '06:15' AS opens) "
        f"TO '{root / 'data/hours/c.parquet'}'"
    )
    product = root / "domains/shop/products/hours/product.yaml"
    product.write_text(product.read_text().replace("path: data/hours/*.csv\n    format: csv", "path: data/hours/*"))
    report = open_mesh(root).run()
    assert report.ok, [r.error for r in report.runs]
    rows = open_mesh(root).query("SELECT id, opens FROM shop.hours ORDER BY opens").to_pylist()
    assert rows == [
        {"id": "c", "opens": time(6, 15)},
        {"id": "a", "opens": time(9)},
        {"id": "b", "opens": time(17, 30, 15, 250000)},
    ]
    # a principal reads it as a TIME too, masks and grants applied as to any column
    mesh_yaml = root / "mesh.yaml"
    mesh_yaml.write_text(
        mesh_yaml.read_text()
        + "access:\n  roles: [analyst]\n  principals:\n    - {name: ana@example.com, roles: [analyst]}\n"
        + "  grants:\n    - {products: [shop.hours], roles: [analyst]}\n"
        + "  masks:\n    - {products: [shop.hours], column: id, method: hash}\n"
    )
    governed = open_mesh(root).query("SELECT opens FROM shop.hours ORDER BY opens", principal="ana@example.com")
    assert governed.column("opens").to_pylist() == [time(6, 15), time(9), time(17, 30, 15, 250000)]
