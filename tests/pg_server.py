"""A throwaway PostgreSQL cluster for the test session: initdb in a temp folder, started on a free port.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user that Debian's
package creates. `wal_level=logical` is set for the change-data-capture tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bin() -> Path:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's versioned folders, newest first."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[4]), reverse=True)
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: run `make postgres` "
            "(apt-get install postgresql) and try again"
        )
    return found[0].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, wal_level: str = "logical") -> None:
        self.wal_level = wal_level
        self.bin = find_bin()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root but there is no `postgres` user to run the server") from exc
            self.user = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="lakemesh-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        if self.user:
            shutil.chown(self.dir, user=self.user)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(list(args), user=self.user, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed: {out.stderr.strip()}\n{tail}")
        return out

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "lakemesh", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c wal_level={self.wal_level} "
            "-c max_wal_senders=10 -c max_replication_slots=10 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://lakemesh@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
