"""Encryption at rest of PII columns: deterministic authenticated encryption (AES-SIV), keys kept apart.

Which columns: those a `pii_protection` policy lists by classification (`encrypt: [restricted]`). They
are encrypted on write, in every layer and in quarantine, after the quality gate has judged the clear
values; transforms, quality checks and ungoverned queries read them decrypted; `query --as` decrypts
only for the policy's `decryptRoles` and shows everyone else the ciphertext. Encryption is
deterministic, so equal values stay equal: joins, GROUP BY and equality filters on ciphertext work.

A stored value reads `lmenc1:<key>:<base64 of the SIV ciphertext>`, where <key> is `m<id>`, a mesh key
(`keyPer: mesh`), or `s`, the key of the row's data subject (`keyPer: subject`). Destroying a subject's
key shreds their values in every table, version and backup at once, with nothing rewritten.

Keys live in the key store, a SQLite file in the key folder (`keys.secret`'s `LAKEMESH_KEY_DIR`), never
in the workspace or the tables; `LAKEMESH_ENCRYPTION_KEY` (128 hex digits) supplies the mesh key from
the environment instead. Rotation adds a key, re-encrypts every table with it and purges the history
that held the old ciphertexts; the old key stays readable until `retire`.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from lakemesh.engines import Engine
from lakemesh.errors import LakemeshError
from lakemesh.governance.keys import key_dir, pseudonym, pseudonyms
from lakemesh.governance.policies import effective_policies
from lakemesh.lakehouse import Lakehouse, is_text
from lakemesh.spec.models import Layer, PiiProtectionPolicy
from lakemesh.spec.odcs import PII
from lakemesh.spec.types import DEFAULT_DIALECT, sql_type
from lakemesh.spec.workspace import Workspace
from lakemesh.sql import q

PREFIX = "lmenc1:"
KEY_BYTES = 64  # AES-SIV with two 256-bit keys
ENV_KEY = "LAKEMESH_ENCRYPTION_KEY"
SUBJECT_CACHE = 500_000  # subject ciphers kept in memory (about 100 MiB)


class EncryptionError(LakemeshError):
    """Encryption cannot be done as asked."""


class MissingKeyError(EncryptionError):
    """A key the data needs is not in the key store."""


@dataclass(frozen=True)
class ColumnPlan:
    """How one product's columns are encrypted: which, by whose key, readable in clear by which roles."""

    columns: tuple[str, ...]
    key_per: str = "mesh"  # or "subject"
    subject_column: str | None = None
    decrypt_roles: frozenset[str] = frozenset()
    # the contract's SQL type of each column that is not text: stored as text, read back as this
    types: tuple[tuple[str, str], ...] = ()


