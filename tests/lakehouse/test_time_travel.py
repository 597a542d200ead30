"""Time travel: versions and timestamps per table, with one-line errors for what does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.errors import LakemeshError
from lakemesh.mesh import Mesh
from lakemesh.querying import QueryError
from lakemesh.settings import Settings
from tests.cli.test_cli import run

ORDERS = "orders.analytics_orders"
PEOPLE = "customers.customer_profiles"
JOIN = f"SELECT count(*) AS n FROM {ORDERS} o JOIN {PEOPLE} p ON p.customer_id = o.customer_id"


@pytest.fixture
def mesh(shop: Path) -> Mesh:
    """Orders at versions 0..2 (1, 2, 3 rows), profiles at versions 0..1 (1, 2 rows); every order joins."""
    m = Mesh.open(shop, Settings(user="dpo@company.com"))
    for i in range(3):
        m.lakehouse.append(ORDERS, pa.table({"order_id": [f"O{i}"], "customer_id": [f"C{i % 2}"]}), {}, {})
    for i in range(2):
        m.lakehouse.append(PEOPLE, pa.table({"customer_id": [f"C{i}"]}), {}, {})
    return m


def _n(mesh: Mesh, sql: str, as_of: str | list[str] | None) -> int:
    return int(mesh.query(sql, as_of=as_of).to_pylist()[0]["n"])


def test_a_version_past_the_last_is_one_clear_line(mesh: Mesh) -> None:
    with pytest.raises(LakemeshError) as info:
        mesh.query(f"SELECT count(*) AS n FROM {ORDERS}", as_of="7")
    assert info.value.message == f"{ORDERS} has versions 0..2; 7 does not exist"
    assert _n(mesh, f"SELECT count(*) AS n FROM {ORDERS}", "1") == 2


def test_a_time_before_the_table_existed_is_an_error(mesh: Mesh) -> None:
    first = mesh.tables.history(ORDERS)[-1].timestamp
    before = (first - timedelta(days=1)).isoformat()
    with pytest.raises(LakemeshError) as info:
        mesh.query(f"SELECT count(*) AS n FROM {ORDERS}", as_of=before)
    assert info.value.message.startswith(f"{ORDERS} did not exist at {before}: its first commit was at ")
    assert first.isoformat(timespec="milliseconds") in info.value.message
    # a time after the first commit reads the version of that time
    after = (first + timedelta(milliseconds=1)).isoformat()
    assert _n(mesh, f"SELECT count(*) AS n FROM {ORDERS}", after) >= 1


def test_one_version_number_for_several_tables_is_refused(mesh: Mesh) -> None:
    with pytest.raises(QueryError, match="versions of different tables are unrelated") as info:
        mesh.query(JOIN, as_of="1")
    assert info.value.hint and "--as-of TIMESTAMP" in info.value.hint and f"{ORDERS}=" in info.value.hint


def test_a_version_per_table(mesh: Mesh) -> None:
    # orders at version 1 (O0 of C0, O1 of C1) joined to profiles at version 0 (C0 only)
    assert _n(mesh, JOIN, [f"{ORDERS}=1", f"{PEOPLE}=0"]) == 1
    assert _n(mesh, JOIN, [f"{ORDERS}=2", f"{PEOPLE}=1"]) == 3
    # a timestamp for every table the query reads, one table pinned to a version
    now = datetime.now(UTC).isoformat()
    assert _n(mesh, JOIN, [now, f"{PEOPLE}=0"]) == 2
    with pytest.raises(QueryError, match=r"orders\.analytics_order is not read by the query"):
        mesh.query(JOIN, as_of=["orders.analytics_order=1", f"{PEOPLE}=0"])
    code, out = run("-w", str(mesh.workspace.root), "query", JOIN, "--as-of", f"{ORDERS}=1", "--as-of", f"{PEOPLE}=0")
    assert code == 0 and "1" in out


def test_restore_errors_are_one_line_naming_the_option(mesh: Mesh) -> None:
    with pytest.raises(LakemeshError) as info:
        mesh.tables.restore(ORDERS, "99")
    assert info.value.message == f"{ORDERS} has versions 0..2; 99 does not exist"
    with pytest.raises(LakemeshError) as info:
        mesh.tables.restore(ORDERS, "-1")
    assert "--to" in info.value.message and "--as-of" not in info.value.message
    assert "versions start at 0" in info.value.message


def test_a_governed_query_travels_per_table_too(mesh: Mesh) -> None:
    """As a principal (grants, masks, row filters), the same --as-of rules hold."""
    with pytest.raises(LakemeshError, match="versions of different tables are unrelated"):
        mesh.query(JOIN, as_of="1", principal="dora@company.com")
    rows = mesh.query(JOIN, as_of=[f"{ORDERS}=1", f"{PEOPLE}=0"], principal="dora@company.com").to_pylist()
    assert rows == [{"n": 1}]


def test_the_store_takes_times_as_text_too(mesh: Mesh) -> None:
    assert mesh.lakehouse.table(ORDERS, as_of=datetime.now(UTC).isoformat().replace("+00:00", "Z")).version() == 2
    with pytest.raises(LakemeshError, match="neither a version number nor an ISO timestamp"):
        mesh.lakehouse.table(ORDERS, as_of="last week")
