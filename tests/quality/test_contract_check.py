from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.errors import DataFileError
from lakemesh.quality.contract_check import check_file
from lakemesh.quality.results import CheckReport, CheckStatus
from lakemesh.spec.odcs import Contract, contract_from_document, load_contract
from lakemesh.synthetic import expected_dirt, write_order_events
from tests.conftest import EXAMPLE, FIXTURES

EVENTS = EXAMPLE / "domains/orders/products/order_events/contract.yaml"


def _events_contract() -> Contract:
    contract, problems = load_contract(EVENTS)
    assert contract is not None, problems
    return contract


def _by_name(report: CheckReport) -> dict[str, tuple[CheckStatus, int]]:
    return {r.name: (r.status, r.violations) for r in report.results}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_counts_equal_the_dirt_that_was_made(tmp_path: Path, fmt: str) -> None:
    rows = 20_000
    path = tmp_path / f"events.{fmt}"
    written = write_order_events(path, rows, fmt)
    dirt = expected_dirt(rows)
    report = check_file(_events_contract(), path)
    assert report.rows == written == rows + dirt["duplicates"]
    found = _by_name(report)
    assert found["required:order_id"] == (CheckStatus.FAILED, dirt["missing_order_id"])
    assert found["primary_key_unique:event_id"] == (CheckStatus.FAILED, dirt["duplicates"])
    assert found["range:total_amount"] == (CheckStatus.FAILED, dirt["negative_total"])
    assert found["pattern:currency"] == (CheckStatus.FAILED, dirt["bad_currency"])
    # the status rule has severity warning in the contract
    assert found["allowed_values:status"] == (CheckStatus.WARNING, dirt["bad_case_status"] + dirt["unknown_status"])
    assert found["type:total_amount"] == (CheckStatus.PASSED, 0)
    assert found["type:event_ts"] == (CheckStatus.PASSED, 0)
    assert not report.passed


