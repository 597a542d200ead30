"""Change events that do not fit the silver contract: quarantined with position and reason, the rest flows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cdc.conftest import open_mesh, sql, write_workspace
from tests.cdc.test_capture import silver_rows, source_rows

pytestmark = pytest.mark.postgres
BRONZE, SILVER = "sales.order_changes", "sales.orders"


def event(op: str, lsn: int, after: dict[str, object] | None = None, before: dict[str, object] | None = None) -> str:
    return json.dumps({"op": op, "before": before, "after": after, "source": {"lsn": lsn, "table": "orders"}})


def quarantined(root: Path, order: str) -> list[dict[str, object]]:
    return sorted(
        open_mesh(root).quality.quarantine(SILVER, limit=None).to_pylist(), key=lambda r: str(r[order]).zfill(40)
    )


def apply(root: Path, path: Path, *lines: str) -> None:
    path.write_text("\n".join(lines) + "\n")
    mesh = open_mesh(root)
    mesh.streams.apply_file(BRONZE, path.open(), path.name)
    report = open_mesh(root).run([SILVER])
    assert report.ok, [r.error for r in report.runs]


def test_misfit_file_events_are_quarantined_with_line_and_reason(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard", snapshot="never")
    contract = root / "domains/sales/products/orders/contract.yaml"
    text = contract.read_text().replace(
        "{name: customer, logicalType: string,", "{name: customer, required: true, logicalType: string,"
    )
    text = text.replace(
        "{name: status, logicalType: string, physicalType: VARCHAR}",
        "{name: status, logicalType: string, physicalType: VARCHAR, logicalTypeOptions: {pattern: '^(new|paid)$'}}",
    )
    rule = (
        "    quality:\n      - name: amount_sane\n        type: custom\n        engine: great-expectations\n"
        "        implementation:\n          type: expect_column_values_to_be_between\n"
        "          kwargs: {column: amount, max_value: 1000}\n        severity: quarantine\n"
    )
    contract.write_text(text + rule)
    apply(
        root,
        tmp_path / "one.jsonl",
        event("c", 10, {"id": 1, "customer": "A", "amount": "1.50", "status": "new"}),
        event("c", 11, {"id": 2, "customer": "B", "amount": "abc", "status": "new"}),  # not a decimal
        event("c", 12, {"id": 3, "customer": "C", "amount": "3.00", "status": "new"}),
        event("u", 13, {"id": 3, "customer": "C", "amount": "3.00", "status": "lost"}),  # not of the pattern
        event("c", 14, {"id": "seven", "customer": "D"}),  # the key is not an integer
        event("u", 15, {"id": 1, "placed_at": "yesterday"}),  # not a timestamp
        event("c", 16, {"id": 4, "customer": None, "amount": "1" * 70}),  # no customer, and too big: both said
    )
    assert silver_rows(root) == {
        1: ("A", Decimal("1.50"), "new", None, None),
        3: ("C", Decimal("3.00"), "new", None, None),  # the bad update held: the row as before it
    }
    held = quarantined(root, "_cdc_position")
    assert [(h["_cdc_position"], h["_quarantine_checks"]) for h in held] == [
        ("one.jsonl:2 (LSN 0/B)", "type"),
        ("one.jsonl:4 (LSN 0/D)", "pattern"),
        ("one.jsonl:5 (LSN 0/E)", "type"),
        ("one.jsonl:6 (LSN 0/F)", "type"),
        ("one.jsonl:7 (LSN 0/10)", "required,type"),
    ]
    reasons = [h["_quarantine_reason"] for h in held]
    assert reasons[0] == "amount: 'abc' is not DECIMAL(12, 2)"
    assert reasons[1] == "status: 'lost' does not match ^(new|paid)$"
    assert reasons[2] == "id: 'seven' is not INT"
    assert reasons[3].startswith("placed_at: 'yesterday' is not TIMESTAMP")
    assert (
        reasons[4]
        == f"customer: null, but the contract requires a value; amount: '{'1' * 60}...' is not DECIMAL(12, 2)"
    )
    assert held[0]["id"] == 2 and held[0]["amount"] is None and held[2]["id"] is None  # values that fit are kept
    # later files are not blocked, and a later good change of a held key applies
    apply(
        root,
        tmp_path / "two.jsonl",
        event("c", 20, {"id": 2, "customer": "B", "amount": "2.00", "status": "paid"}),
        event("d", 21, before={"id": 3}),
        event("c", 22, {"id": 9, "customer": "E", "amount": "5000", "status": "new"}),  # fits; the gate holds it
    )
    assert sorted(silver_rows(root)) == [1, 2]
    held = quarantined(root, "_cdc_position")  # the gate's rows and the misfits in one table
    assert len(held) == 6 and [(h["id"], h["_quarantine_checks"]) for h in held if h["_cdc_position"] is None] == [
        (9, "amount_sane")
    ]
    report = open_mesh(root).run([SILVER])  # nothing new: nothing quarantined twice
    assert report.ok and len(quarantined(root, "_cdc_position")) == 6


def test_misfit_stream_events_are_quarantined_with_their_lsn(tmp_path: Path, source_db: str) -> None:
    root = write_workspace(tmp_path / "ws", source_db, deletes="hard")
    first = open_mesh(root).run()
    assert first.ok
    # the source widens amount beyond the contract's DECIMAL(12,2); one such value, and good changes around it
    sql(
        source_db,
        "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(20, 2)",
        "UPDATE orders SET status = 'paid' WHERE id <= 3",
        "INSERT INTO orders VALUES (300, 'Z', 123456789012345.00, 'new', NULL, NULL)",
        "UPDATE orders SET amount = 99999999999999.99 WHERE id = 4",
        "UPDATE orders SET status = 'shipped' WHERE id = 5",
    )
    report = open_mesh(root).run()
    silver = {r.product_id: r for r in report.runs}[SILVER]
    assert report.ok and silver.quarantined == 2, [r.error for r in report.runs]
    held = quarantined(root, "id")
    assert [(h["id"], h["_cdc_op"]) for h in held] == [(4, "u"), (300, "c")]
    assert held[1]["_quarantine_reason"] == "amount: '123456789012345.00' is not DECIMAL(12, 2)"
    assert all(h["_cdc_position"].startswith("LSN ") and " #0" in h["_cdc_position"] for h in held)
    expected = {k: v for k, v in source_rows(source_db).items() if k != 300}
    expected[4] = (*expected[4][:1], Decimal("5.00"), *expected[4][2:])  # held: the row as it was
    assert silver_rows(root) == expected
    sql(source_db, "UPDATE orders SET amount = 4.50 WHERE id = 4", "UPDATE orders SET status = 'x' WHERE id = 6")
    assert open_mesh(root).run().ok  # not stuck: later changes apply
    assert silver_rows(root)[4][1] == Decimal("4.50") and silver_rows(root)[6][2] == "x"