class KeyStore:
    """Mesh keys (one active, older ones kept for reading) and per-subject keys, in one SQLite file."""

    def __init__(self, scope: str, path: Path | None = None) -> None:
        self.scope = scope  # the mesh's name: one store may serve several meshes
        self.path = path or key_dir() / "keys.db"
        self._con: sqlite3.Connection | None = None
        self._cache: dict[str, AESSIV] = {}
        self._subjects: dict[str, AESSIV | None] = {}  # by clear subject value, this process's working set
        self._lock = threading.RLock()

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            # DuckDB calls the decryption function from its own threads; `_lock` serialises access
            self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if fresh:
                self.path.chmod(0o600)
            self._con.executescript(
                """
                CREATE TABLE IF NOT EXISTS mesh_keys (scope TEXT, id TEXT, key BLOB NOT NULL, created TEXT,
                    PRIMARY KEY (scope, id));
                CREATE TABLE IF NOT EXISTS subject_keys (scope TEXT, subject TEXT, key BLOB, created TEXT,
                    shredded TEXT, PRIMARY KEY (scope, subject));
                """
            )
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # mesh keys ------------------------------------------------------------------------------------

    def active(self) -> str:
        """The id of the key new values are encrypted with, made on first use."""
        if os.environ.get(ENV_KEY):
            return "env"
        row = self.con.execute(
            "SELECT id FROM mesh_keys WHERE scope = ? ORDER BY created DESC, id DESC LIMIT 1",
            (self.scope,),
        ).fetchone()
        return str(row[0]) if row else self.add()

    def add(self) -> str:
        """A new mesh key, which becomes the active one; returns its id."""
        key_id = os.urandom(4).hex()
        now = datetime.now(UTC).isoformat()
        self.con.execute(
            "INSERT INTO mesh_keys (scope, id, key, created) VALUES (?, ?, ?, ?)",
            (self.scope, key_id, os.urandom(KEY_BYTES), now),
        )
        return key_id

    def retire(self, key_id: str) -> None:
        """Destroy a mesh key: values still encrypted with it can never be read again."""
        self.con.execute("DELETE FROM mesh_keys WHERE scope = ? AND id = ?", (self.scope, key_id))
        self._cache.pop("m" + key_id, None)
        self.con.execute("VACUUM")  # the key's bytes leave the file too

    def mesh_keys(self) -> list[dict[str, str]]:
        rows = self.con.execute(
            "SELECT id, created FROM mesh_keys WHERE scope = ? ORDER BY created", (self.scope,)
        ).fetchall()
        return [{"id": r[0], "created": r[1]} for r in rows]

    def mesh_cipher(self, key_id: str) -> AESSIV:
        with self._lock:
            return self._mesh_cipher(key_id)

    def _mesh_cipher(self, key_id: str) -> AESSIV:
        ref = "m" + key_id
        if ref not in self._cache:
            if key_id == "env":
                material = _env_key()
            else:
                row = self.con.execute(
                    "SELECT key FROM mesh_keys WHERE scope = ? AND id = ?", (self.scope, key_id)
                ).fetchone()
                if row is None:
                    raise MissingKeyError(
                        f"encryption key {key_id} is not in the key store {self.path}: values encrypted with it "
                        "cannot be read",
                        "restore the key store from its backup (or set LAKEMESH_KEY_DIR to where it is)",
                    )
                material = bytes(row[0])
            self._cache[ref] = AESSIV(material)
        return self._cache[ref]

    # subject keys ---------------------------------------------------------------------------------

    def subject_ciphers(self, subjects: Iterable[str], create: bool) -> dict[str, AESSIV | None]:
        """Each subject's cipher (by its clear key value); made when `create`, else None once shredded."""
        with self._lock:
            return self._subject_ciphers(subjects, create)

    def _subject_ciphers(self, subjects: Iterable[str], create: bool) -> dict[str, AESSIV | None]:
        out: dict[str, AESSIV | None] = {}
        wanted: dict[str, str] = {}
        for subject in subjects:
            if subject in self._subjects:
                out[subject] = self._subjects[subject]
            else:
                wanted[subject] = ""
        if not wanted:
            return out
        for subject, name in zip(wanted, pseudonyms(list(wanted)), strict=True):
            wanted[subject] = name
        found = self._stored_keys(list(wanted.values()))
        if create:
            missing = [(self.scope, p, os.urandom(KEY_BYTES), datetime.now(UTC).isoformat())
                       for p in wanted.values() if p not in found]  # fmt: skip
            if missing:
                with self.con:  # one transaction: a commit per key would cost a disk sync each
                    self.con.execute("BEGIN")
                    self.con.executemany("INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?, ?, NULL)", missing)
                found = self._stored_keys(list(wanted.values()))
        if len(self._subjects) > SUBJECT_CACHE:
            self._subjects.clear()
        for subject, name in wanted.items():
            key = found.get(name)
            out[subject] = self._subjects[subject] = AESSIV(key) if key else None
        return out

    def _stored_keys(self, names: list[str]) -> dict[str, bytes | None]:
        """Key by pseudonym; a shredded subject keeps its row, without a key."""
        found: dict[str, bytes | None] = {}
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT subject, key FROM subject_keys WHERE scope = ? AND subject IN ({marks})"
            found.update({r[0]: r[1] and bytes(r[1]) for r in self.con.execute(sql, (self.scope, *chunk))})
        return found

    def shred(self, subjects: Iterable[str]) -> int:
        """Destroy the subjects' keys; returns how many existed. Their values are unreadable from now on,
        and new values of theirs are not stored (a tombstone keeps a new key from being made)."""
        now = datetime.now(UTC).isoformat()
        gone = 0
        subjects = list(subjects)
        with self._lock:
            for subject in subjects:
                self._subjects.pop(subject, None)
            for name in (pseudonym(s) for s in subjects):
                sql = "UPDATE subject_keys SET key = NULL, shredded = ? WHERE scope = ? AND subject = ?"
                gone += self.con.execute(sql + " AND key IS NOT NULL", (now, self.scope, name)).rowcount
                self.con.execute(
                    "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, NULL, ?, ?)", (self.scope, name, now, now)
                )
            self.con.execute("VACUUM")  # the keys' bytes leave the file too
        return gone


