"""The command line: exit codes, output a person reads, errors as one line plus a hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakemesh.cli.main import app
from lakemesh.synthetic import expected_dirt
from tests.conftest import EXAMPLE, FIXTURES

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_init_then_validate_then_sync(tmp_path: Path) -> None:
    code, out = run("init", "shop", "--path", str(tmp_path / "shop"), "--domain", "orders", "--product", "orders")
    assert code == 0 and "created workspace shop" in out
    assert (tmp_path / "shop/domains/orders/products/orders/contract.yaml").is_file()
    code, out = run("-w", str(tmp_path / "shop"), "validate")
    assert code == 0 and "1 products, 1 contracts: 0 errors" in out
    code, out = run("-w", str(tmp_path / "shop"), "catalog", "sync")
    assert code == 0 and "3 created" in out
    assert (tmp_path / "shop/.lakemesh/catalog.db").is_file()


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    code, out = run("init", "x", "--path", str(tmp_path / "x"))
    assert code == 1 and out.startswith("error: ") and "not empty" in out


def test_validate_reports_problems_and_exits_1(shop: Path) -> None:
    product = shop / "domains/orders/products/order_events/product.yaml"
    product.write_text(product.read_text().replace("tags:", "tagz:"))
    code, out = run("-w", str(shop), "validate")
    assert code == 1
    assert "unknown key 'tagz' (did you mean 'tags'?)" in out
    code, out = run("-w", str(shop), "validate", "--json")
    data = json.loads(out)
    assert data["ok"] is False and data["problems"][0]["path"] == "tagz"


def test_catalog_search_and_show(shop: Path) -> None:
    assert run("-w", str(shop), "catalog", "sync")[0] == 0
    code, out = run("-w", str(shop), "catalog", "search", "revenue", "--json")
    assert code == 0 and json.loads(out)[0]["product_id"] == "orders.daily_sales_summary"
    code, out = run("-w", str(shop), "catalog", "search", "", "--tag", "pii")
    assert "customers.customer_profiles" in out and "orders.order_events" not in out
    code, out = run("-w", str(shop), "catalog", "show", "orders.analytics_orders")
    assert code == 0
    for expected in (
        "Orders Analytics Dataset",
        "input  order_events <- contract orders.order_events",
        "total_amount",
        "DECIMAL(10,2)",
        "history",
        "created",
    ):
        assert expected in out


def test_contract_lint_export_diff(tmp_path: Path) -> None:
    code, out = run("contract", "lint", str(FIXTURES / "full-v3.1.odcs.yaml"))
    assert code == 0 and "valid ODCS v3.1.0" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "v3.0.2.odcs.yaml").read_text().replace("logicalType: string", "logicalTyp: string", 1))
    code, out = run("contract", "lint", str(bad))
    assert code == 1 and "did you mean 'logicalType'" in out
    code, out = run(
        "contract", "export", str(FIXTURES / "v3.2.0.odcs.yaml"), "--format", "sql-ddl", "--dialect", "postgres"
    )
    assert code == 0 and 'CREATE TABLE "returns"' in out
    new = tmp_path / "new.yaml"
    new.write_text((FIXTURES / "v3.2.0.odcs.yaml").read_text().replace("          - value: changed_mind\n", ""))
    code, out = run("contract", "diff", str(FIXTURES / "v3.2.0.odcs.yaml"), str(new))
    assert code == 1 and "enum narrowed" in out and "needs a major version bump" in out


def test_contract_check_by_id(shop: Path) -> None:
    data = shop / "events.jsonl"
    data.write_text(
        '{"event_id": "E1", "order_id": "ORD-00000001", "customer_id": "C1", "status": "paid", '
        '"event_ts": "2026-01-01T00:00:00"}\n'
        '{"event_id": "E1", "order_id": "bad", "customer_id": "C1", "status": "paid", '
        '"event_ts": "2026-01-01T00:00:00"}\n'
    )
    code, out = run("-w", str(shop), "contract", "check", "orders.order_events", str(data), "--json")
    report = json.loads(out)
    assert code == 1 and report["rows"] == 2 and not report["passed"]
    failed = {(r["rule"], r["column"]): r["violations"] for r in report["results"] if r["status"] == "failed"}
    assert failed == {("pattern", "order_id"): 1, ("primary_key_unique", "event_id"): 1}


def _lakemesh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakemesh.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


@pytest.mark.slow
def test_errors_are_one_red_line_and_a_hint_never_a_traceback(tmp_path: Path) -> None:
    out = _lakemesh("validate", cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("error: no mesh.yaml") and lines[1].startswith("hint: create one with")
    debug = _lakemesh("--debug", "validate", cwd=tmp_path)
    assert "Traceback" in debug.stderr and debug.returncode == 1


@pytest.mark.slow
def test_unreachable_catalog_is_a_clear_error(shop: Path) -> None:
    mesh = shop / "mesh.yaml"
    mesh.write_text(mesh.read_text().replace("sqlite:///.lakemesh/catalog.db", "postgresql://me:pw@127.0.0.1:1/cat"))
    out = _lakemesh("catalog", "sync", cwd=shop)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot reach the catalog at postgresql://me:***@127.0.0.1:1/cat" in out.stderr
    assert "pw" not in out.stderr.replace("postgresql", "")


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out = run("demo", "--rows", "5000", "--dir", str(tmp_path / "demo"))
    assert code == 0
    events = 5000 + expected_dirt(5000)["duplicates"]
    for expected in (
        f"{events:,} rows for orders.order_events",
        "12 created",
        "orders.daily_sales_summary",
        "primary_key_unique",
        "Try next",
    ):
        assert expected in out
    # a second run replaces its own folder
    assert run("demo", "--rows", "1000", "--dir", str(tmp_path / "demo"))[0] == 0


def test_example_is_what_the_demo_copies() -> None:
    from lakemesh.demo import example_source

    assert example_source().resolve() == EXAMPLE.resolve()


@pytest.mark.slow
def test_run_query_history_restore(shop: Path, tmp_path: Path) -> None:
    from lakemesh.synthetic import write_customers, write_order_events

    write_order_events(shop / "data/order_events/e1.jsonl", 1000)
    write_customers(shop / "data/customers/c.csv", 100)
    code, out = run("-w", str(shop), "run")
    assert code == 2 or "--all" in out  # nothing named: a usage error pointing at --all
    code, out = run("-w", str(shop), "run", "--all")
    assert code == 0 and "orders.daily_sales_summary" in out and "succeeded" in out
    code, out = run("-w", str(shop), "run", "--all")
    assert code == 0 and "succeeded" not in out and "up_to_date" in out
    code, out = run("-w", str(shop), "query", "SELECT count(*) AS n FROM orders.analytics_orders")
    published = int(out.split()[1])
    code_q, held = run("-w", str(shop), "quality", "quarantine", "orders.analytics_orders", "--json", "--limit", "0")
    quarantined = len(json.loads(held))
    assert code == code_q == 0 and quarantined > 0 and published + quarantined == 500  # every order, once
    target = tmp_path / "gold.parquet"
    code, out = run("-w", str(shop), "query", "SELECT * FROM orders.daily_sales_summary", "-o", str(target))
    import pyarrow.parquet as pq

    from lakemesh.mesh import Mesh

    days = Mesh.open(shop).query("SELECT count(*) AS n FROM orders.daily_sales_summary").to_pylist()[0]["n"]
    assert code == 0 and pq.read_table(target).num_rows == days > 0
    write_order_events(shop / "data/order_events/e2.jsonl", 1000, start=1000)
    assert run("-w", str(shop), "run", "--all")[0] == 0
    code, out = run("-w", str(shop), "history", "orders.analytics_orders")
    assert code == 0 and "WRITE" in out and "MERGE" in out
    code, out = run("-w", str(shop), "restore", "orders.analytics_orders", "--to", "0")
    assert code == 0 and "restored" in out
    assert Mesh.open(shop).query("SELECT count(*) AS n FROM orders.analytics_orders").to_pylist() == [{"n": published}]


def test_failed_run_exits_1_and_says_why(shop: Path) -> None:
    (shop / "data/order_events").mkdir(parents=True)
    (shop / "data/order_events/bad.jsonl").write_text("{not json\n")
    code, out = run("-w", str(shop), "run", "orders.order_events")
    assert code == 1 and "bad.jsonl line 1: malformed JSON" in out and "hint:" in out
