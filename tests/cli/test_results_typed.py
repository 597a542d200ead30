"""Every `--json` is a typed result dumped one way, and every command fails the same way: one red line,
a hint, exit 1, the mesh closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel, TypeAdapter

from lakemesh.catalog import MeshTag, MeshVersionRecord, ProductRecord, QualityRecord, SearchHit, SyncReport
from lakemesh.cli.main import app
from lakemesh.cli.render import DiffReport, ProblemsReport
from lakemesh.governance.classify import Proposal
from lakemesh.governance.encryption_plan import EncryptionPlan
from lakemesh.governance.erasure import ErasureReport
from lakemesh.governance.policies import Violation
from lakemesh.governance.retention import RetentionResult
from lakemesh.governance.tombstones import CatalogRebuild
from lakemesh.lakehouse import CompactionResult, RestoreResult, TableVersion
from lakemesh.lineage.model import ImpactReport, LineageGraph
from lakemesh.mesh import Mesh
from lakemesh.mesh.versions import MeshDiff, MeshPoint
from lakemesh.pipeline import ProductRun
from lakemesh.quality.product import ReprocessResult
from lakemesh.quality.results import CheckReport, QualityReport
from lakemesh.synthetic import write_customers, write_order_events
from tests.cli.test_cli import run

SILVER = "orders.analytics_orders"
EVENTS = "orders.order_events"
CONTRACT = "{shop}/domains/orders/products/analytics_orders/contract.yaml"

# each command with --json: its arguments on the built example shop, and the type its output reads back as
# (None: rows of data, not a model); commands run in this order, so restore follows optimize; {shop} is
# the workspace
JSON_COMMANDS: dict[str, tuple[list[str], Any]] = {
    "validate": ([], ProblemsReport),
    "catalog sync": ([], SyncReport),
    "run": (["--all"], list[ProductRun]),
    "query": (["SELECT count(*) AS n, sum(total_amount) AS s FROM orders.analytics_orders"], None),
    "tag create": (["t1"], MeshTag),
    "tag list": ([], list[MeshTag]),
    "tag show": (["t1"], MeshPoint),
    "tag log": ([], list[MeshVersionRecord]),
    "tag diff": (["1", "t1"], MeshDiff),
    "diff": (["1", "t1"], MeshDiff),
    "optimize": ([EVENTS], CompactionResult),
    "history": ([EVENTS], list[TableVersion]),
    "restore": ([EVENTS, "--to", "0"], RestoreResult),
    "catalog search": (["orders"], list[SearchHit]),
    "catalog show": ([SILVER], ProductRecord),
    "contract lint": ([CONTRACT], ProblemsReport),
    "contract diff": ([SILVER, CONTRACT], DiffReport),
    "lineage": ([SILVER], LineageGraph),
    "impact": ([CONTRACT], ImpactReport),
    "contract check": ([EVENTS, "{shop}/data/order_events/e1.jsonl"], CheckReport),
    "quality check": ([SILVER], QualityReport),
    "quality history": ([SILVER], list[QualityRecord]),
    "quality quarantine": ([SILVER, "--limit", "3"], None),
    "quality reprocess": ([SILVER], ReprocessResult),
    "governance check": (["--data"], list[Violation]),
    "governance classify": (["customers.customer_profiles"], list[Proposal]),
    "governance encrypt": (["--dry-run"], EncryptionPlan),
    "retention apply": (["--dry-run"], list[RetentionResult]),
    "forget": (["--subject", "customer_id=C000042", "--dry-run"], ErasureReport),
    "catalog rebuild": ([], CatalogRebuild),
}
# the example's data breaks none of its SQL policies and its PII columns are tagged: tests/governance checks
# these with data that does
MAY_BE_EMPTY = {"governance check", "governance classify"}
# these need a PostgreSQL source: tests/cdc/test_cli_cdc.py runs them with --json
NEEDS_POSTGRES = {"cdc run", "cdc status"}


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def _json_commands() -> set[str]:
    root = typer.main.get_command(app)
    return {name for name, cmd in _commands(root) if any("--json" in p.opts for p in cmd.params)}


def test_every_json_command_is_covered() -> None:
    """A new command with --json joins JSON_COMMANDS (or NEEDS_POSTGRES), so the test below runs it."""
    assert _json_commands() == set(JSON_COMMANDS) | NEEDS_POSTGRES


@pytest.mark.slow
def test_every_json_output_parses_and_reads_back_as_its_result(shop: Path) -> None:
    write_order_events(shop / "data/order_events/e1.jsonl", 600)
    write_customers(shop / "data/customers/c.csv", 60)
    assert run("-w", str(shop), "run", "--all")[0] == 0
    write_order_events(shop / "data/order_events/e2.jsonl", 300, start=600)  # what `run --json` builds
    for name, (args, kind) in JSON_COMMANDS.items():
        code, out = run("-w", str(shop), *name.split(), *(a.format(shop=shop) for a in args), "--json")
        assert code in (0, 1), f"{name}: exit {code}\n{out}"
        data = json.loads(out)  # stdout is the JSON alone: nothing else printed around it
        assert data not in ({}, []) or name in MAY_BE_EMPTY, f"{name} printed an empty result"
        if kind is None:
            assert isinstance(data, list) and all(isinstance(row, dict) for row in data), name
        else:
            TypeAdapter(kind).validate_python(data)
    restored = RestoreResult.model_validate_json(run("-w", str(shop), "restore", EVENTS, "--to", "1", "--json")[1])
    assert restored.product_id == EVENTS and restored.restored_to == 1 and restored.files_restored >= 1


def _lakemesh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "lakemesh.cli.main", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("catalog", "show", "orders.analytics_order"), "no product 'orders.analytics_order' in the catalog", "sync"),
        (("query", "SELECT 1", "--format", "xml"), "unknown --format 'xml'", "use one of csv, json, parquet"),
        (("forget", "--subject", "customer_id"), "subject 'customer_id' is not COLUMN=VALUE", "--subject customer_id="),
    ],
)
def test_a_failing_command_prints_one_red_line_and_a_hint(
    shop: Path, args: tuple[str, ...], message: str, hint: str
) -> None:
    assert run("-w", str(shop), "catalog", "sync")[0] == 0
    out = _lakemesh(*args, cwd=shop)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith(f"error: {message}") and lines[1].startswith("hint: ") and hint in lines[1]


class _Closes:
    """Counts the meshes commands open and close (`Mesh.close` still runs: the catalog really closes)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[Mesh] = []
        self.closed: list[Mesh] = []
        original_open, original_close = Mesh.open.__func__, Mesh.close  # type: ignore[attr-defined]

        def opening(cls: type[Mesh], *args: Any, **kwargs: Any) -> Mesh:
            mesh = original_open(cls, *args, **kwargs)
            self.opened.append(mesh)
            return mesh

        def closing(mesh: Mesh) -> None:
            self.closed.append(mesh)
            original_close(mesh)

        monkeypatch.setattr(Mesh, "open", classmethod(opening))
        monkeypatch.setattr(Mesh, "close", closing)


