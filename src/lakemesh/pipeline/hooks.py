"""Run hooks: what watches a run (progress, the catalog's record, lineage events) without being part of it.

The runner calls each hook's `started` before a product is attempted and `finished` after, in the order
given. A hook is `fatal` or an observer:
- fatal (the catalog recorder): a run that is not recorded did not happen, so its failure stops the run;
  `RunAborted` carries the report of everything done until then (a product whose `finished` failed is in
  it: its commit stands; one whose `started` failed was not attempted and is not);
- observer (progress, lineage events): its failure never fails the run; it is noted in the product run's
  `details["hook_failures"]` and logged. Put observers before the recorder so what they note is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from lakemesh.errors import LakemeshError
from lakemesh.pipeline.results import ProductRun, RunReport
from lakemesh.spec.workspace import ProductEntry

Recorder = Callable[[ProductRun, list[str]], None]
Progress = Callable[[str, ProductRun | None], None]
HOOK_FAILURES = "hook_failures"  # run.details key: observer hooks that raised

log = logging.getLogger(__name__)


class RunHook(Protocol):
    """Told when each product of a run starts and finishes."""

    @property
    def fatal(self) -> bool:
        """Whether the hook's failure stops the run (True) or is only noted on the product's run (False)."""

    def started(self, entry: ProductEntry, run: ProductRun) -> object:
        """Before the product is attempted (or skipped). What a hook returns is ignored by the runner."""

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: list[str]) -> object:
        """After: `run` is final; `inputs` are the products it reads."""


class RunAborted(LakemeshError):
    """A fatal hook failed: the run stopped there. `report` holds the product runs done until then."""

    def __init__(self, message: str, hint: str | None, report: RunReport) -> None:
        super().__init__(message, hint)
        self.report = report


@dataclass(frozen=True)
class ProgressHook:
    """Progress on a terminal (`Progress(product, None)` when it starts, with its run when it ends): an observer."""

    progress: Progress
    fatal: bool = False

    def started(self, entry: ProductEntry, run: ProductRun) -> None:
        self.progress(entry.id, None)

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: list[str]) -> None:
        self.progress(entry.id, run)


@dataclass(frozen=True)
class RecordHook:
    """Records each finished run (the catalog's run history and quality results): fatal by default."""

    record: Recorder
    fatal: bool = True

    def started(self, entry: ProductEntry, run: ProductRun) -> None:
        """Nothing is recorded until the run has an outcome."""

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: list[str]) -> None:
        self.record(run, inputs)


def started(hooks: tuple[RunHook, ...], entry: ProductEntry, run: ProductRun, report: RunReport) -> None:
    """Each hook told the product starts (`report`: the runs done so far, for RunAborted)."""
    for hook in hooks:
        with _guarded(hook, run, report):
            hook.started(entry, run)


def finished(
    hooks: tuple[RunHook, ...], entry: ProductEntry, run: ProductRun, inputs: list[str], report: RunReport
) -> None:
    """Each hook told the product finished (`report`: the runs done so far, this one included)."""
    for hook in hooks:
        with _guarded(hook, run, report):
            hook.finished(entry, run, inputs)


@contextmanager
def _guarded(hook: RunHook, run: ProductRun, report: RunReport) -> Iterator[None]:
    """An observer's failure noted on `run` and logged; a fatal hook's raised as RunAborted with `report`."""
    try:
        yield
    # a hook is code from outside the pipeline (a catalog, a network client, a display): whatever it
    # raises is its failure, not the run's
    except Exception as exc:
        name = type(hook).__name__
        if hook.fatal:
            raise RunAborted(
                f"{run.product_id}: run hook {name} failed: {type(exc).__name__}: {exc}",
                "the products before it were built and recorded; fix the cause and run again",
                report,
            ) from exc
        failures = run.details.setdefault(HOOK_FAILURES, [])
        assert isinstance(failures, list)
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
        log.warning("run hook %s failed for %s: %s", name, run.product_id, exc)


class BackgroundHook:
    """An observer run on a worker thread, its calls in order: what it costs (importing a client,
    building and sending events) overlaps the run, whose work is mostly in native code (DuckDB,
    delta-rs) that releases the GIL. The observer is made on the worker too (`make`), so even loading
    its modules is off the run's path.

    The observer sees a copy of each product run taken when the call was queued; what it adds to that
    copy's `details` (warnings, pending events) is copied back onto the product run by `close`, which
    the run's owner calls once the run is over, so they reach the report. A kill -9 loses what was still
    queued (at most the calls of the product in flight)."""

    fatal = False

    def __init__(self, make: Callable[[], RunHook]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakemesh-hook")
        self._hook = self._pool.submit(make)
        self._calls: list[tuple[ProductRun, ProductRun, Any]] = []  # (the run, its copy, the future)

    def started(self, entry: ProductEntry, run: ProductRun) -> None:
        copy = run.model_copy(deep=True)
        self._calls.append((run, copy, self._pool.submit(lambda: self._hook.result().started(entry, copy))))

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: list[str]) -> None:
        copy = run.model_copy(deep=True)
        call = self._pool.submit(lambda: self._hook.result().finished(entry, copy, list(inputs)))
        self._calls.append((run, copy, call))

    def close(self) -> None:
        """Wait for the queued calls; each one's failure, and what it noted, lands on its product run."""
        self._pool.shutdown(wait=True)
        name = "?"
        if self._hook.exception() is None:
            name = type(self._hook.result()).__name__
        for run, copy, call in self._calls:
            exc = call.exception()
            for key, value in copy.details.items():
                if key not in run.details:
                    run.details[key] = value
            if exc is not None:
                failures = run.details.setdefault(HOOK_FAILURES, [])
                assert isinstance(failures, list)
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
                log.warning("run hook %s failed for %s: %s", name, run.product_id, exc)
