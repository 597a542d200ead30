"""`lakemesh lineage` and `lakemesh impact`: the tree, --json, exit codes a CI pipeline gates on, and
unknown names as one line with a did-you-mean hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lakemesh.lineage.model import ImpactReport, LineageGraph
from tests.cli.test_cli import run
from tests.cli.test_cli_errors import _lakemesh, _one_red_line
from tests.cli.test_startup import _loaded

SILVER_CONTRACT = "domains/orders/products/analytics_orders/contract.yaml"


@pytest.fixture
def synced(shop: Path) -> Path:
    code, out = run("-w", str(shop), "catalog", "sync")
    assert code == 0, out
    return shop


def _variant(shop: Path, name: str, edit: str, column: str) -> Path:
    doc = yaml.safe_load((shop / SILVER_CONTRACT).read_text())
    props = doc["schema"][0]["properties"]
    if edit == "drop":
        props[:] = [p for p in props if p["name"] != column]
    else:
        prop = next(p for p in props if p["name"] == column)
        prop["logicalType"], prop["physicalType"] = "integer", "INTEGER"
    path = shop.parent / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_tree_groups_by_domain_and_marks_pii_and_masked_columns(synced: Path) -> None:
    code, out = run("-w", str(synced), "lineage", "customers.customer_profiles.email", "--upstream")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "customers.customer_profiles.email"
    assert any("upstream" in x for x in lines) and not any("downstream" in x for x in lines)
    assert any(x.strip(" │├└─") == "customers" for x in lines)
    assert any(x.strip(" │├└─") == "outside sources" for x in lines)
    email = next(x for x in lines if "email [pii] [masked] depth 1" in x)
    assert "data/customers/*.csv.email (identity)" in email


def test_json_is_the_graph_model(synced: Path) -> None:
    code, out = run(
        "-w", str(synced), "lineage", "orders.order_events.customer_id", "--downstream", "--depth", "1", "--json"
    )
    assert code == 0, out
    graph = LineageGraph.model_validate(json.loads(out))
    assert graph.depth == 1 and graph.direction.value == "downstream"
    assert "orders.analytics_orders.customer_id" in {n.key for n in graph.nodes}
    assert max(n.depth for n in graph.nodes) == 1


def test_impact_exits_1_when_something_breaks_and_0_when_meaning_changes_only(synced: Path) -> None:
    removed = _variant(synced, "removed.yaml", "drop", "total_amount")
    code, out = run("-w", str(synced), "impact", str(removed))
    assert code == 1
    assert "breaks" in out and "orders.daily_sales_summary" in out and "revenue" in out
    retyped = _variant(synced, "retyped.yaml", "retype", "status")
    code, out = run("-w", str(synced), "impact", str(retyped), "--json")
    assert code == 0
    report = ImpactReport.model_validate(json.loads(out))
    assert not report.breaking and {i.kind.value for i in report.impacted} == {"changes_meaning", "unaffected"}


def test_impact_between_two_files(synced: Path) -> None:
    removed = _variant(synced, "removed.yaml", "drop", "status")
    code, out = run(
        "-w", str(synced), "impact", "--old", str(synced / SILVER_CONTRACT), "--new", str(removed), "--json"
    )
    assert code == 1
    report = ImpactReport.model_validate(json.loads(out))
    assert report.breaking and report.product_id == "orders.analytics_orders"


def test_unknown_names_and_bad_options_are_one_line_with_a_hint(synced: Path) -> None:
    out = _lakemesh("lineage", "orders.analytic_orders", cwd=synced)
    _one_red_line(out, "did you mean 'orders.analytics_orders'")
    out = _lakemesh("lineage", "orders.analytics_orders.stauts", cwd=synced)
    _one_red_line(out, "has no column 'stauts'", "did you mean 'status'")
    out = _lakemesh("lineage", "orders.analytics_orders", "--depth", "two", cwd=synced)
    _one_red_line(out, "--depth 'two'")
    out = _lakemesh("impact", cwd=synced)
    _one_red_line(out, "give a CONTRACT_FILE, or both --old and --new")


def test_help_is_light_and_says_the_exit_codes() -> None:
    assert _loaded("lineage", "--help") == []
    assert _loaded("impact", "--help") == []
    code, out = run("impact", "--help")
    assert code == 0 and "1 when something BREAKS" in " ".join(out.split())


def test_format_draws_the_answer_as_a_picture_on_stdout(synced: Path) -> None:
    import subprocess
    import sys

    email = "customers.customer_profiles.email"
    svg = subprocess.run(
        [sys.executable, "-m", "lakemesh.cli.main", "-w", str(synced), "lineage", email, "--format", "svg"],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert svg.returncode == 0, svg.stderr
    assert svg.stdout.lstrip().startswith(b"<?xml") and b"email" in svg.stdout and b"PII" in svg.stdout
    code, out = run("-w", str(synced), "lineage", "orders.analytics_orders", "--downstream", "--format", "mermaid")
    assert code == 0 and out.startswith("flowchart LR") and "daily_sales_summary" in out, out
    _one_red_line(_lakemesh("lineage", email, "--format", "gif", cwd=synced), "unknown lineage picture format")


def test_replay_sends_what_a_down_endpoint_missed_once_it_is_up(shop: Path) -> None:
    """The endpoint is down during a run (a warning, the run succeeds); `lineage replay` delivers the
    missed events to it once it listens, exactly once."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from lakemesh.synthetic import write_customers

    with socket.socket() as probe:  # a free port, nothing listening on it yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (shop / "mesh.yaml").open("a") as f:
        endpoint = f"{{type: http, url: 'http://127.0.0.1:{port}', name: marquez, timeout: 2}}"
        f.write(f"lineage:\n  transports:\n    - {{type: file}}\n    - {endpoint}\n")
    write_customers(shop / "data/customers/c.csv", 20)
    code, out = run("-w", str(shop), "run", "customers.customer_records")
    assert code == 0, out
    received: list[dict[str, object]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, out = run("-w", str(shop), "lineage", "replay", "marquez", "--json")
        assert code == 0, out
        [result] = json.loads(out)
        assert result["endpoint"] == "marquez" and result["delivered"] == 2 and result["pending"] == 0
        assert [e["eventType"] for e in received] == ["START", "COMPLETE"]
        code, out = run("-w", str(shop), "lineage", "replay", "--json")  # nothing missed any more
        assert code == 0 and json.loads(out)[0]["delivered"] == 0 and len(received) == 2
    finally:
        server.shutdown()
        server.server_close()
