"""Where run events go: a JSON-lines journal in the workspace (always), Marquez-compatible HTTP endpoints,
the console. Emitting never raises: a transport that fails becomes a warning the caller reports.

Thin transports of our own rather than the `openlineage-python` client's, for three reasons: the journal is
appended by whole lines under a lock so two `lakemesh run`s at once never interleave (the client's file
transport writes unlocked); an endpoint that is down must leave its events *pending* in the journal for
`replay`, which re-sends the stored JSON as is (the client's transports take event objects and retry with
backoff inside the run); and an endpoint that failed once in a process is not tried again until replay,
so a down endpoint costs one timeout per process, not one per event.

Delivery state is a small JSON file beside the journal: per endpoint, the byte offset in the journal up to
which every event was delivered. Events after it are pending; sending catches up oldest first, so an
endpoint receives each event once and in order.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from openlineage.client.event_v2 import RunEvent
from pydantic import BaseModel, Field

from lakemesh.errors import LakemeshError
from lakemesh.lineage.model import Granularity, ProductLineage
from lakemesh.lineage.openlineage import Masked, ParentJob, complete_event, fail_event, start_event, to_json
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.spec.models import LineageConfig, LineageConsole, LineageFile, LineageHttp
from lakemesh.spec.workspace import ProductEntry

LINEAGE_PATH = "/api/v1/lineage"
DEFAULT_JOURNAL = LineageFile().path


class LineageError(LakemeshError):
    """Lineage events cannot be replayed: an unknown endpoint, an unreadable journal."""


class EmitResult(BaseModel):
    """What happened to one event: the endpoints it reached and the warnings to show with the run."""

    delivered: list[str] = Field(default_factory=list)
    pending: dict[str, int] = Field(default_factory=dict)  # endpoint -> events not yet delivered
    warnings: list[str] = Field(default_factory=list)


class ReplayResult(BaseModel):
    endpoint: str
    delivered: int
    pending: int
    error: str | None = None


class HttpEndpoint:
    """POSTs one JSON event to `{url}/api/v1/lineage`; a bearer token from an environment variable."""

    def __init__(self, spec: LineageHttp) -> None:
        self.spec = spec
        self.name = spec.name or spec.url
        self.url = spec.url.rstrip("/") + LINEAGE_PATH

    def send(self, line: str) -> None:
        """Raises OSError (URLError, HTTPError, timeouts are all OSErrors) when the endpoint refuses it."""
        headers = {"Content-Type": "application/json"}
        token = os.environ.get(self.spec.token_env) if self.spec.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url, data=line.encode(), headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.spec.timeout) as response:
            response.read()


class Journal:
    """The JSON-lines file every event is appended to, and the per-endpoint delivered offsets beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state_path = path.with_name(path.name + ".state.json")
        self.lock_path = path.with_name(path.name + ".lock")

    def append(self, line: str) -> int:
        """Appends one line in one write under an exclusive lock; returns the offset where it starts."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (line.rstrip("\n") + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            start = os.fstat(fd).st_size
            os.write(fd, data)
            return start
        finally:
            os.close(fd)  # closing releases the lock

    def lines_from(self, offset: int) -> Iterator[tuple[str, int]]:
        """Each whole line after `offset`, with the offset just past it (a partial last line is left)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return
                offset += len(raw)
                yield raw.decode().rstrip("\n"), offset

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    @contextmanager
    def delivering(self) -> Iterator[None]:
        """One deliverer at a time across processes, so no event goes out twice."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    def offsets(self) -> dict[str, int]:
        if not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError) as exc:
            raise LineageError(
                f"lineage delivery state {self.state_path} is unreadable: {exc}",
                "delete it to re-send every journalled event to every endpoint",
            ) from exc
        return {str(k): int(v) for k, v in data.get("delivered", {}).items()}

    def save_offset(self, endpoint: str, offset: int) -> None:
        offsets = self.offsets()
        offsets[endpoint] = offset
        tmp = self.state_path.with_name(self.state_path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"delivered": offsets}, indent=1, sort_keys=True))
        tmp.replace(self.state_path)

    def pending(self, endpoint: str) -> int:
        start = self.offsets().get(endpoint, 0)
        return sum(1 for _ in self.lines_from(start))


class Emitter:
    """Sends run events to the transports of a mesh's `lineage:` config; never raises while emitting."""

    def __init__(self, config: LineageConfig, root: Path) -> None:
        self.config = config
        files = [t for t in config.transports if isinstance(t, LineageFile)]
        self.journal = Journal(root / (files[0].path if files else DEFAULT_JOURNAL))
        self.endpoints = [HttpEndpoint(t) for t in config.transports if isinstance(t, LineageHttp)]
        self.console = any(isinstance(t, LineageConsole) for t in config.transports)
        self.down: dict[str, str] = {}  # endpoint -> why it failed in this process: not tried again

    def emit(self, event: RunEvent) -> EmitResult:
        """Journal the event, then bring every endpoint up to date with the journal (oldest first)."""
        result = EmitResult()
        if not self.config.enabled:
            return result
        line = to_json(event)
        try:
            start = self.journal.append(line)
        except OSError as exc:
            result.warnings.append(f"lineage journal {self.journal.path} not written: {exc}")
            start = None
        if self.console:
            try:
                print(line, file=sys.stderr, flush=True)
            except (OSError, ValueError) as exc:  # a closed or broken stderr
                result.warnings.append(f"lineage console: {exc}")
        for endpoint in self.endpoints:
            self._bring_up_to_date(endpoint, start, line, result)
        return result

    def _bring_up_to_date(self, endpoint: HttpEndpoint, start: int | None, line: str, result: EmitResult) -> None:
        if start is None:  # no journal to keep it in: one live attempt
            error = self.down.get(endpoint.name) or _try_send(endpoint, line)
            if error:
                result.warnings.append(f"lineage endpoint {endpoint.name}: {error}; the event is not kept")
            else:
                result.delivered.append(endpoint.name)
            return
        try:
            error, pending = self._catch_up(endpoint, start)
        except (LineageError, OSError) as exc:
            error, pending = str(exc), None
        if error is None:
            result.delivered.append(endpoint.name)
            return
        if endpoint.name not in self.down:  # warned once per process; later events just queue
            self.down[endpoint.name] = error
            result.warnings.append(
                f"lineage endpoint {endpoint.name}: {error}; events kept in {self.journal.path} "
                f"for `lakemesh lineage replay {endpoint.name}`"
            )
        if pending is not None:
            result.pending[endpoint.name] = pending

    def _catch_up(self, endpoint: HttpEndpoint, start: int) -> tuple[str | None, int | None]:
        """(why not, events pending): an endpoint new to the journal starts at this event, not at its history."""
        if endpoint.name not in self.journal.offsets():
            with self.journal.delivering():
                if endpoint.name not in self.journal.offsets():
                    self.journal.save_offset(endpoint.name, start)
        if endpoint.name in self.down:
            return self.down[endpoint.name], self.journal.pending(endpoint.name)
        outcome = self.replay_endpoint(endpoint)
        return outcome.error, outcome.pending

    def replay(self, endpoint: str | None = None) -> list[ReplayResult]:
        """Re-send what each endpoint (or the one named, by name or url) has not received yet."""
        chosen = [e for e in self.endpoints if endpoint in (None, e.name, e.spec.url)]
        if not chosen:
            wanted = f"lineage endpoint {endpoint!r}" if endpoint else "lineage endpoints"
            known = ", ".join(e.name for e in self.endpoints) or "none configured"
            raise LineageError(
                f"no {wanted} in mesh.yaml (known: {known})",
                "add one under `lineage: transports:` as `- type: http` with a `url`",
            )
        results = [self.replay_endpoint(e) for e in chosen]
        for e, r in zip(chosen, results, strict=True):
            if r.error is None:
                self.down.pop(e.name, None)
        return results

    def replay_endpoint(self, endpoint: HttpEndpoint) -> ReplayResult:
        """Sends the journal's lines after the endpoint's delivered offset, oldest first; stops at a failure."""
        delivered = 0
        with self.journal.delivering():
            offset = self.journal.offsets().get(endpoint.name, 0)
            for line, end in self.journal.lines_from(offset):
                error = _try_send(endpoint, line)
                if error:
                    return ReplayResult(
                        endpoint=endpoint.name,
                        delivered=delivered,
                        pending=self.journal.pending(endpoint.name),
                        error=error,
                    )
                self.journal.save_offset(endpoint.name, end)
                delivered += 1
        return ReplayResult(endpoint=endpoint.name, delivered=delivered, pending=0)


