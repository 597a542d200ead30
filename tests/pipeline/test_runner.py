"""Building products: bronze ingestion, incremental silver merges, gold partition refreshes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakemesh.pipeline import RunStatus
from lakemesh.synthetic import expected_dirt, write_order_events
from tests.pipeline.conftest import EVENTS, all_orders, held_orders, open_mesh, table_rows

GOLD_CHECK = """
    SELECT CAST(updated_at AS DATE) AS d, count(*) AS c,
           sum(total_amount) FILTER (WHERE status <> 'cancelled') AS r, count(DISTINCT customer_id) AS u
    FROM orders.analytics_orders GROUP BY 1 ORDER BY 1"""
GOLD = (
    "SELECT order_date AS d, orders_count AS c, revenue AS r, unique_customers AS u "
    "FROM orders.daily_sales_summary ORDER BY 1"
)


def _statuses(report: object) -> dict[str, RunStatus]:
    return {r.product_id: r.status for r in report.runs}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_first_run_builds_every_layer(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    report = mesh.run()
    assert report.ok and set(_statuses(report).values()) == {RunStatus.SUCCEEDED}
    events = 4000 + expected_dirt(4000)["duplicates"]
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.order_events") == [{"n": events}]
    # bronze keeps the raw record and where it came from
    [row] = table_rows(mesh, "SELECT _raw, _source_file, _record FROM orders.order_events WHERE _record = 2")
    assert row["_source_file"] == "data/order_events/events-0001.jsonl"
    assert json.loads(str(row["_raw"]))["event_id"] == "EV-0000000000"  # the duplicate of record 1
    # silver: one row per order (events without an order id dropped), statuses standardized
    assert (
        all_orders(mesh) == 2000
        and len(held_orders(mesh)) == {r.product_id: r for r in report.runs}["orders.analytics_orders"].quarantined > 0
    )
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.analytics_orders WHERE status = ' SHIPPED'") == [{"n": 0}]
    assert table_rows(mesh, "SELECT count(*) AS n FROM orders.analytics_orders WHERE status = 'lost'") == [{"n": 0}]
    assert table_rows(mesh, GOLD) == table_rows(mesh, GOLD_CHECK)
    # each run is recorded with its lineage
    runs = mesh.catalog.runs("orders.analytics_orders")
    assert runs[0].status is RunStatus.SUCCEEDED and runs[0].input_versions == {"orders.order_events": [None, 0]}


@pytest.mark.slow
def test_rerun_without_new_data_does_nothing(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    mesh.run()
    versions = {p: mesh.lakehouse.version(p) for p in mesh.workspace.products}
    report = mesh.run()
    assert set(_statuses(report).values()) == {RunStatus.UP_TO_DATE}
    assert {p: mesh.lakehouse.version(p) for p in mesh.workspace.products} == versions


@pytest.mark.slow
def test_new_data_flows_through_incrementally(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    mesh.run()
    # events 3000..4999 are orders 1500..2499: 1500..1999 exist already, 2000..2499 are new
    write_order_events(shop_data / EVENTS / "events-0002.jsonl", 2000, start=3000)
    report = open_mesh(shop_data).run()
    runs = {r.product_id: r for r in report.runs}
    assert runs["customers.customer_records"].status is RunStatus.UP_TO_DATE
    bronze, silver, gold = (
        runs["orders.order_events"],
        runs["orders.analytics_orders"],
        runs["orders.daily_sales_summary"],
    )
    duplicates = sum(1 for i in range(3000, 5000) if i % 331 == 0)
    assert bronze.rows_written == 2000 + duplicates
    assert silver.rows_read == bronze.rows_written  # only the new bronze rows were read
    # 1000 orders changed: 500 new, 500 updated, minus those the gate quarantined
    assert silver.inserted + silver.updated + silver.quarantined == 1000 and silver.inserted <= 500
    assert all_orders(mesh) == 2500
    assert table_rows(mesh, GOLD) == table_rows(mesh, GOLD_CHECK)
    assert silver.input_versions == {"orders.order_events": [0, 1]}
    assert gold.details["affected"] >= 1


@pytest.mark.slow
def test_gold_recomputes_only_the_days_touched(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    mesh.run()
    before = {r["d"]: r for r in table_rows(mesh, GOLD)}
    late = shop_data / EVENTS / "events-late.jsonl"
    late.write_text(
        json.dumps(
            {
                "event_id": "EV-LATE-1",
                "order_id": "ORD-99999999",
                "customer_id": "C000001",
                "status": "paid",
                "total_amount": 10.0,
                "currency": "EUR",
                "items_count": 1,
                "event_ts": "2026-10-05 12:00:00",
            }
        )
        + "\n"
    )
    report = open_mesh(shop_data).run()
    gold = next(r for r in report.runs if r.product_id == "orders.daily_sales_summary")
    assert gold.details["affected"] == 1 and gold.rows_written == 1
    after = {r["d"]: r for r in table_rows(mesh, GOLD)}
    changed = [d for d in after if after[d] != before.get(d)]
    assert [str(d) for d in changed] == ["2026-10-05"]
    assert after[changed[0]]["c"] == before[changed[0]]["c"] + 1  # type: ignore[operator]


@pytest.mark.slow
def test_sequence_by_keeps_the_newest_state(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    mesh.run()
    [current] = table_rows(
        mesh, "SELECT status, updated_at FROM orders.analytics_orders WHERE order_id = 'ORD-00000010'"
    )
    stale = {
        "event_id": "EV-STALE",
        "order_id": "ORD-00000010",
        "customer_id": "C000001",
        "status": "cancelled",
        "total_amount": 1.0,
        "currency": "EUR",
        "items_count": 1,
        "event_ts": "2020-01-01 00:00:00",
    }
    (shop_data / EVENTS / "events-stale.jsonl").write_text(json.dumps(stale) + "\n")
    open_mesh(shop_data).run()
    assert table_rows(
        mesh, "SELECT status, updated_at FROM orders.analytics_orders WHERE order_id = 'ORD-00000010'"
    ) == [current]


def test_run_one_product_builds_only_it(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    report = mesh.run(["customers.customer_records"])
    assert [r.product_id for r in report.runs] == ["customers.customer_records"]
    assert not mesh.lakehouse.exists("orders.order_events")


def test_parquet_raw_keeps_only_what_typing_lost(shop: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    product = shop / "domains/orders/products/order_events/product.yaml"
    product.write_text(product.read_text().replace("*.jsonl", "*.parquet").replace("format: jsonl", "format: parquet"))
    base = {
        "event_id": ["E1", "E2"],
        "order_id": ["ORD-00000001", "ORD-00000002"],
        "customer_id": ["C1", "C2"],
        "status": ["paid", "paid"],
        "event_ts": ["2026-10-01 00:00:00", "2026-10-01 00:00:00"],
    }
    folder = shop / EVENTS
    folder.mkdir(parents=True)
    pq.write_table(pa.table({**base, "total_amount": ["12.50", "twelve"]}), folder / "a.parquet")
    pq.write_table(pa.table({**base, "event_id": ["E3", "E4"], "coupon": ["X", None]}), folder / "b.parquet")
    mesh = open_mesh(shop)
    assert mesh.run(["orders.order_events"]).ok
    rows = {
        r["event_id"]: r
        for r in table_rows(mesh, "SELECT event_id, total_amount, _raw, _record FROM orders.order_events")
    }
    assert rows["E1"]["_raw"] is None and str(rows["E1"]["total_amount"]) == "12.50"  # nothing lost
    assert rows["E2"]["total_amount"] is None and json.loads(str(rows["E2"]["_raw"]))["total_amount"] == "twelve"
    assert json.loads(str(rows["E3"]["_raw"]))["coupon"] == "X"  # a column the contract lacks
    assert [rows[e]["_record"] for e in ("E1", "E2", "E3", "E4")] == [1, 2, 1, 2]