def _env_key() -> bytes:
    text = os.environ.get(ENV_KEY, "")
    try:
        material = bytes.fromhex(text)
    except ValueError:
        material = b""
    if len(material) != KEY_BYTES:
        raise MissingKeyError(f"{ENV_KEY} must be {KEY_BYTES * 2} hex digits", "generate one: openssl rand -hex 64")
    return material


# which columns ------------------------------------------------------------------------------------


def column_plans(ws: Workspace) -> dict[str, ColumnPlan]:
    """Per product, the columns its domain's `pii_protection` policies have encrypted (only products with any)."""
    by_domain, _ = effective_policies(ws)
    out = {}
    for pid, entry in ws.products.items():
        if entry.contract is None:
            continue
        specs = [p.spec for p in by_domain.get(entry.spec.domain, []) if p.applies_to(entry)]
        policies = [s for s in specs if isinstance(s, PiiProtectionPolicy) and s.encrypt]
        if not policies:
            continue
        classes = {c.lower() for p in policies for c in p.encrypt}
        subject = sorted(entry.contract.subject_columns)
        key_per = "subject" if any(p.key_per == "subject" for p in policies) and subject else "mesh"
        chosen = [
            c
            for c in entry.contract.table().columns
            if PII in (c.tags or []) and str(c.classification or "").lower() in classes
            and (key_per == "mesh" or c.name != subject[0])  # a subject's key cannot be encrypted with itself
        ]  # fmt: skip
        if chosen:
            types = tuple((c.name, sql_type(c.logical_type, c.physical_type).sql(DEFAULT_DIALECT)) for c in chosen)
            roles = set.intersection(*(set(p.decrypt_roles) for p in policies))
            raw = ("_raw",) if entry.spec.layer is Layer.BRONZE else ()  # the record as received holds them too
            out[pid] = ColumnPlan(
                tuple(c.name for c in chosen) + raw,
                key_per,
                subject[0] if key_per == "subject" else None,
                frozenset(roles),
                tuple((n, t) for n, t in types if t.split("(")[0].upper() not in _TEXT),
            )
    return out


_TEXT = {"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR"}


# encrypting and decrypting ------------------------------------------------------------------------


