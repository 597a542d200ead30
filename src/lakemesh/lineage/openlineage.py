"""OpenLineage run events of product builds, built with the `openlineage-python` client's own classes.

One product build is one OpenLineage run (the ProductRun's id) of one job (the product id) in the mesh's
namespace (`lakemesh://<mesh>`): START when it begins, then COMPLETE or FAIL. These are pure functions of
what the run reports; where events go is `lineage.transports`.

The quality gate's assertions ride on the output dataset: OpenLineage types that facet as an input facet
because its usual producers (dbt test, Great Expectations) check a table in a separate job that reads it,
while lakemesh checks the rows in the run that writes them; naming the product as its own input would put
a cycle in every lineage graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import cast

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

from lakemesh.lineage.model import ColumnEdge, ProductLineage, SourceRef
from lakemesh.pipeline.results import ProductRun
from lakemesh.quality.results import CheckStatus, ExpectationResult
from lakemesh.spec.workspace import ProductEntry

PRODUCER = "https://github.com/lakemesh/lakemesh"
INTEGRATION = "LAKEMESH"
Masked = Set[tuple[str, str]]  # (product id, column) where a mask, pseudonym or encryption applies


@dataclass(frozen=True)
class ParentJob:
    """The run this one belongs to (a whole `lakemesh run` invocation, a scheduler's task)."""

    namespace: str
    name: str
    run_id: str


def namespace(mesh: str) -> str:
    """The OpenLineage namespace of a mesh's jobs and tables."""
    return f"lakemesh://{mesh}"


def start_event(
    mesh: str,
    entry: ProductEntry,
    run: ProductRun,
    lineage: ProductLineage | None = None,
    masked: Masked = frozenset(),
    *,
    at: datetime | None = None,
    parent: ParentJob | None = None,
) -> RunEvent:
    """START: what the build will read and write, before anything is read."""
    return _event(RunState.START, _Build(mesh, entry, run, lineage, masked, at or _now(), parent))


def complete_event(
    mesh: str,
    entry: ProductEntry,
    run: ProductRun,
    lineage: ProductLineage | None = None,
    masked: Masked = frozenset(),
    *,
    at: datetime | None = None,
    parent: ParentJob | None = None,
) -> RunEvent:
    """COMPLETE: the versions read and written, rows written and the gate's assertions."""
    return _event(RunState.COMPLETE, _Build(mesh, entry, run, lineage, masked, at or _now(), parent))


def fail_event(
    mesh: str,
    entry: ProductEntry,
    run: ProductRun,
    lineage: ProductLineage | None = None,
    masked: Masked = frozenset(),
    *,
    at: datetime | None = None,
    parent: ParentJob | None = None,
) -> RunEvent:
    """FAIL: as COMPLETE, without a version written, with the run's error message."""
    return _event(RunState.FAIL, _Build(mesh, entry, run, lineage, masked, at or _now(), parent))


def to_json(event: RunEvent) -> str:
    """One event as compact JSON (no newline), the client's own serialization."""
    return Serde.to_json(event)


@dataclass(frozen=True)
class _Build:
    mesh: str
    entry: ProductEntry
    run: ProductRun
    lineage: ProductLineage | None
    masked: Masked
    at: datetime
    parent: ParentJob | None

    @property
    def ns(self) -> str:
        return namespace(self.mesh)


def _event(state: RunState, build: _Build) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=build.at.isoformat(),
        run=Run(runId=build.run.run_id, facets=_run_facets(state, build)),
        job=Job(namespace=build.ns, name=build.entry.id, facets=_job_facets(build.entry)),
        inputs=_inputs(state, build),
        outputs=[_output(state, build)],
        producer=PRODUCER,
    )


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def _versions() -> tuple[str, str]:
    """lakemesh's version and the OpenLineage client's, for the processing-engine facet."""

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "unknown"

    return of("lakemesh"), of("openlineage-python")


def _run_facets(state: RunState, build: _Build) -> dict[str, RunFacet]:
    ours, client = _versions()
    facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=ours, name="lakemesh", openlineageAdapterVersion=client, producer=PRODUCER
        ),
        "nominalTime": _nominal_time(state, build),
    }
    if build.parent is not None:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=build.parent.run_id),
            job=parent_run.Job(namespace=build.parent.namespace, name=build.parent.name),
            producer=PRODUCER,
        )
    if state is RunState.FAIL:
        facets["errorMessage"] = _error(build.run)
    return facets


def _nominal_time(state: RunState, build: _Build) -> nominal_time_run.NominalTimeRunFacet:
    """When the build began (and, once it ended, when it ended): the same start on START and on its end."""
    if state is RunState.START:
        return nominal_time_run.NominalTimeRunFacet(nominalStartTime=build.at.isoformat(), producer=PRODUCER)
    began = build.at - timedelta(seconds=build.run.seconds)
    return nominal_time_run.NominalTimeRunFacet(
        nominalStartTime=began.isoformat(), nominalEndTime=build.at.isoformat(), producer=PRODUCER
    )


def _error(run: ProductRun) -> error_message_run.ErrorMessageRunFacet:
    message = run.error or f"{run.product_id} failed"
    if run.hint:
        message = f"{message} (hint: {run.hint})"
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python", producer=PRODUCER)


