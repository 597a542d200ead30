"""The `hash` mask: a keyed pseudonym an analyst holding candidates and everything they can see cannot reverse."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import duckdb
import pytest

from lakemesh.governance.access import MASK_LABEL, AccessDenied
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from lakemesh.synthetic import write_customers
from tests.conftest import EXAMPLE
from tests.governance.test_access import ACCESS, CUSTOMERS, with_access


@pytest.fixture
def masked_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop with a `hash` mask on email, its mask key in a key folder the analyst cannot read."""
    monkeypatch.setenv("LAKEMESH_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("LAKEMESH_MASK_KEY", raising=False)
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    (root / "mesh.yaml").write_text(with_access((root / "mesh.yaml").read_text(), ACCESS))
    write_customers(root / "data/customers/c.csv", 300)
    assert _open(root).run(["customers.customer_records", CUSTOMERS]).ok
    return root


def _open(root: Path) -> Mesh:
    return Mesh.open(root, Settings(user="owner@company.com"))


def _as(root: Path, who: str, sql: str) -> list[dict[str, object]]:
    return _open(root).query(sql, principal=who).to_pylist()


def _guessable_keys(root: Path) -> list[str]:
    """Keys an analyst could try: empty, obvious words, and every line and word of the workspace files."""
    guesses = {"", "key", "secret", "mask", "mask-key", "lakemesh", "shop", "test-mask-key"}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".sql"):
            for line in path.read_text().splitlines():
                guesses.add(line.strip())
                guesses.update(line.split())
    return sorted(guesses)


@pytest.mark.slow
def test_an_analyst_with_candidates_cannot_reidentify_hashed_emails(masked_shop: Path) -> None:
    """The attack of issue 13. The old mask was DuckDB's `hash(email, key)`, which combines hash(email)
    and hash(key) so that the key cancels out: hash(a, k) XOR hash(b, k) == hash(a, z) XOR hash(b, z) for
    every z. So, with no key, an analyst took one masked value m1 and, for each candidate c, the constant
    D = m1 XOR hash(c, 'z'): under the right D every masked value XOR D fell on hash(candidate, 'z'),
    which named every email. The same attack (and plain guessing of the key and the hash) runs here with
    every email of the table as a candidate, and must name none."""
    clear = _as(masked_shop, "root@company.com", f"SELECT customer_id, email FROM {CUSTOMERS}")
    seen = _as(masked_shop, "ana@company.com", f"SELECT customer_id, email FROM {CUSTOMERS}")
    assert len(seen) > 50 and all(str(r["email"]).isdigit() for r in seen)
    candidates = sorted({str(r["email"]) for r in clear})
    masked = [int(str(r["email"])) for r in seen]
    con = duckdb.connect()
    con.execute("CREATE TABLE c AS SELECT unnest(?) AS v", [candidates])
    for z in ("", "z", "lakemesh"):  # the cancellation attack
        ref = {int(r[0]) for r in con.execute("SELECT hash(v, ?) FROM c", [z]).fetchall()}
        best = max(sum((m ^ masked[0] ^ h) in ref for m in masked) for h in ref)
        assert best == 1, f"masked values line up with hash(candidate, {z!r})"
    guesses: set[int] = set()
    for (h,) in con.execute("SELECT hash(v) FROM c").fetchall():
        guesses.add(int(h))
    keys = _guessable_keys(masked_shop)
    for key in keys:  # DuckDB's own hash, and the HMAC itself, under every guessable key
        guesses.update(int(r[0]) for r in con.execute("SELECT hash(v, ?) FROM c", [key]).fetchall())
        for c in candidates:
            digest = hmac.new(key.encode(), MASK_LABEL + c.encode(), hashlib.sha256).digest()
            guesses.add(int.from_bytes(digest[:8]))
            guesses.add(int.from_bytes(hashlib.sha256(f"{key}\x1f{c}".encode()).digest()[:8]))
    assert not guesses & set(masked)


@pytest.mark.slow
def test_hashed_values_join_and_group_like_the_clear_ones(masked_shop: Path) -> None:
    sql = f"SELECT count(DISTINCT email) AS n, count(*) AS rows FROM {CUSTOMERS}"
    assert _as(masked_shop, "ana@company.com", sql) == _as(
        masked_shop, "root@company.com", sql + " WHERE region = 'EMEA'"
    )
    join = f"SELECT count(*) AS n FROM {CUSTOMERS} a JOIN {CUSTOMERS} b ON a.email = b.email"
    rows = _as(masked_shop, "ana@company.com", f"SELECT count(*) AS n FROM {CUSTOMERS}")
    assert _as(masked_shop, "ana@company.com", join) == rows  # one partner per row: deterministic, no collisions
    first = _as(masked_shop, "ana@company.com", f"SELECT customer_id, email FROM {CUSTOMERS} ORDER BY 1")
    assert _as(masked_shop, "ana@company.com", f"SELECT customer_id, email FROM {CUSTOMERS} ORDER BY 1") == first


@pytest.mark.parametrize(
    "call",
    ["lakemesh_pseudonym('someone@example.com')", "LAKEMESH_PSEUDONYM(email)", '"lakemesh_pseudonym"(region)'],
)
def test_the_mask_function_cannot_be_called_to_build_a_dictionary(masked_shop: Path, call: str) -> None:
    with pytest.raises(AccessDenied, match="not allowed in a governed query"):
        _open(masked_shop).query(f"SELECT {call} AS p FROM {CUSTOMERS}", principal="ana@company.com")