@dataclass
class Encryptor:
    """Encrypts a product's batch before it is written, decrypts what transforms and queries read."""

    plans: dict[str, ColumnPlan]
    store: KeyStore

    def plan_of(self, table_id: str) -> ColumnPlan | None:
        """The plan of a product or of its quarantine table (`<id>__quarantine` holds the same columns)."""
        return self.plans.get(table_id.removesuffix("__quarantine"))

    def stored_in_clear(self, lakehouse: Lakehouse, table_id: str) -> list[str]:
        """Protected columns the stored table still holds in clear, written before a policy encrypted
        them: a column stored with its own type (a DATE), or text whose file statistics show a value that
        is not ciphertext. A file without statistics for a column cannot tell, and counts as sealed."""
        plan = self.plan_of(table_id)
        if plan is None or not lakehouse.exists(table_id):
            return []
        table = lakehouse.table(table_id)
        schema = pa.schema(table.schema().to_arrow())
        files = pa.table(table.get_add_actions(flatten=True))
        clear = []
        for column in (c for c in plan.columns if c in schema.names):
            bounds = [files[f"{side}.{column}"] for side in ("min", "max") if f"{side}.{column}" in files.column_names]
            values = [v for b in bounds for v in b.to_pylist() if v is not None]
            if not is_text(schema.field(column).type) or any(not str(v).startswith(PREFIX) for v in values):
                clear.append(column)
        return clear

    def encrypt(self, table_id: str, data: pa.Table) -> pa.Table:
        plan = self.plan_of(table_id)
        if plan is None:
            return data
        ciphers = self._ciphers(plan, data, create=True)
        for column in plan.columns:
            if column not in data.column_names:
                continue
            values = data[column].cast(pa.string()).to_pylist()
            out = [_encrypt(v, c) for v, c in zip(values, ciphers, strict=True)]
            data = data.set_column(data.column_names.index(column), column, pa.array(out, pa.string()))
        return data

    def _ciphers(self, plan: ColumnPlan, data: pa.Table, create: bool) -> list[tuple[str, AESSIV | None]]:
        if plan.key_per == "mesh":
            key_id = self.store.active()
            return [("m" + key_id, self.store.mesh_cipher(key_id))] * data.num_rows
        assert plan.subject_column is not None
        subjects = data[plan.subject_column].cast(pa.string()).to_pylist()
        by_subject = self.store.subject_ciphers({s for s in subjects if s is not None}, create)
        key_id = self.store.active()
        anonymous = ("m" + key_id, self.store.mesh_cipher(key_id))  # a row without a subject: the mesh key
        return [("s", by_subject.get(s)) if s is not None else anonymous for s in subjects]

    def decryptor(self) -> Callable[..., pa.Array]:
        """A vectorised function for the engine: lakemesh_decrypt(value, subject) -> clear text.

        A value whose subject key was shredded reads as NULL; a missing mesh key is an error."""

        def decrypt(values: pa.Array, subjects: pa.Array) -> pa.Array:
            texts, owners = values.to_pylist(), subjects.to_pylist()
            needed = {o for t, o in zip(texts, owners, strict=True) if o is not None and _ref(t) == "s"}
            ciphers = self.store.subject_ciphers(needed, create=False) if needed else {}
            return pa.array([self._decrypt(t, o, ciphers) for t, o in zip(texts, owners, strict=True)], pa.string())

        return decrypt

    def _decrypt(self, text: str | None, owner: str | None, ciphers: dict[str, AESSIV | None]) -> str | None:
        ref = _ref(text)
        if ref is None:
            return text  # not encrypted (written before the policy, or NULL)
        assert text is not None
        cipher = self.store.mesh_cipher(ref[1:]) if ref.startswith("m") else ciphers.get(owner or "")
        if cipher is None:
            return None  # shredded
        try:
            return cipher.decrypt(base64.urlsafe_b64decode(text.rsplit(":", 1)[1]), None).decode()
        except (InvalidTag, ValueError) as exc:
            raise EncryptionError(
                f"a value sealed with key {ref} does not decrypt (altered, or another key's): {text[:40]}…",
                "restore the table version or the key store it was written with",
            ) from exc

    def reveal(self, table_id: str, names: list[str], register: Registrar) -> str | None:
        """`REPLACE (...)` for a SELECT list showing a table's encrypted columns in clear, the function it
        calls registered with the engine; None when the table has none."""
        plan = self.plan_of(table_id)
        present = [c for c in plan.columns if c in names] if plan else []
        if plan is None or not present:
            return None
        register("lakemesh_decrypt", self.decryptor(), 2)
        return "REPLACE (" + ", ".join(f"{decrypt_sql(plan, c)} AS {q(c)}" for c in present) + ")"

    def clear_sources(self, table_id: str, roles: Iterable[str], engine: Engine) -> tuple[dict[str, str], bool]:
        """For a governed query: the decrypting SQL of each encrypted column, and whether `roles` may read
        them in clear (the policy's decryptRoles). Masks always work on clear values (the mask says what
        shows); an unmasked column shows clear text only to those roles, and the ciphertext to others."""
        plan = self.plan_of(table_id)
        if plan is None:
            return {}, False
        engine.function("lakemesh_decrypt", self.decryptor(), 2)
        return {c: decrypt_sql(plan, c) for c in plan.columns}, bool(plan.decrypt_roles & set(roles))