def test_examples_name_the_record(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_order_events(path, 3000, "jsonl")
    lines = path.read_text().splitlines()
    report = check_file(_events_contract(), path)
    missing = next(r for r in report.results if r.name == "required:order_id")
    for example in missing.examples:
        assert '"order_id":null' in lines[example["record"] - 1].replace(" ", "")
    dup = next(r for r in report.results if r.rule == "primary_key_unique")
    assert dup.examples[0]["copies"] == 2 and dup.examples[0]["event_id"] == "EV-0000000000"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_types_required_and_missing_columns(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "d.csv",
        "event_id,order_id,customer_id,status,total_amount,items_count,event_ts,extra\n"
        "E1,ORD-00000001,C1,paid,12.50,2,2026-01-01 10:00:00,x\n"
        "E2,ORD-00000002,C2,paid,twelve,2.5,not a time,y\n"
        "E3,ORD-00000003,C3,paid,123456789012.00,3,2026-01-01T10:00:00,z\n"
        "E4,ORD-00000004,C4,paid,1.005,4,2026-01-01T10:00:00,z\n",
    )
    found = _by_name(check_file(_events_contract(), data))
    # text, too large for DECIMAL(10,2), and a third decimal that would only fit rounded
    assert found["type:total_amount"] == (CheckStatus.FAILED, 3)
    assert found["type:items_count"] == (CheckStatus.FAILED, 1)
    assert found["type:event_ts"] == (CheckStatus.FAILED, 1)
    assert "type:currency" not in found  # optional column absent: nothing to check
    assert found["unknown_columns"] == (CheckStatus.WARNING, 1)
    no_events = _write(tmp_path / "e.csv", "order_id,customer_id,status,event_ts\nORD-00000001,C1,paid,2026-01-01\n")
    assert _by_name(check_file(_events_contract(), no_events))["missing_column:event_id"] == (CheckStatus.FAILED, 1)


def test_composite_key_and_unique_and_enum_v3_2(tmp_path: Path) -> None:
    contract, _ = load_contract(FIXTURES / "full-v3.1.odcs.yaml")
    assert contract is not None
    data = _write(
        tmp_path / "s.jsonl",
        '{"settlement_id": "a", "line_no": 1, "amount": 1.0, "card_last4": "1234"}\n'
        '{"settlement_id": "a", "line_no": 2, "amount": 1.0, "card_last4": "12x4"}\n'
        '{"settlement_id": "a", "line_no": 1, "amount": 2.0, "card_last4": null}\n'
        '{"settlement_id": "b", "line_no": 1000, "amount": -1, "card_last4": "9999"}\n',
    )
    found = _by_name(check_file(contract, data, table="settlements"))
    assert found["primary_key_unique:settlement_id+line_no"] == (CheckStatus.FAILED, 1)
    assert found["pattern:card_last4"] == (CheckStatus.FAILED, 1)
    assert found["range:line_no"] == (CheckStatus.FAILED, 1)
    assert found["range:amount"] == (CheckStatus.FAILED, 1)
    returns, _ = load_contract(FIXTURES / "v3.2.0.odcs.yaml")
    assert returns is not None
    data = _write(
        tmp_path / "r.jsonl", '{"return_id": "r1", "reason": "damaged"}\n{"return_id": "r1", "reason": "meh"}\n'
    )
    found = _by_name(check_file(returns, data))
    assert found["allowed_values:reason"] == (CheckStatus.FAILED, 1)
    assert found["primary_key_unique:return_id"] == (CheckStatus.FAILED, 1)


def test_a_rule_duckdb_cannot_run_is_an_error_not_a_crash(tmp_path: Path) -> None:
    raw = dict(_events_contract().raw)
    raw["schema"] = [dict(raw["schema"][0])]
    props = [dict(p) for p in raw["schema"][0]["properties"]]
    props[2] = {**props[2], "logicalTypeOptions": {"pattern": "(?=lookahead)"}}  # valid in Python, not in RE2
    raw["schema"][0]["properties"] = props
    contract, _ = contract_from_document(raw, "c.yaml")
    assert contract is not None
    path = tmp_path / "events.jsonl"
    write_order_events(path, 2000, "jsonl")
    report = check_file(contract, path)
    statuses = {r.name: r.status for r in report.results}
    assert statuses["pattern:customer_id"] is CheckStatus.ERROR
    assert statuses["required:order_id"] is CheckStatus.FAILED  # the other rules still ran


def test_wrong_encoding_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "latin1.csv"
    data.write_bytes("event_id,order_id\nE1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFileError) as info:
        check_file(_events_contract(), data)
    assert "latin1.csv" in info.value.message
    assert info.value.hint and "UTF-8" in info.value.hint


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("data.xml", "<a/>", "cannot tell the format"),
        ("broken.jsonl", '{"event_id": "E1"\n{not json\n', "cannot be read as json"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataFileError, match=message):
        check_file(_events_contract(), path)


def test_csv_is_read_by_the_contracts_columns(tmp_path: Path) -> None:
    """Another delimiter and header case read right; a malformed row and bad JSON are one line each."""
    data = _write(tmp_path / "semi.csv", "Event_ID;order_id;customer_id;status;total_amount;items_count;event_ts\n"
                  "E1;ORD-00000001;C1;paid;12.50;2;2026-01-01 10:00:00\n")  # fmt: skip
    found = _by_name(check_file(_events_contract(), data))
    assert "missing_column:event_id" not in found and found["type:total_amount"] == (CheckStatus.PASSED, 0)
    bad = _write(tmp_path / "bad.csv", "event_id,order_id\nE1,ORD-00000001\nE2,ORD-00000002,x\n")
    with pytest.raises(DataFileError) as info:
        check_file(_events_contract(), bad)
    assert info.value.message == f"{bad} line 3: expected 2 columns, found 3"
    assert info.value.hint and "build.source.options" in info.value.hint
    broken = _write(tmp_path / "b.jsonl", '{"event_id": "E1"}\n{"event_id": x}\n{"event_id": "E3"}\n')
    with pytest.raises(DataFileError, match=r"b\.jsonl line 2: malformed JSON"):
        check_file(_events_contract(), broken)
