"""A run emits OpenLineage events through the lineage hook: START then COMPLETE for every product built,
valid by the spec's rules, with column lineage and governance's masked columns flagged."""

from __future__ import annotations

import json
from pathlib import Path

from lakemesh.mesh import Mesh
from lakemesh.settings import Settings
from tests.lineage.ol_support import schema_errors

PROFILES = "customers.customer_profiles"


def _events(root: Path) -> list[dict[str, object]]:
    journal = root / ".lakemesh/lineage/events.jsonl"
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_every_built_product_has_a_start_and_a_complete_event(built_shop: Path) -> None:
    events = _events(built_shop)
    with Mesh.open(built_shop) as mesh:
        products = set(mesh.workspace.products)
    for event in events:
        assert schema_errors(event) == []
    by_run: dict[str, list[str]] = {}
    for event in events:
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])  # type: ignore[index]
    assert all(kinds == ["START", "COMPLETE"] for kinds in by_run.values()), by_run
    assert {e["job"]["name"] for e in events} == products  # type: ignore[index]  # one job per product


def test_column_lineage_reaches_the_events_with_masked_columns_flagged(built_shop: Path) -> None:
    completes = [e for e in _events(built_shop) if e["eventType"] == "COMPLETE"]
    profiles = [e for e in completes if PROFILES in json.dumps(e["outputs"])]
    assert profiles
    [output] = profiles[-1]["outputs"]  # type: ignore[index]
    fields = output["facets"]["columnLineage"]["fields"]
    assert "email" in fields  # derived, not declared
    flags = [t["masking"] for f in fields["email"]["inputFields"] for t in f.get("transformations", [])]
    assert flags and all(flags)  # a hash mask applies to email: OpenLineage's masking flag says so
    unmasked = [t["masking"] for f in fields["customer_id"]["inputFields"] for t in f.get("transformations", [])]
    assert unmasked and not any(unmasked)


def test_an_unreachable_endpoint_is_a_warning_on_the_run_not_a_failure(shop: Path) -> None:
    from lakemesh.synthetic import write_customers

    text = (shop / "mesh.yaml").read_text()
    (shop / "mesh.yaml").write_text(
        text
        + "lineage:\n  transports:\n    - {type: file}\n    - {type: http, url: 'http://127.0.0.1:9', timeout: 1}\n"
    )
    write_customers(shop / "data/customers/c.csv", 20)
    with Mesh.open(shop, Settings(user="t@company.com")) as mesh:
        report = mesh.run(["customers.customer_records"])
    [run] = report.runs
    assert report.ok and run.details["lineage"]["warnings"]  # type: ignore[index]
    assert [e["eventType"] for e in _events(shop)] == ["START", "COMPLETE"]  # kept for replay


def test_lineage_turned_off_costs_nothing_and_writes_nothing(shop: Path) -> None:
    import subprocess
    import sys

    from lakemesh.synthetic import write_customers

    with (shop / "mesh.yaml").open("a") as f:
        f.write("lineage:\n  enabled: false\n")
    write_customers(shop / "data/customers/c.csv", 20)
    probe = (
        "import sys\nfrom lakemesh.mesh import Mesh\n"
        "report = Mesh.open(sys.argv[1]).run(['customers.customer_records'])\n"
        "print(report.ok, 'openlineage' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(shop)], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "False"], out.stderr  # built, without loading the OpenLineage client
    assert not (shop / ".lakemesh/lineage/events.jsonl").exists()
