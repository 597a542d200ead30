from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.spec.workspace import load_workspace


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _messages(ws_root: Path) -> list[str]:
    return [p.render() for p in load_workspace(ws_root).problems if p.is_error]


def test_example_loads_clean(shop: Path) -> None:
    ws = load_workspace(shop)
    assert ws.problems == []
    assert set(ws.products) == {
        "orders.order_events",
        "orders.analytics_orders",
        "orders.daily_sales_summary",
        "customers.customer_records",
        "customers.customer_profiles",
    }
    order = ws.build_order()
    assert order.index("orders.order_events") < order.index("orders.analytics_orders")
    assert order.index("orders.analytics_orders") < order.index("orders.daily_sales_summary")
    assert ws.consumers_of("orders.order_events") == ["orders.analytics_orders"]
    assert ws.upstream("orders.daily_sales_summary") == ["orders.analytics_orders"]


def test_found_from_a_subfolder(shop: Path) -> None:
    ws = load_workspace(shop / "domains" / "orders" / "products")
    assert ws.root == shop.resolve()
    assert ws.catalog_url == f"sqlite:///{shop.resolve() / '.lakemesh' / 'catalog.db'}"


def test_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(LakemeshError, match="not a lakemesh workspace") as info:
        load_workspace(tmp_path)
    assert info.value.hint and "lakemesh init" in info.value.hint


def test_every_problem_in_every_file_at_once(shop: Path) -> None:
    orders = shop / "domains" / "orders" / "products"
    _edit(orders / "order_events" / "product.yaml", "layer: bronze", "layer: bronz")
    _edit(orders / "analytics_orders" / "product.yaml", "  freshness: 15m", "  freshnes: 15m")
    _edit(
        orders / "daily_sales_summary" / "product.yaml",
        "contractId: orders.analytics_orders",
        "contractId: orders.analytic_orders",
    )
    (shop / "domains" / "customers" / "domain.yaml").write_text("name: customers\ntags: [a\n")
    messages = _messages(shop)
    assert any("order_events/product.yaml layer: Input should be 'bronze'" in m for m in messages)
    # the invalid product's contract still loads, so its consumer is not blamed
    assert not any("unknown contract 'orders.order_events'" in m for m in messages)
    assert any(
        "analytics_orders/product.yaml sla.freshnes: unknown key 'freshnes' (did you mean 'freshness'?)" in m
        for m in messages
    )
    assert any(
        "inputPorts[0].contractId: unknown contract 'orders.analytic_orders' (did you mean "
        "'orders.analytics_orders'?)" in m
        for m in messages
    )
    assert any("customers/domain.yaml:" in m and "YAML syntax error" in m for m in messages)


def test_wrong_type_names_field_and_value(shop: Path) -> None:
    _edit(shop / "domains/orders/products/order_events/product.yaml", "availability: 99.9", "availability: high")
    [message] = _messages(shop)
    assert "sla.availability" in message and "'high'" in message


def test_bad_duration(shop: Path) -> None:
    _edit(shop / "domains/orders/products/order_events/product.yaml", "freshness: 1m", "freshness: soon")
    [message] = _messages(shop)
    assert "sla.freshness" in message and "not a duration" in message


def test_missing_contract_file(shop: Path) -> None:
    (shop / "domains/orders/products/daily_sales_summary/contract.yaml").unlink()
    [message] = _messages(shop)
    assert "daily_sales_summary/product.yaml outputPorts[0].contractFile" in message
    assert "not found" in message


def test_contract_id_mismatch_and_missing_sql(shop: Path) -> None:
    folder = shop / "domains/orders/products/analytics_orders"
    _edit(folder / "contract.yaml", "id: orders.analytics_orders", "id: orders.other")
    (folder / "transform.sql").unlink()
    messages = _messages(shop)
    assert any("outputPorts[0].contractId: names contract 'orders.analytics_orders' but" in m for m in messages)
    assert any("build.transform.sql: SQL file 'transform.sql' not found" in m for m in messages)


def test_cycle_is_reported(shop: Path) -> None:
    events = shop / "domains/orders/products/order_events/product.yaml"
    _edit(
        events,
        "layer: bronze\n",
        "layer: bronze\ninputPorts:\n  - name: loop\n    contractId: orders.daily_sales_summary\n",
    )
    messages = _messages(shop)
    assert any("cycle" in m and "orders.order_events" in m for m in messages)


def test_domain_folder_mismatch(shop: Path) -> None:
    shutil.move(shop / "domains" / "customers", shop / "domains" / "clients")
    # one root cause, one error: the products inside are not blamed for the folder name
    [message] = _messages(shop)
    assert "domains/clients/domain.yaml name: domain name 'customers' does not match its folder 'clients'" in message


def test_input_port_major_version_must_match(shop: Path) -> None:
    _edit(shop / "domains/orders/products/daily_sales_summary/product.yaml", "version: 2.0.0", "version: 1.0.0")
    [message] = _messages(shop)
    assert "reads major version 1.0.0 but contract orders.analytics_orders is at 2.0.0" in message


@pytest.mark.parametrize(
    "file",
    [
        "mesh.yaml",
        "domains/customers/domain.yaml",
        "domains/orders/products/order_events/product.yaml",
        "domains/orders/products/order_events/contract.yaml",
    ],
)
def test_duplicate_key_is_an_error_naming_both_lines(shop: Path, file: str) -> None:
    """A key given twice in one mapping would silently keep the last value: every spec file refuses it."""
    path = shop / file
    lines = path.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith(("name:", "id:")))
    key = lines[first].split(":")[0]
    path.write_text("".join([*lines, f"{key}: twice\n"]))
    messages = _messages(shop)
    expected = f"{file}:{len(lines) + 1}: duplicate key '{key}' (first on line {first + 1})"
    assert any(m.startswith(expected) for m in messages), messages


def test_duplicate_nested_key_and_merge_keys(tmp_path: Path) -> None:
    from lakemesh.spec.yaml_io import YamlFileError, parse_yaml

    with pytest.raises(YamlFileError, match=r"duplicate key 'unit' \(first on line 3\)") as info:
        parse_yaml("sla:\n  - property: retention\n    unit: d\n    value: 3\n    unit: y\n", "c.yaml")
    assert info.value.problem.line == 5
    # a merge key's values may be overridden: that is what `<<` is for, not a duplicate
    assert parse_yaml("a: &x {k: 1}\nb:\n  <<: *x\n  k: 2\n", "m.yaml")["b"] == {"k": 2}
