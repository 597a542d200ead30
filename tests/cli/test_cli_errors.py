"""Damaged tables, bad options and a read-only catalog: one red line and a hint, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

SILVER = "orders.analytics_orders"


def _lakemesh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "lakemesh.cli.main", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def _one_red_line(out: subprocess.CompletedProcess[str], *words: str) -> str:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, out.stderr
    for word in words:
        assert word in out.stderr, out.stderr
    return out.stderr


@pytest.fixture
def built(shop: Path) -> Path:
    write_order_events(shop / "data/order_events/e1.jsonl", 1000)
    write_customers(shop / "data/customers/c.csv", 100)
    code, out = run("-w", str(shop), "run", "--all")
    assert code == 0, out
    return shop


def _data_files(shop: Path, product: str) -> list[Path]:
    return sorted((shop / "lakehouse" / product.replace(".", "/")).glob("*.parquet"))


@pytest.mark.slow
def test_bad_options_and_damaged_tables_are_one_line(built: Path) -> None:
    _one_red_line(_lakemesh("optimize", SILVER, "--zorder", "totl_amount", cwd=built), "did you mean 'total_amount'")
    _one_red_line(_lakemesh("vacuum", SILVER, "--retain", "0", cwd=built), "168 hours", "--force")
    assert _lakemesh("vacuum", SILVER, "--retain", "0", "--force", "--dry-run", cwd=built).returncode == 0
    lost = _data_files(built, SILVER)[0]
    lost.unlink()
    for args in (("query", f"SELECT count(*) FROM {SILVER}"), ("quality", "check", SILVER), ("optimize", SILVER)):
        _one_red_line(_lakemesh(*args, cwd=built), lost.name, f"lakemesh doctor {SILVER}")
    doctor = _lakemesh("doctor", SILVER, cwd=built)
    assert doctor.returncode == 1 and lost.name in doctor.stdout and f"lakemesh run {SILVER}" in doctor.stdout
    log = built / "lakehouse/orders/order_events/_delta_log/00000000000000000000.json"
    log.write_bytes(log.read_bytes()[:200])
    _one_red_line(_lakemesh("history", "orders.order_events", cwd=built), "cannot be read", "lakemesh doctor")
    doctor = _lakemesh("doctor", "orders.order_events", cwd=built)
    assert doctor.returncode == 1 and "version 0 (00000000000000000000.json) is not valid JSON" in doctor.stdout
    healthy = _lakemesh("doctor", "orders.daily_sales_summary", cwd=built)
    assert healthy.returncode == 0 and "intact" in healthy.stdout


@pytest.mark.slow
@pytest.mark.postgres
def test_a_read_only_catalog_is_one_line(shop: Path, postgres_url: str) -> None:
    mesh = shop / "mesh.yaml"
    mesh.write_text(mesh.read_text().replace("sqlite:///.lakemesh/catalog.db", postgres_url))
    write_order_events(shop / "data/order_events/e1.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 50)
    assert _lakemesh("run", "--all", cwd=shop).returncode == 0
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"ALTER DATABASE {postgres_url.rsplit('/', 1)[1]} SET default_transaction_read_only = on")
    conn.close()
    product = shop / "domains/orders/products/order_events/product.yaml"
    product.write_text(product.read_text().replace("tags: [", "tags: [changed, "))
    _one_red_line(_lakemesh("catalog", "sync", cwd=shop), "read-only")
    _one_red_line(_lakemesh("quality", "check", SILVER, cwd=shop), "read-only", "catalog")
    assert _lakemesh("query", f"SELECT count(*) FROM {SILVER}", cwd=shop).returncode == 0  # reads still work