def _job_facets(entry: ProductEntry) -> dict[str, JobFacet]:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType="JOB", producer=PRODUCER
        ),
    }
    text = _description(entry)
    if text:
        facets["documentation"] = documentation_job.DocumentationJobFacet(description=text, producer=PRODUCER)
    owners = _owners(entry)
    if owners:
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=name, type=kind) for name, kind in owners], producer=PRODUCER
        )
    return facets


def _description(entry: ProductEntry) -> str:
    """The product's purpose, else its contract table's description, else its name."""
    purpose = entry.spec.description.purpose
    if purpose:
        return purpose
    contract = entry.contract
    table = contract.tables[0] if contract is not None and contract.tables else None
    return (table.description if table is not None else None) or entry.spec.name


def _owners(entry: ProductEntry) -> list[tuple[str, str]]:
    owners = [(entry.spec.owner, "owner")] if entry.spec.owner else []
    if entry.spec.team is not None:
        owners.append((entry.spec.team.name, "team"))
    return owners


def _inputs(state: RunState, build: _Build) -> list[InputDataset]:
    """Upstream products (with the Delta version read, once known) and, for bronze, outside sources."""
    read = build.run.input_versions
    upstream = list(build.lineage.inputs) if build.lineage is not None else []
    upstream += [p for p in read if p not in upstream]
    datasets = [_input_product(build.ns, p, None if state is RunState.START else read.get(p)) for p in upstream]
    sources = build.lineage.sources if build.lineage is not None else []
    return datasets + [_input_source(s) for s in sources]


def _input_product(ns: str, product: str, span: list[int | None] | None) -> InputDataset:
    read_version = span[-1] if span else None
    facets: dict[str, DatasetFacet] = {}
    if read_version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(read_version), producer=PRODUCER
        )
    return InputDataset(namespace=ns, name=product, facets=facets)


def _input_source(source: SourceRef) -> InputDataset:
    return InputDataset(namespace=source.namespace, name=source.name)


def _output(state: RunState, build: _Build) -> OutputDataset:
    entry, run = build.entry, build.run
    facets = _dataset_facets(entry)
    if build.lineage is not None and build.lineage.edges:
        facets["columnLineage"] = column_lineage(build.ns, build.lineage.edges, build.masked)
    out: dict[str, OutputDatasetFacet] = {}
    if state is RunState.COMPLETE:
        if run.output_version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(run.output_version), producer=PRODUCER
            )
        out["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=run.rows_written, producer=PRODUCER
        )
    if state is not RunState.START and run.quality is not None and run.quality.results:
        out["dataQualityAssertions"] = cast(OutputDatasetFacet, assertions(run.quality.results))
    return OutputDataset(namespace=build.ns, name=entry.id, facets=facets, outputFacets=out)


def _dataset_facets(entry: ProductEntry) -> dict[str, DatasetFacet]:
    facets: dict[str, DatasetFacet] = {}
    fields = schema_fields(entry)
    if fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)
    text = _description(entry)
    if text:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=text, producer=PRODUCER)
    owners = _owners(entry)
    if owners:
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=name, type=kind) for name, kind in owners], producer=PRODUCER
        )
    return facets


def schema_fields(entry: ProductEntry) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """The contract table's columns, typed as the contract writes them (logical type, else physical)."""
    contract = entry.contract
    if contract is None or not contract.tables:
        return []
    return [
        schema_dataset.SchemaDatasetFacetFields(
            name=c.name, type=c.logical_type or c.physical_type, description=c.description, ordinal_position=i
        )
        for i, c in enumerate(contract.tables[0].columns, start=1)
    ]


def column_lineage(
    ns: str, edges: Iterable[ColumnEdge], masked: Masked
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """Each output column's input fields with their transformations; `masking` where governance masks,
    pseudonymizes or encrypts the column read or the column written."""
    fields: dict[str, list[column_lineage_dataset.InputField]] = {}
    for edge in edges:
        hidden = (edge.source.product, edge.source.column) in masked or (
            edge.target.product,
            edge.target.column,
        ) in masked
        fields.setdefault(edge.target.column, []).append(
            column_lineage_dataset.InputField(
                namespace=ns,
                name=edge.source.product,
                field=edge.source.column,
                transformations=[
                    column_lineage_dataset.Transformation(
                        type=t.type.value,
                        subtype=t.subtype.value,
                        description=t.description or None,
                        masking=t.masking or hidden,
                    )
                    for t in edge.transformations
                ],
            )
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={name: column_lineage_dataset.Fields(inputFields=inputs) for name, inputs in fields.items()},
        producer=PRODUCER,
    )


def assertions(
    results: Iterable[ExpectationResult],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """The gate's checks as OpenLineage assertions (skipped checks are left out: nothing was asserted)."""
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[_assertion(r) for r in results if r.status is not CheckStatus.SKIPPED], producer=PRODUCER
    )


def _assertion(result: ExpectationResult) -> data_quality_assertions_dataset.Assertion:
    return data_quality_assertions_dataset.Assertion(
        assertion=result.type,
        success=result.ok,
        column=result.columns[0] if len(result.columns) == 1 else None,
        severity=result.severity.value,
        name=result.name,
        description=result.detail or None,
        actual=None if result.observed is None else str(result.observed),
    )


def masked_columns(pairs: Mapping[str, Iterable[str]]) -> frozenset[tuple[str, str]]:
    """`{product: [columns]}` as the (product, column) set the builders take."""
    return frozenset((product, column) for product, columns in pairs.items() for column in columns)
