"""`governance encrypt` plans first: a no-op when nothing is clear, a dry run, and a confirmation before it
purges history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakemesh.governance.encryption import KeyStore
from tests.cli.test_cli import run
from tests.governance.test_encryption import ENCRYPT, PROFILES, RECORDS, _open, _shop, keys

__all__ = ["keys"]  # the key folder fixture, shared


def _versions(root: Path) -> dict[str, int | None]:
    mesh = _open(root)
    return {t: mesh.lakehouse.version(t) for t in (RECORDS, PROFILES, f"{PROFILES}__quarantine")}


@pytest.mark.slow
def test_encrypt_with_nothing_clear_changes_nothing(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path, key_per="mesh")  # written sealed from the start
    before = _versions(root)
    assert _open(root).governance.encryption_plan().empty
    result = _open(root).governance.encrypt()
    assert result.tables == {} and not result.changed and _versions(root) == before
    assert _open(root).catalog.audit_entries("encryption") == []
    assert _open(root).query(f"SELECT count(*) AS n FROM {PROFILES}", as_of="0").to_pylist()[0]["n"] > 0
    code, out = run("-w", str(root), "governance", "encrypt")
    assert code == 0 and "nothing to encrypt" in out and _versions(root) == before
    _open(root).query(f"SELECT count(*) AS n FROM {PROFILES}", as_of="0")  # time travel still there


@pytest.mark.slow
def test_encrypting_clear_tables_is_planned_shown_and_confirmed(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path, encrypt=False)
    mesh_yaml = root / "mesh.yaml"
    mesh_yaml.write_text(mesh_yaml.read_text().replace(f"#{ENCRYPT}", ENCRYPT))
    before = _versions(root)
    plan = {t.table_id: t for t in _open(root).governance.encryption_plan().tables}
    rows = _open(root).query(f"SELECT count(*) AS n, count(email) AS e FROM {RECORDS}").to_pylist()[0]
    assert plan[RECORDS].columns["email"].clear == rows["e"] and plan[RECORDS].rows == rows["n"]
    assert plan[RECORDS].versions == list(range(before[RECORDS] + 1))
    code, out = run("-w", str(root), "governance", "encrypt", "--dry-run")
    assert code == 0 and RECORDS in out and "clear" in out and "time travel" in out and "dry run" in out
    code, out = run("-w", str(root), "governance", "encrypt", "--dry-run", "--json")
    assert {t["table_id"] for t in json.loads(out)["tables"]} == set(plan)
    code, out = run("-w", str(root), "governance", "encrypt")  # not a terminal, no --yes
    assert code == 1 and "without confirmation" in out and "--yes" in out
    assert _versions(root) == before
    code, out = run("-w", str(root), "governance", "encrypt", "--yes")
    assert code == 0 and f"{RECORDS}: {rows['n']:,} rows re-encrypted" in out
    assert _open(root).governance.encryption_plan().empty
    code, out = run("-w", str(root), "governance", "encrypt", "--yes")
    assert code == 0 and "nothing to encrypt" in out and "re-encrypted" not in out


@pytest.mark.slow
def test_rotation_plans_every_table_with_the_same_warning(tmp_path: Path, keys: Path) -> None:
    root = _shop(tmp_path, key_per="mesh")
    before, old = _versions(root), KeyStore("shop").active()
    code, out = run("-w", str(root), "governance", "encrypt", "--rotate", "--dry-run")
    assert code == 0 and "rotation" in out and RECORDS in out and PROFILES in out and "time travel" in out
    assert _versions(root) == before and KeyStore("shop").active() == old  # no key made by a dry run
    code, out = run("-w", str(root), "governance", "encrypt", "--rotate", "--yes")
    assert code == 0 and KeyStore("shop").active() != old and f"{PROFILES}:" in out
