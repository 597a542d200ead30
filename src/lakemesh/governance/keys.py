"""Secrets lakemesh keeps outside the workspace and the tables: the mask key, the pseudonym key.

Each secret comes from the environment (`LAKEMESH_<NAME>`) when set, else from a file in the key folder
(`LAKEMESH_KEY_DIR`, by default `~/.config/lakemesh`), created with a random value on first use and
readable by its owner only. Never from the workspace, which lives in git, nor from the lakehouse.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from pathlib import Path


def key_dir() -> Path:
    """The folder holding lakemesh's key files."""
    configured = os.environ.get("LAKEMESH_KEY_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "lakemesh"


def secret(name: str) -> str:
    """The secret `name` (e.g. `mask-key`): LAKEMESH_MASK_KEY, else the key folder's file, made if missing."""
    env = os.environ.get("LAKEMESH_" + name.upper().replace("-", "_"))
    return env or _secret_file(key_dir() / name)


@functools.lru_cache(maxsize=16)
def _secret_file(path: Path) -> str:
    """The secret in a key file, read once per process (pseudonyms ask for it per value)."""
    folder = path.parent
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


def pseudonym(value: str) -> str:
    """A keyed SHA-256 of a value, for records that must recognise it without holding it (an erased
    subject); `pseudonym_sql` computes the same in DuckDB."""
    return hashlib.sha256(f"{secret('mask-key')}\x1f{value}".encode()).hexdigest()


def pseudonyms(values: list[str]) -> list[str]:
    """`pseudonym` of many values, the key read once."""
    prefix = f"{secret('mask-key')}\x1f"
    return [hashlib.sha256(f"{prefix}{v}".encode()).hexdigest() for v in values]


def pseudonym_sql(expression: str) -> str:
    """DuckDB SQL computing `pseudonym` of a text expression."""
    key = secret("mask-key").replace("'", "''")
    return f"sha256('{key}' || chr(31) || {expression})"
