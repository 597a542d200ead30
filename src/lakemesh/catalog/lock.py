"""One writer at a time per lakehouse: the writer lock every changing facade method holds.

Embedded (SQLite catalog): an OS lock (`flock`) on a file beside the catalog database. PostgreSQL
catalog: a session-level advisory lock on a connection of its own. Either dies with its process, so a
killed writer never blocks the next one. Reentrant within a process (an erasure runs the pipeline).
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from lakemesh.catalog.engine import display_url, make_engine
from lakemesh.errors import CatalogError

DEFAULT_WAIT = 60.0
_POLL = 0.2
Notice = Callable[[str], None]


class LockTimeoutError(CatalogError):
    """Another writer held the lakehouse's writer lock for longer than we were to wait."""


@dataclass
class _Held:
    """What this process holds for one lock key: the OS-level lock and how deep the nesting is."""

    guard: threading.RLock
    depth: int = 0
    release: Callable[[], None] | None = None


_HELD: dict[str, _Held] = {}
_REGISTRY = threading.Lock()


def holder_info(command: str) -> str:
    """Who holds the lock: shown to the writers waiting for it."""
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()[:20]} ({getpass.getuser()}: {command}) since {since}"


def _command() -> str:
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    command = " ".join(args)
    return command if len(command) <= 60 else command[:57] + "..."


class WriterLock:
    """The writer lock of one lakehouse, reached through its catalog URL."""

    def __init__(self, catalog_url: str, storage_root: str, wait: float | None = None) -> None:
        self.catalog_url = catalog_url
        self.storage_root = storage_root
        self.wait = DEFAULT_WAIT if wait is None else wait
        backend = make_url(catalog_url).get_backend_name() if "://" in catalog_url else "sqlite"
        self.postgres = backend == "postgresql"
        # different lakehouses sharing one PostgreSQL catalog do not exclude each other
        digest = hashlib.blake2b(storage_root.encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big", signed=True)
        self.name = f"pg:{display_url(catalog_url)}:{self.key}" if self.postgres else str(self._lock_file())

    def _lock_file(self) -> Path:
        db = make_url(self.catalog_url).database if "://" in self.catalog_url else None
        if db and db != ":memory:":
            return Path(f"{db}.writer.lock").resolve()
        return (Path(self.storage_root) / ".lakemesh-writer.lock").resolve()

    @contextmanager
    def hold(self, notice: Notice | None = None) -> Iterator[None]:
        """Hold the lock for the block: waits up to `wait` seconds for another writer, then refuses."""
        with _REGISTRY:
            held = _HELD.setdefault(self.name, _Held(threading.RLock()))
        if not held.guard.acquire(timeout=max(self.wait, 0)):
            raise self._timeout("another thread of this process")
        try:
            if held.depth == 0:
                held.release = self._acquire_pg(notice) if self.postgres else self._acquire_file(notice)
            held.depth += 1
            try:
                yield
            finally:
                held.depth -= 1
                if held.depth == 0 and held.release is not None:
                    held.release()
                    held.release = None
        finally:
            held.guard.release()

    def _waiting(self, notice: Notice | None, holder: str) -> None:
        message = f"waiting up to {self.wait:g}s for the writer lock held by {holder or 'another writer'}"
        (notice or (lambda m: print(m, file=sys.stderr, flush=True)))(message)

    def _timeout(self, holder: str) -> LockTimeoutError:
        return LockTimeoutError(
            f"the lakehouse is locked by another writer: {holder or 'unknown'}; gave up after {self.wait:g}s",
            "wait for it to finish (or stop it) and run again; `--wait SECONDS` waits longer",
        )

    def _acquire_file(self, notice: Notice | None) -> Callable[[], None]:
        path = self._lock_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            self._poll(lambda: _try_flock(handle), lambda: _read(path), notice)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(holder_info(_command()))
        handle.flush()

        def release() -> None:
            handle.truncate(0)
            handle.close()  # closing drops the flock

        return release

    def _acquire_pg(self, notice: Notice | None) -> Callable[[], None]:
        engine = make_engine(self.catalog_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CatalogError(f"cannot take the writer lock at {display_url(self.catalog_url)}: {reason}") from exc
        name = f"lakemesh {_command()}"[:40]
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": name})
        try:
            self._poll(lambda: self._try_pg(conn), lambda: self._pg_holder(conn), notice)
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        stamp = f"{name[:24]} {os.getpid()}@{socket.gethostname()[:12]} {datetime.now(UTC):%H:%M:%SZ}"
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": stamp[:63]})

        def release() -> None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                conn.close()  # the session ending releases it as well
                engine.dispose()

        return release

    def _try_pg(self, conn: Connection) -> bool:
        return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())

    def _pg_holder(self, conn: Connection) -> str:
        # an advisory lock on a bigint shows as classid (high half) and objid (low half) in pg_locks
        row = conn.execute(
            text(
                "SELECT a.pid, a.client_addr, a.usename, a.application_name, a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
            ),
            {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF},
        ).first()
        if row is None:
            return ""
        return f"'{row.application_name}' (server pid {row.pid}, {row.usename}, connected {row.backend_start:%H:%M:%S})"

    def _poll(self, attempt: Callable[[], bool], holder: Callable[[], str], notice: Notice | None) -> None:
        if attempt():
            return
        self._waiting(notice, holder())
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            time.sleep(_POLL)
            if attempt():
                return
        raise self._timeout(holder())


def _try_flock(handle: IO[Any]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
