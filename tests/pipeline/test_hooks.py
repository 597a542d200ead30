"""Run hooks: observers (progress, lineage) never fail a run; a fatal hook (the catalog's record) stops it,
and the report of what was done rides on the error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lakemesh.pipeline.hooks import HOOK_FAILURES
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.pipeline.runner import PipelineRunner, RecordHook, RunAborted
from lakemesh.spec.workspace import ProductEntry
from tests.pipeline.conftest import open_mesh

RECORDS, PROFILES = "customers.customer_records", "customers.customer_profiles"


@dataclass
class Exploding:
    """A hook that raises where it is told to (`started` or `finished`), and remembers what it saw."""

    when: str
    fatal: bool = False
    seen: list[str] = field(default_factory=list)

    def started(self, entry: ProductEntry, run: ProductRun) -> None:
        self.seen.append(f"started {entry.id}")
        if self.when == "started":
            raise RuntimeError("lineage endpoint unreachable")

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: list[str]) -> None:
        self.seen.append(f"finished {entry.id} {run.status.value}")
        if self.when == "finished":
            raise RuntimeError("lineage endpoint unreachable")


def test_an_observer_that_raises_does_not_fail_the_run_and_its_failure_is_recorded(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)

    def progress(product: str, run: ProductRun | None) -> None:
        if run is not None:
            raise RuntimeError("the terminal went away")

    report = mesh.run([RECORDS, PROFILES], progress=progress)
    assert report.ok and [r.status for r in report.runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    for run in report.runs:
        assert run.details[HOOK_FAILURES] == ["ProgressHook: RuntimeError: the terminal went away"]
        # the catalog's recorder runs after the observers: their failures are in the recorded run
        recorded = mesh.catalog.runs(run.product_id, limit=1)[0]
        assert recorded.status.value == "succeeded" and recorded.details[HOOK_FAILURES] == run.details[HOOK_FAILURES]


def test_an_observer_failing_at_the_start_still_lets_the_product_build(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    observer = Exploding("started")
    report = PipelineRunner(mesh.workspace, mesh.lakehouse, hooks=[observer]).run([RECORDS])
    assert report.ok and report.runs[0].output_version == 0
    assert report.runs[0].details[HOOK_FAILURES] == ["Exploding: RuntimeError: lineage endpoint unreachable"]
    assert observer.seen == [f"started {RECORDS}", f"finished {RECORDS} succeeded"]


def test_a_fatal_hook_that_raises_stops_the_run_and_the_error_carries_the_report(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    recorded: list[str] = []

    def record(run: ProductRun, inputs: list[str]) -> None:
        recorded.append(run.product_id)
        raise OSError("catalog disk full")

    runner = PipelineRunner(mesh.workspace, mesh.lakehouse, hooks=[RecordHook(record)])
    with pytest.raises(RunAborted, match=rf"{RECORDS}: run hook RecordHook failed: OSError: catalog disk full") as err:
        runner.run([RECORDS, PROFILES])
    assert recorded == [RECORDS]  # stopped at the first product: its dependent was not attempted
    (done,) = err.value.report.runs
    assert done.product_id == RECORDS and done.status is RunStatus.SUCCEEDED and done.output_version == 0
    assert mesh.lakehouse.version(RECORDS) == 0 and not mesh.lakehouse.exists(PROFILES)


def test_a_fatal_hook_failing_at_the_start_attempts_nothing(shop_data: Path) -> None:
    mesh = open_mesh(shop_data)
    runner = PipelineRunner(mesh.workspace, mesh.lakehouse, hooks=[Exploding("started", fatal=True)])
    with pytest.raises(RunAborted, match="lineage endpoint unreachable") as err:
        runner.run([RECORDS])
    assert err.value.report.runs == [] and not mesh.lakehouse.exists(RECORDS)


@dataclass
class Noting(Exploding):
    """Notes on each run it sees, on the thread it runs on."""

    threads: list[str] = field(default_factory=list)

    def started(self, entry: ProductEntry, run: ProductRun) -> None:
        import threading

        self.threads.append(threading.current_thread().name)
        run.details["noted"] = f"saw {entry.id}"
        super().started(entry, run)


def test_a_background_observer_runs_off_the_run_in_order_and_its_notes_and_failures_reach_the_report(
    shop_data: Path,
) -> None:
    from lakemesh.pipeline.hooks import BackgroundHook

    made: list[Noting] = []

    def make() -> Noting:
        made.append(Noting("finished"))
        return made[0]

    background = BackgroundHook(make)
    report = PipelineRunner(open_mesh(shop_data).workspace, open_mesh(shop_data).lakehouse, hooks=[background]).run(
        [RECORDS, PROFILES]
    )
    background.close()
    [hook] = made
    assert hook.seen == [f"started {RECORDS}", f"finished {RECORDS} succeeded", f"started {PROFILES}",
                         f"finished {PROFILES} succeeded"]  # fmt: skip
    assert hook.threads and all(t.startswith("lakemesh-hook") for t in hook.threads)  # not the run's thread
    assert report.ok and all(r.status is RunStatus.SUCCEEDED for r in report.runs)
    for run in report.runs:
        assert run.details["noted"] == f"saw {run.product_id}"  # what it noted on its copy came back
        assert run.details[HOOK_FAILURES] == ["Noting: RuntimeError: lineage endpoint unreachable"]
