"""CSV files read by the contract: delimiter and header checked against its columns, one-line errors."""

from __future__ import annotations

from pathlib import Path

from lakemesh.pipeline import RunStatus
from lakemesh.pipeline.results import ProductRun
from tests.cli.test_cli import run as cli
from tests.pipeline.conftest import open_mesh, table_rows

RECORDS = "customers.customer_records"
PRODUCT = "domains/customers/products/customer_records/product.yaml"
HEADER = "customer_id,full_name,email,phone,date_of_birth,country,region,signup_date"
ROW = "C00000{i},Ada Lovelace,user{i}@example.com,+490000000000,1950-01-01,DE,EMEA,2020-01-0{i}"


def _write(shop: Path, text: str, name: str = "c.csv") -> None:
    (shop / "data/customers").mkdir(parents=True, exist_ok=True)
    (shop / "data/customers" / name).write_text(text)


def _options(shop: Path, options: str) -> None:
    path = shop / PRODUCT
    path.write_text(path.read_text().replace("    format: csv\n", f"    format: csv\n    options: {options}\n"))


def _bronze(shop: Path) -> ProductRun:
    return next(r for r in open_mesh(shop).run([RECORDS]).runs if r.product_id == RECORDS)


def test_another_delimiter_and_header_case_are_matched_to_the_contract(shop: Path) -> None:
    header = HEADER.replace(",", ";").replace("customer_id", "Customer_ID")
    _write(shop, "\n".join([header, *(ROW.format(i=i).replace(",", ";") for i in (1, 2))]) + "\n")
    run = _bronze(shop)
    assert run.status is RunStatus.SUCCEEDED and run.rows_written == 2, run.error
    rows = table_rows(open_mesh(shop), f"SELECT customer_id, email FROM {RECORDS} ORDER BY 1")
    assert rows == [{"customer_id": "C000001", "email": "user1@example.com"},
                    {"customer_id": "C000002", "email": "user2@example.com"}]  # fmt: skip


def test_a_malformed_row_is_one_line_naming_file_and_line(shop: Path) -> None:
    # the sniffer used to read this as one column named after the whole header, every value NULL
    _write(shop, "\n".join([HEADER, ROW.format(i=1), ROW.format(i=2) + ",extra", ROW.format(i=3)]) + "\n")
    run = _bronze(shop)
    assert run.status is RunStatus.FAILED
    assert run.error == f"{RECORDS}: data/customers/c.csv line 3: expected 8 columns, found 9"
    assert run.hint and "build.source.options" in run.hint
    assert not open_mesh(shop).lakehouse.exists(RECORDS)


def test_missing_and_extra_columns(shop: Path) -> None:
    """A missing required column fails the file by name; a missing optional or an extra one is a warning."""
    no_email = HEADER.replace(",email", "")
    _write(shop, f"{no_email}\n" + ROW.format(i=1).replace(",user1@example.com", "") + "\n")
    run = _bronze(shop)
    assert run.status is RunStatus.FAILED and "data/customers/c.csv has no column email" in (run.error or "")
    (shop / "data/customers/c.csv").unlink()
    header = HEADER.replace(",phone", "") + ",loyalty_tier"
    _write(shop, f"{header}\n" + ROW.format(i=1).replace(",+490000000000", "") + ",gold\n")
    run = _bronze(shop)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.details["warnings"] == [
        "data/customers/c.csv: no column phone: NULL in every row",
        "data/customers/c.csv: columns not in the contract, kept in _raw: loyalty_tier",
    ]
    _write(shop, f"{header}\n" + ROW.format(i=2).replace(",+490000000000", "") + ",gold\n", "d.csv")
    code, out = cli("-w", str(shop), "run", RECORDS)
    assert code == 0 and "data/customers/d.csv: no column phone" in out


def test_headerless_files_and_reader_options_from_the_spec(shop: Path) -> None:
    _options(shop, "{header: false, delimiter: '|'}")
    _write(shop, "\n".join(ROW.format(i=i).replace(",", "|") for i in (1, 2, 3)) + "\n")
    run = _bronze(shop)
    assert run.status is RunStatus.SUCCEEDED and run.rows_written == 3, run.error
    assert table_rows(open_mesh(shop), f"SELECT max(signup_date) AS d FROM {RECORDS}")[0]["d"].day == 3


def test_an_unknown_reader_option_is_named(shop: Path) -> None:
    _options(shop, "{delimeter: ';'}")
    _write(shop, f"{HEADER}\n{ROW.format(i=1)}\n")
    run = _bronze(shop)
    assert run.status is RunStatus.FAILED
    assert "unknown CSV reader option 'delimeter' (did you mean 'delimiter'?)" in (run.error or "")
