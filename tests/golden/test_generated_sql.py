"""Golden files for the SQL lakemesh generates and runs on the example shop: each product's quality scan,
governed queries as each example principal, and the SQL decrypting encrypted columns.

The statements are recorded from the real DuckDB engine while the library runs them (`recording.py`), so
a golden file shows exactly what ran. `pytest --update-golden` rewrites the files after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakemesh.engines import ENGINES, make_engine
from lakemesh.governance.access import AccessDenied
from lakemesh.mesh import Mesh
from lakemesh.quality.product import check_product
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.conftest import example_copy
from tests.golden.checker import Golden
from tests.golden.recording import REGISTRY_ENTRY, recorded

HERE = Path(__file__).parent
PRINCIPALS = ["ana@company.com", "carl@company.com", "dora@company.com"]
QUERIES = [
    "SELECT * FROM customers.customer_profiles",
    "SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < DATE '1990-01-01'",
    "SELECT * FROM customers.customer_records",
    "SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date",
    "SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o "
    "JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region",
    "WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example shop built once on a little synthetic data, its keys in the module's own folder."""
    base = tmp_path_factory.mktemp("golden")
    root = example_copy(base / "shop")
    write_customers(root / "data/customers/c.csv", 40)
    write_order_events(root / "data/order_events/e.jsonl", 120)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEMESH_KEY_DIR", str(base / "keys"))
        env.setenv("LAKEMESH_MASK_KEY", "golden-mask-key")
        assert _open(root).run().ok
        yield root


@pytest.fixture
def mesh(built: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mesh]:
    """The built shop opened with the recording engine in the registry, the log starting empty."""
    monkeypatch.setenv("LAKEMESH_KEY_DIR", str(built.parent / "keys"))
    monkeypatch.setenv("LAKEMESH_MASK_KEY", "golden-mask-key")
    monkeypatch.setitem(ENGINES, "duckdb", REGISTRY_ENTRY)
    recorded(str(built))
    yield _open(built)


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="dora@company.com"))


def _block(title: str, statements: list[str]) -> str:
    """A titled block, one statement a line, each ended by `;` (comments as they are)."""
    lines = [s.strip() if s.startswith("--") else f"{s.strip()};" for s in statements]
    return f"-- {title}\n" + "".join(f"{line}\n" for line in lines) + "\n"


def quality_scan(mesh: Mesh, product_id: str) -> list[str]:
    """The statements `lakemesh quality check` runs for a product."""
    check_product(mesh.workspace, mesh.lakehouse, product_id, protector=mesh.encryptor)
    return recorded(str(mesh.workspace.root))


def governed(mesh: Mesh, sql: str, principal: str) -> list[str]:
    """The statements a governed query runs as the principal, or the refusal."""
    try:
        mesh.query(sql, principal=principal)
    except AccessDenied as exc:
        recorded(str(mesh.workspace.root))
        return [f"-- denied: {exc.message}"]
    return recorded(str(mesh.workspace.root))


def decrypt_sql(mesh: Mesh, product_id: str) -> list[str]:
    """The REPLACE list revealing a table's encrypted columns, what a governed query reads instead of
    each of them, and which example roles see them in clear."""
    assert mesh.encryptor is not None
    engine = make_engine()
    try:
        reveal = mesh.encryptor.reveal(product_id, mesh.lakehouse.scan(product_id).schema.names, engine.function)
        sources, _ = mesh.encryptor.clear_sources(product_id, [], engine)
        roles = mesh.workspace.mesh.access.roles
        in_clear = [r for r in roles if mesh.encryptor.clear_sources(product_id, [r], engine)[1]]
    finally:
        engine.close()
    recorded(str(mesh.workspace.root))
    lines = [f"SELECT * {reveal} FROM t", f"-- in clear for roles: {', '.join(in_clear) or 'none'}"]
    return lines + [f"SELECT {expr} AS {column} FROM t" for column, expr in sources.items()]


@pytest.mark.parametrize(
    "product_id",
    [
        "customers.customer_profiles",
        "customers.customer_records",
        "orders.order_events",
        "orders.analytics_orders",
        "orders.daily_sales_summary",
    ],
)
def test_quality_scan_sql(mesh: Mesh, golden: Golden, product_id: str) -> None:
    golden.check(HERE / "quality" / f"{product_id}.sql", _block(product_id, quality_scan(mesh, product_id)))


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_governed_query_sql(mesh: Mesh, golden: Golden, principal: str) -> None:
    text = "".join(_block(f"as {principal}: {sql}", governed(mesh, sql, principal)) for sql in QUERIES)
    golden.check(HERE / "governed" / f"{principal.split('@')[0]}.sql", text)


def test_decrypt_sql(mesh: Mesh, golden: Golden) -> None:
    products = ("customers.customer_profiles", "customers.customer_records")
    text = "".join(_block(product_id, decrypt_sql(mesh, product_id)) for product_id in products)
    golden.check(HERE / "decrypt.sql", text)
