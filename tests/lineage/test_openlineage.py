"""OpenLineage run events of product builds: valid against the published schemas, and saying what the run did."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lakemesh.lineage.model import (
    ColumnEdge,
    ColumnRef,
    EdgeSubtype,
    EdgeType,
    Granularity,
    ProductLineage,
    SourceKind,
    SourceRef,
    Transformation,
)
from lakemesh.lineage.openlineage import (
    ParentJob,
    complete_event,
    fail_event,
    masked_columns,
    start_event,
    to_json,
)
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.quality.results import CheckStatus, ExpectationResult, QualityReport
from lakemesh.spec.expectations import CheckSeverity
from tests.lineage.ol_support import entry, facets_of, schema_errors

MESH = "shop"
AT = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
SILVER = entry("orders.silver_orders", "silver", [("order_id", "string"), ("email", "string"), ("amount", "number")])
BRONZE = entry("orders.raw_orders", "bronze", [("order_id", "string"), ("email", "string"), ("amount", "number")])


def _edge(source: str, target: str, subtype: EdgeSubtype = EdgeSubtype.IDENTITY) -> ColumnEdge:
    kind = EdgeType.INDIRECT if subtype is EdgeSubtype.FILTER else EdgeType.DIRECT
    return ColumnEdge(
        source=ColumnRef(product="orders.raw_orders", column=source),
        target=ColumnRef(product="orders.silver_orders", column=target),
        transformations=(Transformation(type=kind, subtype=subtype, description=f"{source} to {target}"),),
    )


LINEAGE = ProductLineage(
    product_id="orders.silver_orders",
    fingerprint="abc123",
    granularity=Granularity.COLUMN,
    inputs=["orders.raw_orders"],
    edges=[
        _edge("order_id", "order_id"),
        _edge("email", "email"),
        _edge("amount", "amount", EdgeSubtype.TRANSFORMATION),
        _edge("amount", "order_id", EdgeSubtype.FILTER),
    ],
)
BRONZE_LINEAGE = ProductLineage(
    product_id="orders.raw_orders",
    fingerprint="def456",
    granularity=Granularity.PRODUCT,
    sources=[SourceRef(kind=SourceKind.FILES, namespace="file:///work/shop", name="data/orders/*.csv")],
)


def _quality() -> QualityReport:
    def result(name: str, kind: str, column: str, status: CheckStatus, observed: Any) -> ExpectationResult:
        return ExpectationResult(
            name=name, type=kind, columns=(column,), severity=CheckSeverity.ERROR, status=status, observed=observed
        )

    return QualityReport(
        product_id="orders.silver_orders",
        rows=120,
        seconds=0.01,
        results=[
            result("order_id_not_null", "not_null", "order_id", CheckStatus.PASSED, 0),
            result("amount_positive", "between", "amount", CheckStatus.FAILED, 3),
            result("email_pattern", "pattern", "email", CheckStatus.SKIPPED, None),
        ],
    )


def _run(status: RunStatus = RunStatus.SUCCEEDED, **kwargs: Any) -> ProductRun:
    defaults: dict[str, Any] = {
        "product_id": "orders.silver_orders",
        "run_id": str(uuid.uuid4()),
        "status": status,
        "input_versions": {"orders.raw_orders": [4, 7]},
        "output_version": 12,
        "rows_written": 117,
        "quality": _quality(),
    }
    return ProductRun(**{**defaults, **kwargs})


def _json(event: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(to_json(event))
    return data


def test_every_event_of_a_silver_and_a_bronze_build_is_valid_against_the_openlineage_schemas() -> None:
    masked = masked_columns({"orders.silver_orders": ["email"]})
    run = _run()
    failed = _run(RunStatus.FAILED, error="Binder Error: column amout not found", output_version=None)
    parent = ParentJob(namespace="lakemesh://shop", name="lakemesh run", run_id=str(uuid.uuid4()))
    events = [
        start_event(MESH, SILVER, run, LINEAGE, masked, at=AT, parent=parent),
        complete_event(MESH, SILVER, run, LINEAGE, masked, at=AT, parent=parent),
        fail_event(MESH, SILVER, failed, LINEAGE, masked, at=AT),
        start_event(MESH, BRONZE, _run(input_versions={}), BRONZE_LINEAGE, at=AT),
        complete_event(MESH, BRONZE, _run(input_versions={}, quality=None), BRONZE_LINEAGE, at=AT),
    ]
    for event in events:
        data = _json(event)
        assert schema_errors(data) == [], data["eventType"]
    complete = _json(events[1])
    checked = {where.rsplit(".", 1)[1] for where, _ in facets_of(complete)}
    assert checked >= {
        "columnLineage",
        "schema",
        "version",
        "dataQualityAssertions",
        "outputStatistics",
        "jobType",
        "documentation",
        "ownership",
        "parent",
        "processing_engine",
        "nominalTime",
    }


def test_the_schema_check_rejects_an_event_that_breaks_the_spec() -> None:
    data = _json(complete_event(MESH, SILVER, _run(), LINEAGE, at=AT))
    data["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = "many"
    del data["run"]["runId"]
    errors = schema_errors(data)
    assert any("runId" in e for e in errors)
    assert any("outputStatistics" in e and "'many'" in e for e in errors)


def test_an_event_names_the_job_run_and_datasets_in_the_mesh_namespace() -> None:
    run = _run()
    data = _json(start_event(MESH, SILVER, run, LINEAGE, at=AT))
    assert data["eventType"] == "START"
    assert data["eventTime"] == AT.isoformat()
    assert data["run"]["runId"] == run.run_id
    assert data["job"] == {**data["job"], "namespace": "lakemesh://shop", "name": "orders.silver_orders"}
    assert [(d["namespace"], d["name"]) for d in data["inputs"]] == [("lakemesh://shop", "orders.raw_orders")]
    assert [(d["namespace"], d["name"]) for d in data["outputs"]] == [("lakemesh://shop", "orders.silver_orders")]
    job = data["job"]["facets"]
    assert job["jobType"]["processingType"] == "BATCH"
    assert job["jobType"]["integration"] == "LAKEMESH"
    assert job["documentation"]["description"] == "What it is for."
    assert {(o["name"], o["type"]) for o in job["ownership"]["owners"]} == {
        ("team@company.com", "owner"),
        ("orders-team", "team"),
    }
    assert data["run"]["facets"]["nominalTime"]["nominalStartTime"] == AT.isoformat()
    assert data["run"]["facets"]["processing_engine"]["name"] == "lakemesh"


def test_start_says_nothing_about_versions_rows_or_assertions_yet() -> None:
    data = _json(start_event(MESH, SILVER, _run(), LINEAGE, at=AT))
    assert "version" not in data["inputs"][0].get("facets", {})
    assert "version" not in data["outputs"][0]["facets"]
    assert data["outputs"][0].get("outputFacets", {}) == {}


def test_complete_carries_the_delta_versions_read_and_written_rows_and_the_gate_assertions() -> None:
    data = _json(complete_event(MESH, SILVER, _run(), LINEAGE, at=AT))
    assert data["inputs"][0]["facets"]["version"]["datasetVersion"] == "7"  # the version read, not where it began
    output = data["outputs"][0]
    assert output["facets"]["version"]["datasetVersion"] == "12"
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 117
    assertions = output["outputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["column"], a["success"]) for a in assertions] == [
        ("not_null", "order_id", True),
        ("between", "amount", False),
    ]  # the skipped check asserted nothing and is left out
    assert assertions[1]["actual"] == "3"
    assert assertions[1]["severity"] == "error"


def test_the_output_schema_is_the_contract_columns_in_order() -> None:
    data = _json(start_event(MESH, SILVER, _run(), at=AT))
    fields = data["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"], f["ordinal_position"]) for f in fields] == [
        ("order_id", "string", 1),
        ("email", "string", 2),
        ("amount", "number", 3),
    ]
    assert fields[0]["description"] == "the order_id"


def test_column_lineage_maps_each_output_column_and_marks_masked_columns() -> None:
    masked = masked_columns({"orders.silver_orders": ["email"]})
    data = _json(complete_event(MESH, SILVER, _run(), LINEAGE, masked, at=AT))
    fields = data["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert set(fields) == {"order_id", "email", "amount"}
    order_inputs = [(f["name"], f["field"], f["transformations"][0]["type"]) for f in fields["order_id"]["inputFields"]]
    assert order_inputs == [("orders.raw_orders", "order_id", "DIRECT"), ("orders.raw_orders", "amount", "INDIRECT")]
    assert fields["amount"]["inputFields"][0]["transformations"][0]["subtype"] == "TRANSFORMATION"
    masking = {
        name: [t["masking"] for i in f["inputFields"] for t in i["transformations"]] for name, f in fields.items()
    }
    assert masking == {"order_id": [False, False], "email": [True], "amount": [False]}


def test_a_masked_source_column_marks_what_it_feeds_as_masked() -> None:
    masked = masked_columns({"orders.raw_orders": ["amount"]})
    data = _json(complete_event(MESH, SILVER, _run(), LINEAGE, masked, at=AT))
    fields = data["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert fields["amount"]["inputFields"][0]["transformations"][0]["masking"] is True
    assert [t["masking"] for i in fields["order_id"]["inputFields"] for t in i["transformations"]] == [False, True]


def test_fail_carries_the_error_message_and_hint_and_no_version_written() -> None:
    run = _run(RunStatus.FAILED, error="Binder Error: column amout not found", hint="fix transform.sql")
    data = _json(fail_event(MESH, SILVER, run, LINEAGE, at=AT))
    assert data["eventType"] == "FAIL"
    error = data["run"]["facets"]["errorMessage"]
    assert error["message"] == "Binder Error: column amout not found (hint: fix transform.sql)"
    assert error["programmingLanguage"] == "python"
    assert "version" not in data["outputs"][0]["facets"]
    assert "outputStatistics" not in data["outputs"][0].get("outputFacets", {})


def test_a_bronze_build_reads_its_outside_sources() -> None:
    data = _json(start_event(MESH, BRONZE, _run(input_versions={}), BRONZE_LINEAGE, at=AT))
    assert [(d["namespace"], d["name"]) for d in data["inputs"]] == [("file:///work/shop", "data/orders/*.csv")]
    assert "columnLineage" not in data["outputs"][0]["facets"]


def test_inputs_read_without_derived_lineage_still_appear() -> None:
    data = _json(complete_event(MESH, SILVER, _run(input_versions={"orders.raw_orders": [None, 3]}), at=AT))
    assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in data["inputs"]] == [
        ("orders.raw_orders", "3")
    ]


def test_the_parent_run_is_named_when_given() -> None:
    parent = ParentJob(namespace="airflow", name="nightly.lakemesh", run_id=str(uuid.uuid4()))
    data = _json(start_event(MESH, SILVER, _run(), at=AT, parent=parent))
    facet = data["run"]["facets"]["parent"]
    assert facet["run"]["runId"] == parent.run_id
    assert (facet["job"]["namespace"], facet["job"]["name"]) == ("airflow", "nightly.lakemesh")


def test_documentation_falls_back_to_the_contract_description() -> None:
    bare = entry("orders.bare", "gold", [("n", "integer")], purpose=None, owner=None)
    data = _json(start_event(MESH, bare, _run(product_id="orders.bare"), at=AT))
    assert data["job"]["facets"]["documentation"]["description"] == "One row per thing."
    assert [o["name"] for o in data["job"]["facets"]["ownership"]["owners"]] == ["orders-team"]


def test_start_and_its_end_name_the_same_nominal_start() -> None:
    run = _run(seconds=90.0)
    began = _json(start_event(MESH, SILVER, run, at=AT))["run"]["facets"]["nominalTime"]
    ended_at = AT + timedelta(seconds=90)
    ended = _json(complete_event(MESH, SILVER, run, at=ended_at))["run"]["facets"]["nominalTime"]
    assert began == {**began, "nominalStartTime": AT.isoformat()}
    assert "nominalEndTime" not in began
    assert (ended["nominalStartTime"], ended["nominalEndTime"]) == (AT.isoformat(), ended_at.isoformat())
