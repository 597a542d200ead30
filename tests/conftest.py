"""Shared fixtures: the example workspace, a PostgreSQL server started once per session, catalogs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.golden.checker import Golden
from tests.pg_server import PostgresServer, PostgresUnavailable

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop"
FIXTURES = Path(__file__).parent / "fixtures"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist workers start with COLUMNS=80 and LINES=24 set: the CLI's console, made at import, would keep
    # 80 columns whatever a test's CliRunner sets, so a worker renders as a plain session does
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files (generated SQL, exports) with the current output; review with git diff",
    )


@pytest.fixture(scope="session", autouse=True)
def private_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Key stores and secrets in the session's own folder (one per xdist worker), never the user's
    ~/.config/lakemesh that other sessions write too; a test may still point LAKEMESH_KEY_DIR elsewhere."""
    folder = tmp_path_factory.mktemp("keys")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEMESH_KEY_DIR", str(folder))
        yield folder


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """Checks text against a golden file; `--update-golden` or LAKEMESH_UPDATE_GOLDEN=1 rewrites it."""
    update = bool(request.config.getoption("--update-golden")) or bool(os.environ.get("LAKEMESH_UPDATE_GOLDEN"))
    return Golden(update)


def example_copy(target: Path) -> Path:
    """The example shop's specs copied to `target`, without anything built or any data."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data"))
    return target


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A private copy of the example shop workspace."""
    return example_copy(tmp_path / "shop")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session; failing to start it fails the tests that need it."""
    try:
        server = PostgresServer()
        server.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start the test PostgreSQL server: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(postgres.url("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return postgres.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A catalog URL on each backend: the same tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("postgres_url"))
