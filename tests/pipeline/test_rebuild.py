"""Rebuilds from full reads: after a restore, after a transform change, and when asked (--full-refresh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.pipeline import RunReport, RunStatus
from lakemesh.synthetic import write_order_events
from tests.pipeline.conftest import EVENTS, open_mesh, table_rows

SILVER = "orders.analytics_orders"
GOLD = "orders.daily_sales_summary"
BRONZE = "orders.order_events"
GOLD_SQL = "domains/orders/products/daily_sales_summary/transform.sql"


def _content(root: Path) -> dict[str, list[dict[str, object]]]:
    mesh = open_mesh(root)
    return {
        "silver": table_rows(mesh, f"SELECT * FROM {SILVER} ORDER BY order_id"),
        "gold": table_rows(mesh, f"SELECT * FROM {GOLD} ORDER BY order_date"),
        "quarantine": sorted(
            mesh.quality.quarantine(SILVER, limit=None).column("order_id").to_pylist(), key=lambda v: str(v)
        ),
    }


def _by_product(report: RunReport) -> dict[str, tuple[RunStatus, str | None]]:
    return {r.product_id: (r.status, r.details.get("rebuilt")) for r in report.runs}


@pytest.fixture
def built(shop_data: Path) -> Path:
    assert open_mesh(shop_data).run().ok
    return shop_data


@pytest.mark.slow
def test_a_restored_product_is_rebuilt_and_gets_its_rows_back(built: Path) -> None:
    write_order_events(built / EVENTS / "events-0002.jsonl", 2000, start=4000)
    assert open_mesh(built).run().ok
    before = _content(built)
    mesh = open_mesh(built)
    result = mesh.tables.restore(SILVER, "0")
    assert result.rebuild_on_next_run == [SILVER, GOLD] and result.restored_to == 0
    report = open_mesh(built).run()
    runs = _by_product(report)
    assert report.ok and runs[SILVER] == (RunStatus.SUCCEEDED, "restored to an earlier version")
    assert runs[GOLD][0] is RunStatus.SUCCEEDED and "input orders.analytics_orders was rebuilt" in str(runs[GOLD][1])
    assert _content(built) == before
    # and then it is incremental again
    assert {s for s, _ in _by_product(open_mesh(built).run()).values()} == {RunStatus.UP_TO_DATE}


@pytest.mark.slow
def test_restoring_bronze_before_a_bad_file_drops_its_rows_downstream(built: Path) -> None:
    first = _content(built)
    bad = built / EVENTS / "events-0002.jsonl"
    write_order_events(bad, 2000, start=4000)
    assert open_mesh(built).run().ok
    assert _content(built) != first
    mesh = open_mesh(built)
    assert mesh.tables.restore(BRONZE, "0").rebuild_on_next_run == [SILVER, GOLD]
    bad.unlink()  # the batch was bad: restored away, and removed from the source
    report = open_mesh(built).run()
    runs = _by_product(report)
    assert report.ok and "input orders.order_events was restored" in str(runs[SILVER][1])
    assert _content(built) == first


@pytest.mark.slow
def test_a_restored_bronze_ingests_again_the_files_the_restore_removed(built: Path) -> None:
    write_order_events(built / EVENTS / "events-0002.jsonl", 2000, start=4000)
    assert open_mesh(built).run().ok
    before = _content(built)
    per_file = f"SELECT _source_file AS f, count(*) AS n FROM {BRONZE} GROUP BY 1 ORDER BY 1"
    bronze = table_rows(open_mesh(built), per_file)
    open_mesh(built).tables.restore(BRONZE, "0")
    assert len(table_rows(open_mesh(built), per_file)) == 1
    assert open_mesh(built).run().ok
    assert table_rows(open_mesh(built), per_file) == bronze
    assert _content(built) == before


@pytest.mark.slow
def test_a_changed_transform_rebuilds_without_new_input(built: Path) -> None:
    sql = built / GOLD_SQL
    sql.write_text(sql.read_text().replace("count(*) AS orders_count", "count(*) * 10 AS orders_count"))
    report = open_mesh(built).run()
    runs = _by_product(report)
    assert runs[SILVER] == (RunStatus.UP_TO_DATE, None)
    assert runs[GOLD] == (RunStatus.SUCCEEDED, "transform changed (product spec, transform source or contract)")
    mesh = open_mesh(built)
    expected = table_rows(mesh, f"SELECT order_date, count(*) * 10 AS n FROM {SILVER} GROUP BY 1 ORDER BY 1")
    got = table_rows(mesh, f"SELECT order_date, orders_count AS n FROM {GOLD} ORDER BY 1")
    assert got == expected
    assert _by_product(open_mesh(built).run())[GOLD] == (RunStatus.UP_TO_DATE, None)


@pytest.mark.slow
def test_full_refresh_rebuilds_the_named_product_and_its_consumers(built: Path) -> None:
    before = _content(built)
    report = open_mesh(built).run([SILVER, GOLD], full_refresh=True)
    runs = _by_product(report)
    assert report.ok and runs[SILVER] == (RunStatus.SUCCEEDED, "full refresh asked for")
    assert runs[GOLD] == (RunStatus.SUCCEEDED, "full refresh asked for")
    assert _content(built) == before
    report = open_mesh(built).run([SILVER], full_refresh=True)
    assert _by_product(report) == {SILVER: (RunStatus.SUCCEEDED, "full refresh asked for")}
    runs = _by_product(open_mesh(built).run())
    assert runs[GOLD] == (RunStatus.SUCCEEDED, "input orders.analytics_orders was rebuilt since version 1")
    assert _content(built) == before


@pytest.mark.slow
def test_full_refresh_of_bronze_reads_every_file_again(built: Path) -> None:
    write_order_events(built / EVENTS / "events-0002.jsonl", 2000, start=4000)
    assert open_mesh(built).run().ok
    before = _content(built)
    per_file = (
        f"SELECT _source_file AS f, count(*) AS n, count(DISTINCT _record) AS r FROM {BRONZE} GROUP BY 1 ORDER BY 1"
    )
    bronze = table_rows(open_mesh(built), per_file)
    report = open_mesh(built).run([BRONZE], full_refresh=True)
    assert _by_product(report) == {BRONZE: (RunStatus.SUCCEEDED, "full refresh asked for")}
    assert table_rows(open_mesh(built), per_file) == bronze  # each file once, not once more
    runs = _by_product(open_mesh(built).run())
    assert "input orders.order_events was rebuilt" in str(runs[SILVER][1])
    assert _content(built) == before


@pytest.mark.slow
def test_a_changed_contract_rebuilds_with_its_new_column_type(built: Path) -> None:
    contract = built / "domains/orders/products/daily_sales_summary/contract.yaml"
    text = contract.read_text().replace("version: 1.0.0", "version: 2.0.0", 1)
    old = "      - name: unique_customers\n        logicalType: integer\n        physicalType: BIGINT"
    assert old in text
    product = contract.with_name("product.yaml")
    product.write_text(product.read_text().replace("    version: 1.0.0", "    version: 2.0.0"))
    contract.write_text(
        text.replace(old, "      - name: unique_customers\n        logicalType: number\n        physicalType: DOUBLE")
    )
    report = open_mesh(built).run()
    assert report.ok, [r.error for r in report.runs]
    assert _by_product(report)[GOLD] == (
        RunStatus.SUCCEEDED,
        "transform changed (product spec, transform source or contract)",
    )
    mesh = open_mesh(built)
    schema = mesh.lakehouse.dataset(GOLD).schema
    assert str(schema.field("unique_customers").type) == "double"
    expected = table_rows(
        mesh, f"SELECT order_date, count(DISTINCT customer_id)::DOUBLE AS u FROM {SILVER} GROUP BY 1 ORDER BY 1"
    )
    assert table_rows(mesh, f"SELECT order_date, unique_customers AS u FROM {GOLD} ORDER BY 1") == expected


@pytest.mark.slow
def test_the_run_summary_says_what_was_rebuilt_and_why(built: Path) -> None:
    from typer.testing import CliRunner

    from lakemesh.cli.main import app

    result = CliRunner().invoke(app, ["-w", str(built), "run", GOLD, "--full-refresh"])
    out = " ".join(result.output.split())
    assert result.exit_code == 0 and f"{GOLD}: rebuilt from full reads: full refresh asked for" in out


@pytest.mark.slow
def test_restore_says_what_the_next_run_rebuilds(built: Path) -> None:
    from typer.testing import CliRunner

    from lakemesh.cli.main import app

    write_order_events(built / EVENTS / "events-0002.jsonl", 500, start=4000)
    assert open_mesh(built).run().ok
    result = CliRunner().invoke(app, ["-w", str(built), "restore", BRONZE, "--to", "0"])
    out = " ".join(result.output.split())
    assert result.exit_code == 0, out
    assert f"the next `lakemesh run` rebuilds from full reads: {SILVER}, {GOLD}" in out
