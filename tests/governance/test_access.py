"""Governed queries: deny by default, masks and row filters that no query shape gets around, an audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.governance.access import AccessDenied
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events

ACCESS = """access:
  roles: [analyst, support, admin, dpo]
  principals:
    - {name: ana@company.com, roles: [analyst], attributes: {region: EMEA}}
    - {name: sam@company.com, roles: [support], attributes: {region: AMER}}
    - {name: root@company.com, roles: [admin, dpo]}
    - {name: nobody@company.com, roles: []}
  grants:
    - {products: ["customers.*"], roles: [analyst, support, admin]}
    - {products: ["orders.*"], roles: [analyst, admin]}
  masks:
    - {products: [customers.customer_profiles], column: email, method: hash, unlessRoles: [admin]}
    - {products: [customers.customer_profiles], column: phone, method: partial, keep: 4, unlessRoles: [admin, support]}
    - {products: [customers.customer_profiles], column: date_of_birth, method: year, unlessRoles: [admin]}
    - {products: [customers.customer_profiles], column: full_name, method: redact, unlessRoles: [admin]}
  rowFilters:
    - {products: [customers.customer_profiles], filter: "region = principal.region", unlessRoles: [admin]}
"""
CUSTOMERS = "customers.customer_profiles"


def with_access(mesh_yaml: str, block: str) -> str:
    """The mesh file with its `access:` section (the last one in the example) replaced by `block`."""
    return mesh_yaml[: mesh_yaml.index("\naccess:") + 1] + block if "\naccess:" in mesh_yaml else mesh_yaml + block


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from tests.conftest import EXAMPLE

    root = tmp_path_factory.mktemp("gov") / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    (root / "mesh.yaml").write_text(with_access((root / "mesh.yaml").read_text(), ACCESS))
    write_customers(root / "data/customers/c.csv", 400)
    write_order_events(root / "data/order_events/e.jsonl", 2000)
    assert _open(root).run().ok
    return root


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="owner@company.com"))


def _as(root: Path, who: str, sql: str) -> list[dict[str, object]]:
    return _open(root).query(sql, principal=who).to_pylist()


def test_masks_and_row_filters_apply(governed: Path) -> None:
    full = _as(governed, "root@company.com", f"SELECT * FROM {CUSTOMERS} ORDER BY customer_id")
    seen = _as(governed, "ana@company.com", f"SELECT * FROM {CUSTOMERS} ORDER BY customer_id")
    emea = [r for r in full if r["region"] == "EMEA"]
    assert len(seen) == len(emea) > 0 and {r["region"] for r in seen} == {"EMEA"}
    for raw, masked in zip(emea, seen, strict=True):
        assert masked["customer_id"] == raw["customer_id"]
        assert str(masked["email"]).isdigit() and masked["email"] != raw["email"]  # a keyed 64-bit pseudonym
        assert masked["phone"] == "***" + str(raw["phone"])[-4:]
        assert masked["full_name"] == "***"
        assert str(masked["date_of_birth"])[5:10] == "01-01"  # the year only
    support = _as(governed, "sam@company.com", f"SELECT phone, region FROM {CUSTOMERS}")
    assert {r["region"] for r in support} == {"AMER"} and all("*" not in str(r["phone"]) for r in support)


LEAKS = [
    "SELECT email AS e FROM customers.customer_profiles",
    "SELECT * FROM customers.customer_profiles",
    "WITH x AS (SELECT * FROM customers.customer_profiles) SELECT email, full_name FROM x",
    "SELECT (SELECT max(email) FROM customers.customer_profiles) AS m",
    "SELECT c.email FROM customers.customer_profiles c JOIN orders.analytics_orders o USING (customer_id)",
    "SELECT email FROM customers.customer_profiles UNION ALL SELECT full_name FROM customers.customer_profiles",
    "SELECT first_value(email) OVER (ORDER BY customer_id) AS f FROM customers.customer_profiles",
    "SELECT string_agg(email, ',') AS s, string_agg(full_name, ',') AS n FROM customers.customer_profiles",
    "SELECT * FROM (SELECT *, upper(email) AS u FROM customers.customer_profiles) t WHERE region <> 'EMEA'",
    "SELECT email FROM customers.customer_profiles WHERE true OR region = 'AMER'",
]


@pytest.mark.parametrize("sql", LEAKS)
def test_no_query_shape_reveals_masked_values(governed: Path, sql: str) -> None:
    raw = _as(governed, "root@company.com", f"SELECT email, full_name, region FROM {CUSTOMERS}")
    secrets = {str(r["email"]) for r in raw} | {str(r["full_name"]) for r in raw}
    rows = _as(governed, "ana@company.com", sql)
    text = " ".join(str(v) for r in rows for v in r.values())
    assert not [s for s in secrets if s in text]


def test_inference_through_where_sees_only_masked_values(governed: Path) -> None:
    sql = f"SELECT count(*) AS n FROM {CUSTOMERS} WHERE email LIKE 'user1%' OR length(full_name) > 3"
    assert _as(governed, "root@company.com", sql)[0]["n"] > 0
    assert _as(governed, "ana@company.com", sql) == [{"n": 0}]
    other = _as(governed, "ana@company.com", f"SELECT count(*) AS n FROM {CUSTOMERS} WHERE region = 'AMER'")
    assert other == [{"n": 0}]  # the row filter holds in WHERE too


@pytest.mark.parametrize(
    ("who", "sql", "message"),
    [
        (
            "ana@company.com",
            "SELECT * FROM read_parquet('lakehouse/customers/customer_profiles/*.parquet')",
            "read_parquet",
        ),
        ("ana@company.com", "SELECT * FROM 'lakehouse/customers/customer_profiles/x.parquet'", "unknown product"),
        ("ana@company.com", "SELECT * FROM __lakemesh_customers__customer_profiles", "unknown product"),
        ("ana@company.com", "SELECT * FROM main.__lakemesh_customers__customer_profiles", "unknown product"),
        ("ana@company.com", "SELECT getenv('HOME') AS h", "getenv"),
        ("ana@company.com", "SELECT current_setting('threads') AS t", "current_setting"),
        ("ana@company.com", "SET threads = 1", "only one read query"),
        ("ana@company.com", "ATTACH 'other.db'", "only one read query"),
        ("ana@company.com", "DELETE FROM customers.customer_profiles", "only one read query"),
        (
            "sam@company.com",
            "SELECT count(*) FROM orders.analytics_orders",
            "not granted read on orders.analytics_orders",
        ),
        ("nobody@company.com", f"SELECT count(*) FROM {CUSTOMERS}", "not granted"),
        ("mallory@evil.com", f"SELECT 1 AS x FROM {CUSTOMERS}", "unknown principal"),
    ],
)
def test_denials_are_clean_and_audited(governed: Path, who: str, sql: str, message: str) -> None:
    with pytest.raises(AccessDenied, match=message):
        _open(governed).query(sql, principal=who)


def test_every_governed_query_is_audited(governed: Path) -> None:
    from sqlalchemy import select

    from lakemesh.catalog import tables as t

    mesh = _open(governed)
    mesh.query(f"SELECT count(*) AS n FROM {CUSTOMERS}", principal="ana@company.com")
    with pytest.raises(AccessDenied):
        mesh.query(f"SELECT count(*) AS n FROM {CUSTOMERS}", principal="nobody@company.com")
    with mesh.catalog.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t.audit_log).where(t.audit_log.c.action == "query")).mappings()]
    last_two = rows[-2:]
    assert [(r["actor"], r["allowed"]) for r in last_two] == [("ana@company.com", True), ("nobody@company.com", False)]
    assert "not granted" in last_two[1]["details"]["reason"] and last_two[0]["details"]["products"] == [CUSTOMERS]


def test_broken_access_specs_are_validation_errors(shop: Path) -> None:
    broken = ACCESS.replace("roles: [analyst], attributes", "roles: [analystt], attributes").replace(
        "column: full_name", "column: fullname"
    )
    (shop / "mesh.yaml").write_text(with_access((shop / "mesh.yaml").read_text(), broken))
    problems = [p.render() for p in _open(shop).validate().errors]
    assert any("unknown role 'analystt' (did you mean 'analyst'?)" in p for p in problems)
    assert any("mask on column 'fullname', which customers.customer_profiles does not have" in p for p in problems)


@pytest.mark.slow
def test_changes_need_grants_where_the_mesh_enforces_them(shop: Path) -> None:
    grants = (
        '    - {products: ["orders.*"], roles: [support], access: write}\n'
        '    - {products: ["*"], roles: [admin], access: admin}\n'
    )
    enforced = ACCESS.replace("access:\n", "access:\n  enforceWrites: true\n").replace(
        "  masks:", grants + "  masks:", 1
    )
    (shop / "mesh.yaml").write_text(with_access((shop / "mesh.yaml").read_text(), enforced))
    write_order_events(shop / "data/order_events/e.jsonl", 500)
    write_customers(shop / "data/customers/c.csv", 50)

    def as_user(name: str) -> Mesh:
        return Mesh.open(shop, Settings(user=name))

    with pytest.raises(AccessDenied, match=r"ana@company\.com is not granted write on"):
        as_user("ana@company.com").run()  # a reader may not build
    with pytest.raises(AccessDenied, match="not a declared principal"):
        as_user("stranger@company.com").run(["orders.order_events"])
    assert as_user("sam@company.com").run(["orders.order_events", "orders.analytics_orders"]).ok
    with pytest.raises(AccessDenied, match="not granted admin"):
        as_user("sam@company.com").governance.forget(["customer_id=C000001"])  # erasure is an admin's
    assert (
        as_user("sam@company.com").governance.forget(["customer_id=C000001"], dry_run=True).steps
    )  # a plan changes nothing
    assert (
        as_user("root@company.com").run().ok
        and as_user("root@company.com").governance.forget(["customer_id=C000001"]).ok
    )
    denied = [a for a in as_user("root@company.com").catalog.audit_entries("run") if not a.allowed]
    assert [a.actor for a in denied] == ["stranger@company.com", "ana@company.com"]


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT * FROM range(10)", "range"),
        ("SELECT * FROM generate_series(1, 3)", "generate_series"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ],
)
def test_a_table_function_in_a_governed_query_is_refused_by_its_name(sql: str, function: str) -> None:
    from lakemesh.governance.access import check_query

    with pytest.raises(AccessDenied, match=rf"table function {function}\(\) is not allowed"):
        check_query(sql, ["orders.analytics_orders"])
