"""Erased subjects outlive a lost catalog: tombstones in the lakehouse, and a reset catalog refused until rebuilt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lakemesh.governance.erasure import Subject
from lakemesh.governance.tombstones import MARKER, CatalogResetError, read_marker, read_tombstones
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run
from tests.governance.test_erasure import BRONZE, SILVER, files_holding

CUSTOMERS = "customers.customer_records"


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the pseudonyms' key lives in the key folder, apart from the catalog and the lakehouse
    monkeypatch.setenv("LAKEMESH_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("LAKEMESH_MASK_KEY", raising=False)


def _open(root: Path, catalog_url: str | None = None) -> Mesh:
    return Mesh.open(root, Settings(user="dpo@company.com", catalog_url=catalog_url))


def _forgotten(shop: Path) -> str:
    """The shop built, and its busiest customer erased."""
    write_order_events(shop / "data/order_events/e.jsonl", 2000)
    write_customers(shop / "data/customers/c.csv", 100)
    mesh = _open(shop)
    assert mesh.run().ok
    sql = f"SELECT customer_id, count(*) AS n FROM {SILVER} GROUP BY 1 ORDER BY n DESC, customer_id LIMIT 1"
    buyer = str(mesh.query(sql).to_pylist()[0]["customer_id"])
    assert _open(shop).governance.forget([f"customer_id={buyer}"]).ok
    return buyer


def _replay(shop: Path, buyer: str) -> None:
    """A new source file holding the erased subject's events again, among others."""
    extra = shop / "data/order_events/f.jsonl"
    write_order_events(extra, 500, start=2000)
    lines = extra.read_text().splitlines()
    lines[0] = lines[0].replace(json.loads(lines[0])["customer_id"], buyer)
    extra.write_text("\n".join(lines) + "\n")


def _lose_catalog(shop: Path) -> None:
    for path in (shop / ".lakemesh").glob("catalog.db*"):
        path.unlink()


def _count(shop: Path, product: str, buyer: str) -> int:
    sql = f"SELECT count(*) AS n FROM {product} WHERE customer_id = '{buyer}'"
    return int(_open(shop).query(sql).to_pylist()[0]["n"])


@pytest.mark.slow
def test_a_lost_catalog_is_refused_then_rebuilt_and_the_subject_stays_erased(shop: Path) -> None:
    buyer = _forgotten(shop)
    pseudonym = Subject("customer_id", buyer).pseudonym
    mesh = _open(shop)
    assert read_tombstones(mesh.lakehouse) == {"customer_id": {pseudonym}}  # kept with the data
    assert mesh.catalog.erased_subjects() == {"customer_id": {pseudonym}}  # a table, not audit JSON
    assert files_holding(shop / "lakehouse/_lakemesh", [buyer]) == []  # pseudonyms only, never the value
    versions = {p: mesh.lakehouse.version(p) for p in (BRONZE, SILVER)}
    mesh.close()

    _lose_catalog(shop)
    _replay(shop, buyer)
    with pytest.raises(CatalogResetError, match=r"not the one the lakehouse .* was built with") as refused:
        _open(shop).run()
    assert "lakemesh catalog rebuild" in str(refused.value.hint)
    shutil.rmtree(shop / "lakehouse" / MARKER.replace(".", "/"))  # the marker lost too: the tombstones tell
    _lose_catalog(shop)
    with pytest.raises(CatalogResetError, match=r"empty but the lakehouse .* holds erasure tombstones"):
        _open(shop).run()
    assert {p: _open(shop).lakehouse.version(p) for p in versions} == versions  # nothing was ingested
    code, out = run("-w", str(shop), "catalog", "rebuild")
    assert code == 0 and "1 erased subject(s) restored" in out

    report = _open(shop).run()
    assert report.ok
    bronze = next(r for r in report.runs if r.product_id == BRONZE)
    assert bronze.details["erased_subject_rows_skipped"] >= 1 and bronze.rows_written > 400
    assert _count(shop, BRONZE, buyer) == 0 and _count(shop, SILVER, buyer) == 0


@pytest.mark.slow
def test_the_tombstones_alone_keep_the_subject_out(shop: Path) -> None:
    """Even a catalog that lists no erasure (rebuilt before the tombstones were read, say) does not let
    the subject in: runs read the lakehouse's tombstones too."""
    buyer = _forgotten(shop)
    mesh = _open(shop)
    with mesh.catalog.engine.begin() as conn:
        from lakemesh.catalog import tables as t

        conn.execute(t.erased_subjects.delete())
    mesh.close()
    _replay(shop, buyer)
    assert _open(shop).run().ok
    assert _count(shop, BRONZE, buyer) == 0 and _count(shop, SILVER, buyer) == 0


@pytest.mark.slow
def test_another_catalog_is_refused_and_a_lakehouse_without_marker_adopts_its_own(shop: Path, tmp_path: Path) -> None:
    write_customers(shop / "data/customers/c.csv", 50)
    mesh = _open(shop)
    assert mesh.run([CUSTOMERS]).ok
    own = mesh.catalog.catalog_id
    assert read_marker(mesh.lakehouse) == own
    mesh.close()
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(CatalogResetError, match="not the one the lakehouse"):
        _open(shop, other).run([CUSTOMERS])
    # a lakehouse from before markers, with its catalog's history: adopted, not refused
    shutil.rmtree(shop / "lakehouse" / MARKER.replace(".", "/"))
    mesh = _open(shop)
    assert mesh.run([CUSTOMERS]).ok and read_marker(mesh.lakehouse) == own


@pytest.mark.slow
def test_a_lakehouse_from_before_tombstones_gets_them_from_its_catalog(shop: Path) -> None:
    buyer = _forgotten(shop)
    for table in ("erasures", "catalog"):  # as an upgraded workspace finds it: erasures in the catalog only
        shutil.rmtree(shop / "lakehouse/_lakemesh" / table)
    mesh = _open(shop)
    assert mesh.catalog.erased_subjects() == {"customer_id": {Subject("customer_id", buyer).pseudonym}}
    assert read_tombstones(mesh.lakehouse) == mesh.catalog.erased_subjects()  # written when it was adopted
