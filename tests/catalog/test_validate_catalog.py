"""`validate` as a CI gate: a catalog it cannot read fails it, unless told to skip the check."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lakemesh.cli.main import app
from lakemesh.mesh import Mesh
from lakemesh.settings import Settings


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # the table wraps long messages


def test_a_corrupt_catalog_fails_validate(shop: Path) -> None:
    (shop / ".lakemesh").mkdir()
    (shop / ".lakemesh/catalog.db").write_bytes(b"not a database, just bytes" * 100)
    report = Mesh.open(shop).validate()
    assert not report.ok
    [problem] = report.errors
    assert problem.file == "mesh.yaml" and "--skip-catalog" in problem.message and "not a database" in problem.message
    code, out = _cli("-w", str(shop), "validate")
    assert code == 1 and "breaking-change check cannot run" in out
    code, out = _cli("-w", str(shop), "validate", "--skip-catalog")
    assert code == 0 and "breaking-change check skipped" in out


def test_an_unreachable_catalog_fails_validate(shop: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nowhere"  # nothing listens on port 1
    report = Mesh.open(shop, Settings(catalog_url=url)).validate()
    assert not report.ok and "cannot reach the catalog" in report.errors[0].message
    assert Mesh.open(shop, Settings(catalog_url=url)).validate(skip_catalog=True).ok


def test_a_workspace_never_run_has_no_catalog_and_validates(shop: Path) -> None:
    report = Mesh.open(shop).validate()
    assert report.ok and not report.problems
    assert not (shop / ".lakemesh/catalog.db").exists()
