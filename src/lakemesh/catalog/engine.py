"""Catalog connections: one SQLAlchemy engine for SQLite or PostgreSQL, migrated by Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from lakemesh.errors import CatalogError

MIGRATIONS = Path(__file__).parent / "migrations"
HINT = "set `catalog:` in mesh.yaml or LAKEMESH_CATALOG_URL (sqlite:///path.db or postgresql://user@host/db)"


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")  # deleted and overwritten records are zeroed, not left in free space
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, create: bool = True) -> Engine:
    """An engine for `url`; the SQLite file's folder is created when `create` is set."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CatalogError(f"catalog URL '{url}' is not a database URL", HINT) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise CatalogError(f"catalog URL '{display_url(url)}': {backend} is not supported", HINT)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            path = Path(db)
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.exists():
                raise CatalogError(f"no catalog at {db}", "run `lakemesh catalog sync` to create it")
    else:
        if parsed.drivername == "postgresql":
            # SQLAlchemy 2.1 picks psycopg 3 for a bare URL; lakemesh ships psycopg2 (also used for CDC)
            parsed = parsed.set(drivername="postgresql+psycopg2")
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise CatalogError(f"no database driver for '{display_url(url)}': {exc}", HINT) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def check_connection(engine: Engine, url: str) -> None:
    """Connect once, turning driver errors into a CatalogError naming the URL as given (password masked)."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogError(f"cannot reach the catalog at {display_url(url)}: {reason}", HINT) from exc


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the catalog schema in place to `revision` (default: the newest)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return  # the common case, without loading Alembic's machinery
    cfg = _config()
    try:
        with engine.connect() as conn, _transactional_ddl(conn):
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise CatalogError(f"migrating the catalog at {display_url(str(engine.url))} failed: {exc}") from exc


@contextmanager
def _transactional_ddl(conn: Connection) -> Iterator[None]:
    """One transaction around DDL. pysqlite issues no BEGIN before DDL, so each CREATE TABLE committed on
    its own: a process killed while creating the catalog left half of it, and every later run failed on
    'table already exists'. On SQLite the BEGIN is ours (IMMEDIATE: two first runs migrate one at a time)."""
    if conn.dialect.name != "sqlite":
        with conn.begin():
            yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    previous = raw.isolation_level
    raw.isolation_level = None  # pysqlite leaves the transaction to us
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        raw.isolation_level = previous
