"""Encryption at rest: PII stored as AES-SIV ciphertext, read in clear only where allowed; rotation, key
loss and crypto-shredding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from lakemesh.errors import LakemeshError
from lakemesh.governance.access import AccessDenied
from lakemesh.governance.encryption import PREFIX, ColumnPlan, Encryptor, KeyStore, MissingKeyError
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers, write_order_events
from tests.conftest import EXAMPLE
from tests.governance.test_access import with_access
from tests.governance.test_erasure import files_holding

PROFILES, RECORDS = "customers.customer_profiles", "customers.customer_records"
ACCESS = """access:
  roles: [analyst, dpo]
  principals:
    - {name: ana@company.com, roles: [analyst], attributes: {region: EMEA}}
    - {name: dora@company.com, roles: [dpo]}
  grants:
    - {products: ["customers.*"], roles: [analyst, dpo]}
  masks:
    - {products: [customers.customer_profiles], column: phone, method: partial, keep: 4, unlessRoles: [dpo]}
"""


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("LAKEMESH_KEY_DIR", str(folder))
    monkeypatch.setenv("LAKEMESH_MASK_KEY", "test-mask-key")
    return folder


ENCRYPT = "      encrypt: [restricted]"


def _shop(tmp_path: Path, key_per: str = "subject", encrypt: bool = True) -> Path:
    """The example shop built; `encrypt=False`: with its encryption policy turned off."""
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    mesh_yaml = root / "mesh.yaml"
    text = mesh_yaml.read_text().replace("keyPer: subject", f"keyPer: {key_per}")
    assert ENCRYPT in text
    mesh_yaml.write_text(with_access(text if encrypt else text.replace(ENCRYPT, f"#{ENCRYPT}"), ACCESS))
    write_customers(root / "data/customers/c.csv", 300)
    write_order_events(root / "data/order_events/e.jsonl", 1000)
    assert _open(root).run().ok
    return root


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="dpo@company.com"))


def _profile(root: Path, customer: str, who: str | None = None) -> dict[str, object]:
    sql = f"SELECT * FROM {PROFILES} WHERE customer_id = '{customer}'"
    rows = _open(root).query(sql, principal=who).to_pylist()
    return rows[0] if rows else {}


def test_round_trip_is_deterministic_and_authenticated(keys: Path) -> None:
    store = KeyStore("t")
    data = pa.table({"id": ["a", "b", None], "email": ["x@y.z", "x@y.z", "q@r.s"]})
    for plan in (ColumnPlan(("email",)), ColumnPlan(("email",), "subject", "id")):
        enc = Encryptor({"d.p": plan}, store)
        sealed = enc.encrypt("d.p", data)["email"].to_pylist()
        assert all(v.startswith(PREFIX) for v in sealed) and "x@y.z" not in str(sealed)
        assert enc.encrypt("d.p", data)["email"].to_pylist() == sealed  # deterministic: joins still work
        assert (sealed[0] == sealed[1]) is (plan.key_per == "mesh")  # per subject: different keys
        clear = enc.decryptor()(pa.array(sealed), data["id"].combine_chunks())
        assert clear.to_pylist() == ["x@y.z", "x@y.z", "q@r.s"]
        tampered = sealed[0][:-6] + ("A" if sealed[0][-6] != "A" else "B") + sealed[0][-5:]
        with pytest.raises(LakemeshError, match="does not decrypt"):
            enc.decryptor()(pa.array([tampered]), pa.array(["a"]))
    # shredding: the subject's values read as NULL, and no new key is ever made for them
    enc = Encryptor({"d.p": ColumnPlan(("email",), "subject", "id")}, store)
    sealed = enc.encrypt("d.p", data)["email"]
    assert store.shred(["a"]) == 1
    assert enc.decryptor()(sealed.combine_chunks(), data["id"].combine_chunks()).to_pylist() == [None, "x@y.z", "q@r.s"]
    assert enc.encrypt("d.p", data)["email"].to_pylist()[0] is None  # new values of theirs are not stored
    assert b"x@y.z" not in (keys / "keys.db").read_bytes()


@pytest.mark.slow
def test_pii_is_ciphertext_on_disk_and_clear_where_allowed(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path)
    clear = _profile(root, "C000002")
    email, phone = str(clear["email"]), str(clear["phone"])
    assert email == "user2@example.com" and str(clear["date_of_birth"]).count("-") == 2  # a DATE again
    assert files_holding(root / "lakehouse", [email, phone]) == []  # every layer, quarantine and the raw record
    assert (root / "lakehouse/customers/customer_records").exists()
    report = _open(root).quality.check(PROFILES)
    assert report.passed, [(r.name, r.observed) for r in report.failed]  # patterns are judged on clear values
    # governed: the dpo role decrypts; an analyst sees ciphertext, masks still work on the clear value
    assert _profile(root, "C000002", "dora@company.com")["email"] == email
    seen = (
        _profile(root, "C000002", "ana@company.com")
        or _open(root).query(f"SELECT * FROM {PROFILES} LIMIT 1", principal="ana@company.com").to_pylist()[0]
    )
    assert str(seen["email"]).startswith(PREFIX) and str(seen["phone"]).startswith("***")
    assert len(str(seen["phone"])) == 7
    with pytest.raises(AccessDenied, match="lakemesh_decrypt"):
        _open(root).query(f"SELECT lakemesh_decrypt(email, customer_id) FROM {PROFILES}", principal="ana@company.com")
    # equality on ciphertext works without the key: the same subject's email matches across layers
    joined = _open(root).query(
        f"SELECT count(*) AS n FROM {PROFILES} p JOIN {RECORDS} r USING (customer_id) WHERE p.email = r.email",
        principal="ana@company.com",
    )
    assert joined.to_pylist()[0]["n"] > 0


@pytest.mark.slow
def test_rotation_re_encrypts_and_retires_the_old_key(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path, key_per="mesh")
    before = _profile(root, "C000002")
    held = _open(root).quality.quarantine(PROFILES, limit=None).num_rows
    old = KeyStore("shop").active()
    result = _open(root).governance.encrypt(rotate=True, retire=True)
    assert result.retired == [old] and result.key != old and result.tables[PROFILES] > 0
    assert _profile(root, "C000002") == before
    assert files_holding(root / "lakehouse", [f"{PREFIX}m{old}:"]) == []  # no byte under the old key is left
    # consumers behind the purged history catch up by reading in full; what that full read rejects
    # replaces the quarantine rather than adding the same rows again
    report = _open(root).run()
    assert report.ok and {r.product_id: r for r in report.runs}[PROFILES].rows_read > 0
    assert held > 0 and _open(root).quality.quarantine(PROFILES, limit=None).num_rows == held
    # the key store lost: encrypted columns cannot be read, with the reason and the fix; others still can
    (keys / "keys.db").unlink()
    assert _open(root).query(f"SELECT count(*) AS n, max(country) AS c FROM {PROFILES}").to_pylist()[0]["n"] > 0
    with pytest.raises(LakemeshError, match="not in the key store"):
        _open(root).query(f"SELECT email FROM {PROFILES}")


@pytest.mark.slow
def test_shredding_makes_a_subject_unreadable_everywhere(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path)
    report = _open(root).governance.forget(["customer_id=C000002"], shred=True)
    assert report.keys_destroyed == 1
    actions = {s.product_id: s.action for s in report.steps}
    assert actions[PROFILES] == "shred" and actions["orders.analytics_orders"] == "review"
    row = _profile(root, "C000002")
    assert row["customer_id"] == "C000002" and row["email"] is None and row["country"]  # the rest stays
    # earlier versions hold the same ciphertext, and it is as unreadable there
    first = _open(root).query(f"SELECT email FROM {PROFILES} WHERE customer_id = 'C000002'", as_of="0")
    assert first.to_pylist() == [{"email": None}]
    assert _open(root).governance.encrypt().tables[PROFILES] > 0  # a rebuild drops them; nothing fails on the NULLs
    assert _open(root).run().ok and _profile(root, "C000002") in ({}, row)
    with pytest.raises(MissingKeyError):
        KeyStore("other").mesh_cipher("nope")


@pytest.mark.slow
def test_forget_finds_a_subject_whose_key_column_is_encrypted(tmp_path: Path, keys: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    mesh_yaml = root / "mesh.yaml"
    text = mesh_yaml.read_text().replace("keyPer: subject", "keyPer: mesh")
    mesh_yaml.write_text(text.replace("encrypt: [restricted]", "encrypt: [confidential, restricted]"))
    write_customers(root / "data/customers/c.csv", 300)
    write_order_events(root / "data/order_events/e.jsonl", 1000)
    assert _open(root).run().ok
    stored = _open(root).lakehouse.table(PROFILES).to_pyarrow_table(columns=["customer_id"])
    assert all(v.startswith(PREFIX) for v in stored["customer_id"].to_pylist())  # the key itself is sealed
    sealed = _open(root).query(f"SELECT customer_id FROM {PROFILES} WHERE customer_id = 'C000002'")
    assert sealed.num_rows == 1  # read in clear
    report = _open(root).governance.forget(["customer_id=C000002"])
    assert report.ok and {s.product_id: s.rows.get(s.product_id) for s in report.steps}[PROFILES] == 1
    assert _open(root).query(f"SELECT count(*) AS n FROM {PROFILES} WHERE customer_id = 'C000002'").to_pylist() == [
        {"n": 0}
    ]


def test_the_mesh_key_may_come_from_the_environment(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMESH_ENCRYPTION_KEY", "ab" * 64)
    store = KeyStore("t")
    enc = Encryptor({"d.p": ColumnPlan(("email",))}, store)
    sealed = enc.encrypt("d.p", pa.table({"email": ["x@y.z"]}))["email"].to_pylist()
    assert store.active() == "env" and sealed[0].startswith(f"{PREFIX}menv:")
    assert enc.decryptor()(pa.array(sealed), pa.array([None], pa.string())).to_pylist() == ["x@y.z"]
    assert not (keys / "keys.db").exists() or store.mesh_keys() == []  # nothing written to the store
    monkeypatch.setenv("LAKEMESH_ENCRYPTION_KEY", "not-hex")
    with pytest.raises(MissingKeyError, match="128 hex digits"):
        KeyStore("t").mesh_cipher("env")


@pytest.mark.slow
def test_turning_encryption_on_over_clear_tables_says_to_encrypt_them(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path, encrypt=False)  # written in clear
    mesh_yaml = root / "mesh.yaml"
    mesh_yaml.write_text(mesh_yaml.read_text().replace(f"#{ENCRYPT}", ENCRYPT))
    write_customers(root / "data/customers/d.csv", 50)
    mesh = _open(root)
    assert mesh.encryptor is not None
    # typed (date_of_birth) and text columns alike: the text ones known clear from the files' statistics
    clear = mesh.encryptor.stored_in_clear(mesh.lakehouse, RECORDS)
    assert {"date_of_birth", "email", "phone"} <= set(clear)
    report = mesh.run([RECORDS])
    assert not report.ok
    failed = report.runs[0]
    assert "encrypted by policy now, but the table holds it in clear" in str(failed.error)
    assert "email" in str(failed.error)
    assert "lakemesh governance encrypt" in str(failed.hint)
    # meanwhile a governed query reads the clear DATE column as it is, not through the decrypt function
    sql = f"SELECT date_of_birth FROM {RECORDS} WHERE date_of_birth IS NOT NULL LIMIT 3"
    births = mesh.query(sql, principal="dora@company.com")
    assert pa.types.is_date(births.schema.field("date_of_birth").type) and births.num_rows == 3
    _open(root).governance.encrypt()
    mesh = _open(root)
    assert mesh.encryptor is not None and mesh.encryptor.stored_in_clear(mesh.lakehouse, RECORDS) == []
    assert _open(root).run([RECORDS]).ok
    stored = _open(root).lakehouse.table(RECORDS).to_pyarrow_table(columns=["email"])
    assert all(str(v).startswith(PREFIX) for v in stored["email"].to_pylist() if v is not None)
    births = _open(root).query(f"SELECT date_of_birth FROM {RECORDS} WHERE date_of_birth IS NOT NULL LIMIT 3")
    assert pa.types.is_date(births.schema.field("date_of_birth").type) and births.num_rows == 3
