"""lakemesh's own OpenLineage rules (`openlineage_rules.json`): they catch what breaks the spec on a machine
without the published schemas, and where those are at hand, they agree with them on the events we build."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from lakemesh.lineage.openlineage import ParentJob, complete_event, fail_event, masked_columns, start_event, to_json
from lakemesh.pipeline.results import RunStatus
from tests.lineage.ol_support import (
    RULES,
    entry,
    location,
    official_errors,
    official_spec_available,
    project_errors,
    schema_errors,
)
from tests.lineage.test_openlineage import AT, BRONZE, BRONZE_LINEAGE, LINEAGE, MESH, SILVER, _run

Event = dict[str, Any]
Path_ = tuple[str | int, ...]


@pytest.fixture(scope="session")
def empty_spec_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-openlineage-spec")


@pytest.fixture
def rules_only(empty_spec_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The published schemas hidden: only the project's rules can reject anything."""
    monkeypatch.setenv("LAKEMESH_OPENLINEAGE_SPEC", str(empty_spec_folder))


def _json(event: Any) -> Event:
    data: Event = json.loads(to_json(event))
    return data


def built_events() -> list[Event]:
    """Every shape of event lakemesh builds: each state, with and without lineage, parent, quality, owner."""
    run = _run()
    failed = _run(RunStatus.FAILED, error="Binder Error: column amout not found", hint="fix transform.sql")
    parent = ParentJob(namespace="airflow", name="nightly.lakemesh", run_id=str(uuid.uuid4()))
    masked = masked_columns({"orders.silver_orders": ["email"]})
    bare = entry("orders.bare", "gold", [("n", "integer")], purpose=None, owner=None)
    events = [
        start_event(MESH, SILVER, run, LINEAGE, masked, at=AT, parent=parent),
        complete_event(MESH, SILVER, run, LINEAGE, masked, at=AT, parent=parent),
        fail_event(MESH, SILVER, failed, LINEAGE, masked, at=AT),
        start_event(MESH, BRONZE, _run(input_versions={}), BRONZE_LINEAGE, at=AT),
        complete_event(MESH, BRONZE, _run(input_versions={}, quality=None), BRONZE_LINEAGE, at=AT),
        complete_event(MESH, bare, _run(product_id="orders.bare", input_versions={"orders.raw": [None, 3]}), at=AT),
    ]
    return [_json(e) for e in events]


def _complete() -> Event:
    return built_events()[1]