def _try_send(endpoint: HttpEndpoint, line: str) -> str | None:
    """None when delivered, else why not (a refused connection, a timeout, an HTTP error status)."""
    try:
        endpoint.send(line)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason} from {endpoint.url}"
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, bad urls
        reason = getattr(exc, "reason", exc)
        return f"cannot reach {endpoint.url} ({reason})"
    return None


class OpenLineageHook:
    """The runner's lineage hook: START when a product's build begins, COMPLETE or FAIL when it ends.

    Thin on purpose: events are built by `lineage.openlineage` and sent by an `Emitter`; warnings land in
    the run's details (`lineage`) so a failing endpoint shows with the run without failing it."""

    def __init__(
        self,
        mesh: str,
        emitter: Emitter,
        lineage_of: Callable[[ProductEntry], ProductLineage | None] | None = None,
        masked: Masked = frozenset(),
        parent: ParentJob | None = None,
    ) -> None:
        self.mesh, self.emitter, self.lineage_of = mesh, emitter, lineage_of
        self.masked, self.parent = masked, parent
        self.fatal = False  # an observer: a failing endpoint is a warning on the run, never a failed run

    def started(self, entry: ProductEntry, run: ProductRun) -> EmitResult:
        lineage = self.lineage_of(entry) if self.lineage_of else None
        event = start_event(self.mesh, entry, run, lineage, self.masked, parent=self.parent)
        return self._send(event, run)

    def finished(self, entry: ProductEntry, run: ProductRun, inputs: Sequence[str] = ()) -> EmitResult:
        """COMPLETE for a built or up-to-date product, FAIL for a failed one; a skipped one sends nothing."""
        if run.status is RunStatus.SKIPPED:
            return EmitResult()
        lineage = (self.lineage_of(entry) if self.lineage_of else None) or _product_level(entry.id, inputs)
        build = fail_event if run.status is RunStatus.FAILED else complete_event
        return self._send(build(self.mesh, entry, run, lineage, self.masked, parent=self.parent), run)

    def _send(self, event: RunEvent, run: ProductRun) -> EmitResult:
        result = self.emitter.emit(event)
        if result.warnings or result.pending:
            details = run.details.setdefault("lineage", {"warnings": [], "pending": {}})
            if isinstance(details, dict):
                details["warnings"] = [*details.get("warnings", []), *result.warnings]
                details["pending"] = {**details.get("pending", {}), **result.pending}
        return result


def _product_level(product: str, inputs: Sequence[str]) -> ProductLineage:
    """What is known without derived lineage: the upstream products, no columns."""
    return ProductLineage(product_id=product, fingerprint="", granularity=Granularity.PRODUCT, inputs=list(inputs))