def test_the_mesh_is_closed_when_a_command_fails(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("-w", str(shop), "catalog", "sync")[0] == 0
    seen = _Closes(monkeypatch)
    for args in (("catalog", "show", "no.such_product"), ("history", "orders.analytics_orders"), ("vacuum", "x.y")):
        code, out = run("-w", str(shop), *args)
        assert code == 1 and out.startswith("error: ") and "\nhint: " in out, out
    assert len(seen.opened) == 3 and seen.closed == seen.opened
    assert all("catalog" not in mesh.__dict__ for mesh in seen.opened)  # its connections released


def test_results_are_models_not_dicts() -> None:
    """What the facade returns for --json is a model: the CLI has one JSON path, `print_json`."""
    import inspect

    from lakemesh.cli import render

    source = "".join(inspect.getsource(m) for m in _cli_modules())
    assert source.count("json.dumps(") == 1 and "json.dumps(" in inspect.getsource(render.to_json)
    from lakemesh.mesh.governance import Governance
    from lakemesh.mesh.quality import Quality
    from lakemesh.mesh.streams import Streams
    from lakemesh.mesh.tables import Tables

    checked = 0
    for owner in (Mesh, Tables, Quality, Governance, Streams):  # the facade and every namespace of it
        for name, method in inspect.getmembers(owner, inspect.isfunction):
            if name.startswith("_"):
                continue
            annotation = str(inspect.signature(method).return_annotation)
            assert "dict[" not in annotation, f"{owner.__name__}.{name} returns {annotation}"
            checked += 1
    assert checked >= 25
    assert issubclass(ProductRecord, BaseModel)


def _cli_modules() -> list[Any]:
    import importlib
    import pkgutil

    import lakemesh.cli

    return [importlib.import_module(f"lakemesh.cli.{m.name}") for m in pkgutil.iter_modules(lakemesh.cli.__path__)]
