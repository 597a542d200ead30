"""`lakemesh demo`: the example shop mesh in a working folder, with synthetic data, end to end."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from lakemesh.errors import LakemeshError
from lakemesh.synthetic import write_customers, write_order_events

MARKER = ".lakemesh-demo"


def example_source() -> Path:
    """The example shop mesh: shipped inside the wheel, or from the source checkout."""
    packaged = Path(str(resources.files("lakemesh"))) / "_examples" / "shop"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "examples" / "shop"
    if checkout.is_dir():
        return checkout
    raise LakemeshError("the example mesh is missing from this installation", "reinstall lakemesh")


def prepare_workspace(target: Path) -> Path:
    """Copy the example mesh to `target`, replacing an earlier demo there but never other files."""
    if target.exists():
        if not (target / MARKER).exists() and any(target.iterdir()):
            raise LakemeshError(
                f"{target} exists and was not made by `lakemesh demo`", "pass --dir to use another folder"
            )
        shutil.rmtree(target)
    shutil.copytree(
        example_source(),
        target,
        ignore=shutil.ignore_patterns(".lakemesh", "lakehouse", "data", "__pycache__"),
    )
    (target / MARKER).write_text("made by `lakemesh demo`; safe to delete\n", encoding="utf-8")
    return target


def generate_data(target: Path, rows: int, customers: int) -> dict[str, tuple[Path, int]]:
    """Synthetic source files for the two bronze products; returns path and rows per product."""
    events = target / "data" / "order_events" / "events-0001.jsonl"
    people = target / "data" / "customers" / "customers-0001.csv"
    return {
        "orders.order_events": (events, write_order_events(events, rows, "jsonl")),
        "customers.customer_records": (people, write_customers(people, customers)),
    }
