"""`forget` leaves no value of the subject in the catalog: not the key, nor the email, phone or name that
an audited query searched for; checked byte by byte in the database's files (and, on PostgreSQL, in
every table's contents)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.conftest import EXAMPLE

PROFILES = "customers.customer_profiles"


def _open(root: Path, catalog_url: str) -> Mesh:
    return Mesh.open(root, Settings(user="dora@company.com", catalog_url=catalog_url))


def _needles(values: list[str]) -> list[bytes]:
    """Each value as text and as JSON spells it, lower-cased: the scan ignores case."""
    return sorted({n.lower().encode() for v in values for n in (v, json.dumps(v)[1:-1])})


def _sqlite_bytes(url: str) -> bytes:
    path = Path(str(make_url(url).database))
    files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
    return b"".join(f.read_bytes() for f in files if f.exists()).lower()


def _postgres_rows(url: str) -> bytes:
    """Every row of every table, as PostgreSQL renders it."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [r[0] for r in cur.fetchall()]
            text = []
            for table in tables:
                cur.execute(f'SELECT t::text FROM "{table}" t')
                text.extend(r[0] for r in cur.fetchall())
    finally:
        conn.close()
    return "\n".join(text).lower().encode()


@pytest.mark.slow
def test_forget_scrubs_every_personal_value_from_the_catalog(
    tmp_path: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEMESH_KEY_DIR", str(tmp_path / "keys"))
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    write_customers(root / "data/customers/c.csv", 200)
    write_order_events(root / "data/order_events/e.jsonl", 500)
    assert _open(root, catalog_url).run().ok
    sql = (
        f"SELECT customer_id, email, phone, full_name FROM {PROFILES} WHERE email IS NOT NULL AND phone IS NOT "
        "NULL AND full_name LIKE '% %' ORDER BY customer_id LIMIT 1"
    )
    subject = _open(root, catalog_url).query(sql).to_pylist()[0]
    surname = str(subject["full_name"]).split()[-1]
    for where in (
        f"email = '{subject['email']}'",
        f"phone = '{subject['phone']}'",
        f"full_name = '{subject['full_name']}'",
        f"lower(full_name) LIKE '%{surname.lower()}%'",
    ):  # audited as the dpo, who reads these columns in clear
        found = _open(root, catalog_url).query(f"SELECT * FROM {PROFILES} WHERE {where}", principal="dora@company.com")
        assert found.num_rows >= 1, where
    values = [str(v) for v in subject.values()] + [surname]
    catalog = _sqlite_bytes if catalog_url.startswith("sqlite") else _postgres_rows
    assert all(n in catalog(catalog_url) for n in _needles(values[1:3]))  # the scan does see them before

    report = _open(root, catalog_url).governance.forget([f"customer_id={subject['customer_id']}"])
    assert report.ok and report.catalog_records_scrubbed >= 4
    left = catalog(catalog_url)
    assert [n for n in _needles(values) if n in left] == []
    audited = [a.details["sql"] for a in _open(root, catalog_url).catalog.audit_entries("query")]
    assert sum("[erased]" in q for q in audited) == 4  # the queries are kept, only the values are gone


def test_short_values_are_not_scrubbed_across_the_catalog() -> None:
    from lakemesh.governance.erasure import _scrubbable

    assert _scrubbable("Li Wu", is_name=True) == ["Li Wu"]  # the whole name; no 2-letter word on its own
    assert _scrubbable("Anna Maria Lopez", is_name=True) == ["Anna Maria Lopez", "Anna", "Maria", "Lopez"]
    assert _scrubbable("EU", is_name=False) == []
