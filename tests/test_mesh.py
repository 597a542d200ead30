from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.errors import SpecError
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings


def _edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))


def _mesh(shop: Path, catalog_url: str) -> Mesh:
    return Mesh.open(shop, Settings(catalog_url=catalog_url, user="tester@example.com"))


def test_validate_without_a_catalog_creates_none(shop: Path) -> None:
    report = Mesh.open(shop).validate()
    assert report.ok and report.problems == []
    assert not (shop / ".lakemesh").exists()


def test_breaking_change_without_major_bump_fails_and_names_consumers(shop: Path, catalog_url: str) -> None:
    _mesh(shop, catalog_url).sync()
    contract = shop / "domains/orders/products/analytics_orders/contract.yaml"
    _edit(contract, "      - name: items_count\n", "      - name: item_count\n")
    report = _mesh(shop, catalog_url).validate()
    assert not report.ok
    [problem] = report.errors
    assert problem.file == "domains/orders/products/analytics_orders/contract.yaml" and problem.path == "version"
    assert "column removed analytics_orders.items_count" in problem.message
    assert "consumed by orders.daily_sales_summary" in problem.message
    with pytest.raises(SpecError):
        _mesh(shop, catalog_url).sync()
    # bumping the major version (and the consumer's port) makes it acceptable
    _edit(contract, "version: 2.0.0", "version: 3.0.0")
    for product in ("analytics_orders", "daily_sales_summary"):
        path = shop / f"domains/orders/products/{product}/product.yaml"
        path.write_text(path.read_text().replace("version: 2.0.0", "version: 3.0.0"))
    mesh = _mesh(shop, catalog_url)
    assert mesh.validate().ok
    changes = {(c.kind, c.id): c for c in mesh.sync().changed}
    summary = changes[("contract", "orders.analytics_orders")].summary
    assert any(line.startswith("BREAKING column removed") for line in summary)


def test_changed_contract_with_same_version_warns(shop: Path, catalog_url: str) -> None:
    _mesh(shop, catalog_url).sync()
    _edit(
        shop / "domains/orders/products/daily_sales_summary/contract.yaml",
        "description: Calendar day, UTC.",
        "description: The calendar day (UTC).",
    )
    report = _mesh(shop, catalog_url).validate()
    assert report.ok
    [warning] = report.warnings
    assert "changed but its version stayed 1.0.0" in warning.message


def test_sync_refuses_a_broken_workspace_and_changes_nothing(shop: Path, catalog_url: str) -> None:
    _edit(shop / "domains/orders/products/order_events/product.yaml", "layer: bronze", "layer: brass")
    mesh = _mesh(shop, catalog_url)
    with pytest.raises(SpecError, match="layer"):
        mesh.sync()
    assert mesh.catalog.counts() == {"domains": 0, "products": 0, "contracts": 0, "versions": 0}


def test_actor_comes_from_settings(shop: Path) -> None:
    assert Mesh.open(shop, Settings(user="carol@example.com")).actor == "carol@example.com"


def test_mesh_is_a_context_manager_that_closes_its_catalog(tmp_path: Path) -> None:
    from tests.cli.test_cli import run

    assert run("init", "shop", "--path", str(tmp_path / "shop"))[0] == 0
    with Mesh.open(tmp_path / "shop") as mesh:
        mesh.sync()
        pool = mesh.catalog.engine.pool
        assert pool.checkedin() == 1  # the connection the sync used, kept for the next call
    assert pool.checkedin() == 0  # closed on the way out
    assert [h.product_id for h in mesh.search("")] == ["sales.orders"]  # and it reconnects when used again
    mesh.close()
    with pytest.raises(RuntimeError, match="inside"), Mesh.open(tmp_path / "shop") as mesh:
        mesh.sync()
        pool = mesh.catalog.engine.pool
        raise RuntimeError("inside")
    assert pool.checkedin() == 0  # closed when the block fails too


def test_query_results_convert_to_pandas_in_the_default_install(tmp_path: Path) -> None:
    import importlib.metadata

    from tests.cli.test_cli import run

    assert run("init", "shop", "--path", str(tmp_path / "shop"))[0] == 0
    requirements = importlib.metadata.requires("lakemesh") or []
    assert any(r.startswith("pandas") and "extra ==" not in r for r in requirements)
    with Mesh.open(tmp_path / "shop") as mesh:
        frame = mesh.query("SELECT 1 AS n, 'a' AS s UNION ALL SELECT 2, 'b' ORDER BY n").to_pandas()
    assert list(frame.columns) == ["n", "s"] and frame["n"].tolist() == [1, 2]