def _set(path: Path_, value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        *parents, last = path
        target: Any = event
        for step in parents:
            target = target[step]
        target[last] = value

    return change


def _delete(path: Path_) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        *parents, last = path
        target: Any = event
        for step in parents:
            target = target[step]
        del target[last]

    return change


TRANSFORMATION = ("outputs", 0, "facets", "columnLineage", "fields", "amount", "inputFields", 0, "transformations", 0)
BREAKS = {
    "an unknown event type": (_set(("eventType",), "DONE"), "eventType", "'DONE' is not one of"),
    "a run id that is not a uuid": (_set(("run", "runId"), "run-42"), "run.runId", "is not a 'uuid'"),
    "a run facet without _producer": (
        _delete(("run", "facets", "nominalTime", "_producer")),
        "run.facets.nominalTime",
        "'_producer' is a required property",
    ),
    "a dataset facet without _producer": (
        _delete(("outputs", 0, "facets", "schema", "_producer")),
        "outputs[0].facets.schema",
        "'_producer' is a required property",
    ),
    "a custom facet without _producer": (
        _set(("run", "facets", "shopCustom"), {"_schemaURL": "https://shop.example/Custom.json", "n": 1}),
        "run.facets.shopCustom",
        "'_producer' is a required property",
    ),
    "a transformation subtype MAGIC": (
        _set((*TRANSFORMATION, "subtype"), "MAGIC"),
        "outputs[0].facets.columnLineage.fields.amount.inputFields[0].transformations[0].subtype",
        "'MAGIC' is not one of",
    ),
    "a DIRECT transformation whose subtype is INDIRECT's": (
        _set((*TRANSFORMATION, "subtype"), "FILTER"),
        "outputs[0].facets.columnLineage.fields.amount.inputFields[0].transformations[0].subtype",
        "'FILTER' is not one of",
    ),
    "a job without namespace": (_delete(("job", "namespace")), "job", "'namespace' is a required property"),
    "an event time that is not a date-time": (_set(("eventTime",), "yesterday"), "eventTime", "is not a 'date-time'"),
    "a producer that is not a uri": (_set(("producer",), "lakemesh 0.1"), "producer", "is not a 'uri'"),
    "an unknown processing type": (
        _set(("job", "facets", "jobType", "processingType"), "NIGHTLY"),
        "job.facets.jobType.processingType",
        "'NIGHTLY' is not one of",
    ),
    "a row count that is not a number": (
        _set(("outputs", 0, "outputFacets", "outputStatistics", "rowCount"), "many"),
        "outputs[0].outputFacets.outputStatistics.rowCount",
        "'many' is not of type 'integer'",
    ),
    "a facet whose _schemaURL names another facet": (
        _set(
            ("outputs", 0, "facets", "version", "_schemaURL"),
            "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        ),
        "outputs[0].facets.version._schemaURL",
        "does not match",
    ),
}


@pytest.mark.filterwarnings("ignore:the published OpenLineage schemas are not in")  # hidden on purpose here
@pytest.mark.parametrize("case", list(BREAKS))
def test_the_project_rules_alone_reject_what_breaks_the_spec(case: str, rules_only: None) -> None:
    change, where, message = BREAKS[case]
    event = _complete()
    assert schema_errors(event) == []  # the rejection below is the change's doing
    change(event)
    errors = schema_errors(event)
    assert errors, case
    assert all(e.startswith("lakemesh rules: ") and e.endswith(f" at {where}") for e in errors), errors
    assert any(message in e for e in errors), errors


def test_without_the_published_schemas_a_warning_says_only_the_project_rules_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEMESH_OPENLINEAGE_SPEC", str(tmp_path))
    assert not official_spec_available()
    with pytest.warns(UserWarning, match="lakemesh's rules only"):
        assert schema_errors(_complete()) == []


def test_the_rules_file_is_a_draft_2020_12_schema_that_says_what_it_is() -> None:
    rules = json.loads(RULES.read_text())
    Draft202012Validator.check_schema(rules)
    assert rules["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "OpenLineage 2-0-2" in rules["$comment"] and "official schemas" in rules["$comment"]


# --- where the published schemas are at hand: the two must agree ----------------------------------------------

official = pytest.mark.skipif(
    not official_spec_available(),
    reason="the published OpenLineage schemas are not installed (LAKEMESH_OPENLINEAGE_SPEC); an extra check",
)
DELIBERATE = re.compile(
    r"(transformations\[\d+\]\.(type|subtype)|jobType\.processingType)$"
)  # enums the spec lists in text only


def _leaves(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every position in the event (containers too), with its value."""
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _leaves(child, (*path, key))


def _variants(event: Event, mutate: Callable[[Any], Any | None]) -> Iterator[tuple[Path_, Event]]:
    for path, value in _leaves(event):
        changed = mutate(value) if path else None
        if changed is not None:
            variant = copy.deepcopy(event)
            _set(path, changed)(variant)
            yield path, variant


def _deletions(event: Event) -> Iterator[tuple[Path_, Event]]:
    for path, _ in _leaves(event):
        if path and isinstance(path[-1], str):
            variant = copy.deepcopy(event)
            _delete(path)(variant)
            yield path, variant


def _wrong_type(value: Any) -> Any | None:
    if isinstance(value, bool | int | float | dict | list):
        return "x"
    return 42 if isinstance(value, str) else None


def _nonsense_text(value: Any) -> Any | None:
    return "??" if isinstance(value, str) else None


def _disagreements(variants: Iterator[tuple[Path_, Event]]) -> tuple[set[str], set[str], int]:
    """(where ours rejects what the spec accepts, where ours accepts what the spec rejects, variants tried)."""
    stricter, looser, tried = set(), set(), 0
    for path, variant in variants:
        tried += 1
        ours, theirs = bool(project_errors(variant)), bool(official_errors(variant))
        if ours and not theirs:
            stricter.add(location(path))
        elif theirs and not ours:
            looser.add(location(path))
    return stricter, looser, tried


@official
def test_the_project_rules_accept_every_event_the_published_schemas_accept() -> None:
    for event in built_events():
        assert official_errors(event) == [], event["eventType"]
        assert project_errors(event) == [], event["eventType"]


@official
@pytest.mark.slow  # a few thousand validations
@pytest.mark.parametrize(
    "mutations", [_deletions, lambda e: _variants(e, _wrong_type)], ids=["each-field-removed", "each-value-mistyped"]
)
def test_the_project_rules_and_the_published_schemas_give_the_same_verdict_on_broken_events(
    mutations: Callable[[Event], Iterator[tuple[Path_, Event]]],
) -> None:
    for event in built_events():
        stricter, looser, tried = _disagreements(mutations(event))
        assert tried > 50
        assert (stricter, looser) == (set(), set()), event["eventType"]


@official
@pytest.mark.slow
def test_nonsense_text_is_rejected_by_the_project_rules_wherever_the_published_schemas_reject_it() -> None:
    """The project's rules go beyond the published schemas only at the enums the spec lists in its text
    (transformation type and subtype, processing type): any other string they leave free, so do we."""
    for event in built_events():
        stricter, looser, _ = _disagreements(_variants(event, _nonsense_text))
        assert looser == set(), event["eventType"]
        assert "job.facets.jobType.processingType" in stricter  # the comparison does see a deliberate extra
        assert {w for w in stricter if not DELIBERATE.search(w)} == set(), event["eventType"]