Registrar = Callable[[str, Callable[..., pa.Array], int], None]


def decrypt_sql(plan: ColumnPlan, column: str) -> str:
    """The SQL expression decrypting a column in place (the engine's `lakemesh_decrypt` function), read
    back as the contract's type."""
    if plan.subject_column:
        clear = f"lakemesh_decrypt({q(column)}, CAST({q(plan.subject_column)} AS VARCHAR))"
    else:
        clear = f"lakemesh_decrypt({q(column)}, CAST(NULL AS VARCHAR))"
    kind = dict(plan.types).get(column)
    return f"CAST({clear} AS {kind})" if kind else clear


def equal_ciphertexts(store: KeyStore, plan: ColumnPlan, value: str) -> list[str]:
    """What a clear value looks like stored under each mesh key (deterministic encryption): how an
    equality filter or an erasure finds it without decrypting the table."""
    ids = {k["id"] for k in store.mesh_keys()} | ({"env"} if os.environ.get(ENV_KEY) else set())
    return [_encrypt(value, ("m" + i, store.mesh_cipher(i))) or "" for i in sorted(ids)]


def _encrypt(value: str | None, cipher: tuple[str, AESSIV | None]) -> str | None:
    ref, siv = cipher
    if siv is None:
        return None  # the subject's key was shredded: their values are not stored again
    if value is None:
        return None
    sealed = base64.urlsafe_b64encode(siv.encrypt(value.encode(), None)).decode()
    return f"{PREFIX}{ref}:{sealed}"


def _ref(text: str | None) -> str | None:
    if text is None or not text.startswith(PREFIX):
        return None
    return text[len(PREFIX) :].split(":", 1)[0]


# rotation -----------------------------------------------------------------------------------------


@dataclass
class Reencrypted:
    table_id: str
    rows: int
    files_removed: int = 0


def reencrypt(lakehouse: Lakehouse, encryptor: Encryptor, table_ids: Iterable[str]) -> list[Reencrypted]:
    """Rewrite each table with its protected columns under the active key (or encrypted for the first
    time), then purge its history: older versions held the old ciphertexts, or the clear values."""
    from lakemesh.engines import make_engine, register_revealed
    from lakemesh.sql import relation

    out = []
    key = encryptor.store.active()
    for table_id in table_ids:
        if not lakehouse.exists(table_id) or encryptor.plan_of(table_id) is None:
            continue
        engine = make_engine()
        try:
            register_revealed(engine, table_id, lakehouse.scan(table_id), encryptor)
            clear = engine.query(f"SELECT * FROM {relation(table_id)}")
        finally:
            engine.close()
        lakehouse.rewrite(table_id, encryptor.encrypt(table_id, clear), {"lakemesh.encryption": f"key {key}"})
        purged = lakehouse.purge_history(table_id, f"encryption: re-encrypted with key {key}")
        out.append(Reencrypted(table_id, clear.num_rows, purged["files_removed"]))
    return out
