"""`lakemesh tag ...`, `diff`, `query --at`, `restore --mesh`: parse, call, render; errors one line + hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

SILVER = "orders.analytics_orders"
COUNT = f"SELECT count(*) AS n FROM {SILVER}"


@pytest.fixture
def built_shop(shop: Path) -> Path:
    """The example shop built twice: mesh versions 1 and 2."""
    write_order_events(shop / "data/order_events/e.jsonl", 300)
    write_customers(shop / "data/customers/c.csv", 30)
    assert run("-w", str(shop), "run", "--all")[0] == 0
    write_order_events(shop / "data/order_events/f.jsonl", 100, start=300)
    assert run("-w", str(shop), "run", "--all")[0] == 0
    return shop


def _count(shop: Path, *extra: str) -> int:
    code, out = run("-w", str(shop), "query", COUNT, "--json", *extra)
    assert code == 0, out
    return int(json.loads(out)[0]["n"])


def test_tag_create_list_show_query_at_diff_export_restore_delete(built_shop: Path, tmp_path: Path) -> None:
    w = ("-w", str(built_shop))
    code, out = run(*w, "tag", "create", "v1", "-m", "before the new orders")
    assert code == 0 and "tagged mesh version 2 as v1" in out
    then = _count(built_shop)
    write_order_events(built_shop / "data/order_events/g.jsonl", 100, start=400)
    assert run(*w, "run", "--all")[0] == 0
    now = _count(built_shop)
    assert now > then and _count(built_shop, "--at", "v1") == then and _count(built_shop, "--at", "2") == then

    code, out = run(*w, "tag", "list")
    assert code == 0 and "v1" in out and "before the new orders" in out
    code, out = run(*w, "tag", "show", "v1", "--json")
    assert code == 0 and json.loads(out)["tables"][SILVER] == 1
    code, out = run(*w, "tag", "log", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [3, 2, 1]

    code, out = run(*w, "diff", "v1", "3", "--json")
    silver = next(p for p in json.loads(out)["products"] if p["product_id"] == SILVER)
    assert code == 0 and silver["added"] == now - then and silver["removed"] == 0
    code, out = run(*w, "tag", "diff", "v1", "3")
    assert code == 0 and SILVER in out and "order_id" in out

    manifest = tmp_path / "v1.json"
    code, out = run(*w, "tag", "export", "v1", "-o", str(manifest))
    assert code == 0 and "5 tables" in out
    assert {t["product_id"]: t["version"] for t in json.loads(manifest.read_text())["tables"]}[SILVER] == 1

    code, out = run(*w, "restore", "--mesh", "v1")
    assert code == 0 and "restored the mesh to v1 as mesh version 4" in out
    assert _count(built_shop) == then
    code, out = run(*w, "tag", "delete", "v1")
    assert code == 0 and "deleted tag v1" in out


def test_bad_input_is_one_line_and_a_hint(built_shop: Path) -> None:
    w = ("-w", str(built_shop))
    assert run(*w, "tag", "create", "release")[0] == 0
    code, out = run(*w, "tag", "create", "release")
    assert code == 1 and out.startswith("error: tag 'release' exists") and "tag delete release" in out
    code, out = run(*w, "query", COUNT, "--at", "relaese")
    assert code == 1 and "no tag or mesh version 'relaese' (did you mean 'release'?)" in out
    code, out = run(*w, "query", COUNT, "--at", "40")
    assert code == 1 and "mesh version 40 does not exist (mesh versions: 1..2)" in out
    code, out = run(*w, "restore", "--mesh", "release", SILVER)
    assert code == 1 and "--mesh restores every product" in out
    code, out = run(*w, "restore")
    assert code == 1 and "restore needs a product and --to, or --mesh TAG" in out
