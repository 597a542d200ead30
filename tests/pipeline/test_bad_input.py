"""Bad input fails the product it belongs to, commits nothing, and leaves independent products alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.errors import NotFoundError
from lakemesh.pipeline import RunStatus
from tests.pipeline.conftest import EVENTS, open_mesh, table_rows


def _runs(shop: Path) -> dict[str, object]:
    return {r.product_id: r for r in open_mesh(shop).run().runs}


def test_unparseable_source_file(shop_data: Path) -> None:
    (shop_data / EVENTS / "events-0002.jsonl").write_text('{"event_id": "E1"}\n{this is not json\n')
    runs = _runs(shop_data)
    bronze = runs["orders.order_events"]
    assert bronze.status is RunStatus.FAILED  # type: ignore[attr-defined]
    # one line naming the file and the line (DuckDB's own count is one too high)
    assert bronze.error.endswith("events-0002.jsonl line 2: malformed JSON (unexpected character)")  # type: ignore[attr-defined]
    assert runs["orders.analytics_orders"].status is RunStatus.SKIPPED  # type: ignore[attr-defined]
    assert runs["customers.customer_profiles"].status is RunStatus.SUCCEEDED  # type: ignore[attr-defined]
    mesh = open_mesh(shop_data)
    assert not mesh.lakehouse.exists("orders.order_events")  # the good file was not committed either
    failed = mesh.catalog.runs("orders.order_events")[0]
    assert failed.status is RunStatus.FAILED and "events-0002.jsonl" in (failed.error or "")


def test_sql_syntax_error_names_product_and_file(shop_data: Path) -> None:
    (shop_data / "domains/orders/products/analytics_orders/transform.sql").write_text("SELECT order_id FROM (")
    run = _runs(shop_data)["orders.analytics_orders"]
    assert run.status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert "orders.analytics_orders (analytics_orders/transform.sql): SQL syntax error" in run.error  # type: ignore[attr-defined]


@pytest.mark.slow
def test_unknown_column_and_unknown_input(shop_data: Path) -> None:
    sql = shop_data / "domains/orders/products/daily_sales_summary/transform.sql"
    sql.write_text(sql.read_text().replace("count(DISTINCT customer_id)", "count(DISTINCT customer_key)"))
    run = _runs(shop_data)["orders.daily_sales_summary"]
    assert run.status is RunStatus.FAILED and "customer_key" in run.error  # type: ignore[attr-defined]
    assert "transform.sql" in run.error  # type: ignore[attr-defined]
    sql.write_text("SELECT * FROM orders.order_events")
    run = _runs(shop_data)["orders.daily_sales_summary"]
    assert "reads orders.order_events, which is not an input port" in run.error  # type: ignore[attr-defined]


def test_transform_output_must_match_the_contract(shop_data: Path) -> None:
    sql = shop_data / "domains/orders/products/daily_sales_summary/transform.sql"
    sql.write_text(sql.read_text().replace("count(DISTINCT customer_id) AS unique_customers", "1 AS extra"))
    run = _runs(shop_data)["orders.daily_sales_summary"]
    assert "does not produce contract column(s) unique_customers" in run.error  # type: ignore[attr-defined]
    assert "produces column(s) extra the contract does not declare" in run.error  # type: ignore[attr-defined]


def test_duplicate_keys_from_a_transform(shop_data: Path) -> None:
    sql = shop_data / "domains/orders/products/analytics_orders/transform.sql"
    sql.write_text(
        sql.read_text().replace("QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY event_ts DESC) = 1", "")
    )
    # the contract's primary key is an expectation: its gate refuses the batch before anything is written
    run = _runs(shop_data)["orders.analytics_orders"]
    assert run.status is RunStatus.FAILED and "quality gate failed" in run.error  # type: ignore[attr-defined]
    assert "unique(order_id)" in run.error  # type: ignore[attr-defined]
    assert not open_mesh(shop_data).lakehouse.exists("orders.analytics_orders")
    blocking = [r for r in run.quality.results if r.severity == "error" and r.status.value == "failed"]  # type: ignore[attr-defined]
    assert blocking and all(r.examples for r in blocking if r.unexpected_count)


def test_unknown_product(shop_data: Path) -> None:
    with pytest.raises(NotFoundError, match=r"did you mean 'orders\.order_events'"):
        open_mesh(shop_data).run(["orders.order_event"])


@pytest.mark.slow
def test_schema_evolution(shop_data: Path) -> None:
    open_mesh(shop_data).run()
    contract = shop_data / "domains/orders/products/order_events/contract.yaml"
    text = contract.read_text()
    contract.write_text(
        text.replace(
            "      - name: event_ts\n",
            "      - name: channel\n        logicalType: string\n        physicalType: VARCHAR\n"
            "        classification: internal\n      - name: event_ts\n",
        )
    )
    (shop_data / EVENTS / "events-0002.jsonl").write_text(
        '{"event_id": "EV-N1", "order_id": "ORD-00000001", "customer_id": "C1", "status": "paid", '
        '"channel": "web", "event_ts": "2026-10-02 00:00:00"}\n'
    )
    mesh = open_mesh(shop_data)
    run = next(r for r in mesh.run(["orders.order_events"]).runs)
    assert run.status is RunStatus.SUCCEEDED
    assert table_rows(mesh, "SELECT channel FROM orders.order_events WHERE event_id = 'EV-N1'") == [{"channel": "web"}]
    # a type change is not additive: the run fails naming the column
    contract.write_text(contract.read_text().replace("physicalType: DECIMAL(10,2)", "physicalType: DECIMAL(12,2)", 1))
    (shop_data / EVENTS / "events-0003.jsonl").write_text('{"event_id": "EV-N2", "event_ts": "2026-10-02 00:00:00"}\n')
    run = next(r for r in open_mesh(shop_data).run(["orders.order_events"]).runs)
    assert run.status is RunStatus.FAILED
    assert "column 'total_amount' is decimal(10,2) in the table but decimal(12,2) by the contract" in run.error


def test_an_input_without_a_table(shop_data: Path) -> None:
    report = open_mesh(shop_data).run(["orders.analytics_orders"])
    [run] = report.runs
    assert run.status is RunStatus.FAILED
    assert run.error == "orders.analytics_orders: input orders.order_events has no table yet"
    assert run.hint == "run `lakemesh run orders.order_events`"


def test_a_cycle_stops_the_run_before_anything_is_built(shop_data: Path) -> None:
    events = shop_data / "domains/orders/products/order_events/product.yaml"
    events.write_text(
        events.read_text().replace(
            "layer: bronze\n",
            "layer: bronze\ninputPorts:\n  - name: loop\n    contractId: orders.daily_sales_summary\n",
        )
    )
    from lakemesh.errors import SpecError

    mesh = open_mesh(shop_data)
    with pytest.raises(SpecError, match="cycle"):
        mesh.run()
    assert not mesh.lakehouse.exists("customers.customer_records")
