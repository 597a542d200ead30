"""`quality import-gx` edits the contract in place keeping its formatting, and fails when it drops anything."""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

from tests.cli.test_cli import run
from tests.conftest import EXAMPLE

CONTRACT = EXAMPLE / "domains/orders/products/analytics_orders/contract.yaml"
NOT_NULL = "expect_column_values_to_not_be_null"


def _suite(tmp_path: Path, *columns: str) -> Path:
    suite = tmp_path / "suite.json"
    expectations = [{"type": NOT_NULL, "kwargs": {"column": c}} for c in columns]
    suite.write_text(json.dumps({"name": "s", "expectations": expectations}))
    return suite


def test_the_contract_keeps_its_formatting_only_lines_are_added(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    shutil.copy(CONTRACT, contract)
    before = contract.read_text()
    code, out = run("quality", "import-gx", str(_suite(tmp_path, "order_id", "status")), "--contract", str(contract))
    assert code == 0, out
    after = contract.read_text()
    changes = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changes and all(line.startswith("+ ") for line in changes), "\n".join(changes)
    assert sum(f"type: {NOT_NULL}" in line for line in changes) == 2


def test_an_expectation_that_cannot_be_imported_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    shutil.copy(CONTRACT, contract)
    before = contract.read_text()
    code, out = run("quality", "import-gx", str(_suite(tmp_path, "order_id", "coupon")), "--contract", str(contract))
    assert code == 1
    assert "coupon" in out and "not imported" in out and "nothing was written" in out
    assert contract.read_text() == before
