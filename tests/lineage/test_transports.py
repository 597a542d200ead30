"""Where run events go: the journal, a real Marquez-compatible HTTP receiver, the console; and what happens
when the receiver is down (a warning, the events kept) and comes back (replay sends exactly the missed ones)."""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lakemesh.lineage.openlineage import start_event
from lakemesh.lineage.transports import Emitter, LineageError, OpenLineageHook
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.spec.models import LineageConfig, MeshSpec
from tests.lineage.ol_support import entry, schema_errors

MESH = "shop"
ORDERS = entry("orders.silver_orders", "silver", [("order_id", "string"), ("amount", "number")])


class Receiver:
    """A Marquez-compatible lineage endpoint in a thread: records what is POSTed to /api/v1/lineage."""

    def __init__(self, port: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/api/v1/lineage":
                    self.send_response(404)
                else:
                    receiver.events.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                    self.send_response(201)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _config(*transports: dict[str, Any]) -> LineageConfig:
    return LineageConfig.model_validate({"transports": list(transports)})


def _run(status: RunStatus = RunStatus.SUCCEEDED, **kwargs: Any) -> ProductRun:
    return ProductRun(
        product_id=ORDERS.id, run_id=str(uuid.uuid4()), status=status, output_version=3, rows_written=10, **kwargs
    )


def _journal(root: Path) -> list[dict[str, Any]]:
    lines = (root / ".lakemesh/lineage/events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_the_journal_is_the_default_and_keeps_every_event_as_one_json_line(tmp_path: Path) -> None:
    emitter = Emitter(LineageConfig(), tmp_path)
    hook = OpenLineageHook(MESH, emitter)
    run = _run()
    hook.started(ORDERS, run)
    result = hook.finished(ORDERS, run, ["orders.raw_orders"])
    events = _journal(tmp_path)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in events} == {run.run_id}
    assert [d["name"] for d in events[1]["inputs"]] == ["orders.raw_orders"]  # upstream, without derived lineage
    assert result.warnings == [] and "lineage" not in run.details
    assert all(schema_errors(e) == [] for e in events)


def test_a_real_http_receiver_gets_start_and_complete_with_the_bearer_token(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARQUEZ_TOKEN", "s3cret")
    config = _config({"type": "file"}, {"type": "http", "url": receiver.url, "tokenEnv": "MARQUEZ_TOKEN"})
    hook = OpenLineageHook(MESH, Emitter(config, tmp_path))
    run = _run()
    started = hook.started(ORDERS, run)
    finished = hook.finished(ORDERS, run, [])
    assert [e["eventType"] for e in receiver.events] == ["START", "COMPLETE"]
    assert receiver.events == _journal(tmp_path)  # the same JSON the journal keeps
    assert {h["Authorization"] for h in receiver.headers} == {"Bearer s3cret"}
    assert started.delivered == finished.delivered == [receiver.url]
    assert all(schema_errors(e) == [] for e in receiver.events)


def test_a_failed_run_sends_fail_and_a_skipped_one_sends_nothing(tmp_path: Path, receiver: Receiver) -> None:
    hook = OpenLineageHook(MESH, Emitter(_config({"type": "http", "url": receiver.url}), tmp_path))
    failed = _run(RunStatus.FAILED, error="Binder Error: column amout not found")
    hook.started(ORDERS, failed)
    hook.finished(ORDERS, failed, [])
    hook.finished(ORDERS, _run(RunStatus.SKIPPED), [])
    assert [e["eventType"] for e in receiver.events] == ["START", "FAIL"]
    assert receiver.events[1]["run"]["facets"]["errorMessage"]["message"] == "Binder Error: column amout not found"


def test_a_down_receiver_is_a_warning_the_events_are_kept_and_replay_sends_exactly_the_missed_ones(
    tmp_path: Path,
) -> None:
    port = _free_port()  # nothing listens there yet
    url = f"http://127.0.0.1:{port}"
    config = _config({"type": "http", "url": url, "name": "marquez", "timeout": 2})
    hook = OpenLineageHook(MESH, Emitter(config, tmp_path))
    runs = [_run(), _run()]
    for run in runs:
        hook.started(ORDERS, run)
        hook.finished(ORDERS, run, [])
    details = runs[0].details["lineage"]
    assert isinstance(details, dict)
    assert len(details["warnings"]) == 1  # once per process, not once per event
    assert "marquez" in details["warnings"][0] and "lakemesh lineage replay marquez" in details["warnings"][0]
    assert runs[1].details["lineage"] == {"warnings": [], "pending": {"marquez": 4}}
    assert len(_journal(tmp_path)) == 4

    server = Receiver(port)
    try:
        replayed = Emitter(config, tmp_path).replay("marquez")
        assert [(r.endpoint, r.delivered, r.pending, r.error) for r in replayed] == [("marquez", 4, 0, None)]
        assert server.events == _journal(tmp_path)
        again = Emitter(config, tmp_path).replay()
        assert again[0].delivered == 0 and len(server.events) == 4  # nothing goes out twice
        hook_later = OpenLineageHook(MESH, Emitter(config, tmp_path))
        hook_later.started(ORDERS, _run())
        assert len(server.events) == 5
    finally:
        server.stop()


def test_the_next_run_catches_up_an_endpoint_that_came_back(tmp_path: Path) -> None:
    port = _free_port()
    config = _config({"type": "http", "url": f"http://127.0.0.1:{port}"})
    OpenLineageHook(MESH, Emitter(config, tmp_path)).started(ORDERS, _run())
    server = Receiver(port)
    try:
        run = _run()
        result = OpenLineageHook(MESH, Emitter(config, tmp_path)).started(ORDERS, run)
        assert result.warnings == []
        assert [e["run"]["runId"] for e in server.events][-1] == run.run_id
        assert len(server.events) == 2  # the missed event first, then this one
    finally:
        server.stop()


def test_a_new_endpoint_starts_at_the_next_event_not_the_journal_history(tmp_path: Path, receiver: Receiver) -> None:
    journal_only = Emitter(LineageConfig(), tmp_path)
    for _ in range(3):
        journal_only.emit(start_event(MESH, ORDERS, _run()))
    emitter = Emitter(_config({"type": "http", "url": receiver.url}), tmp_path)
    emitter.emit(start_event(MESH, ORDERS, _run()))
    assert len(receiver.events) == 1
    assert len(_journal(tmp_path)) == 4


def test_an_http_error_status_is_a_warning_too(tmp_path: Path, receiver: Receiver) -> None:
    emitter = Emitter(_config({"type": "http", "url": receiver.url + "/wrong"}), tmp_path)
    result = emitter.emit(start_event(MESH, ORDERS, _run()))
    assert result.delivered == []
    assert "HTTP 404" in result.warnings[0]
    assert result.pending == {receiver.url + "/wrong": 1}


def test_an_endpoint_that_answers_garbage_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"not http at all\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = Emitter(_config({"type": "http", "url": url}), tmp_path).emit(start_event(MESH, ORDERS, _run()))
    finally:
        thread.join(timeout=10)
        listener.close()
    assert result.delivered == [] and result.pending == {url: 1}
    assert f"cannot reach {url}/api/v1/lineage" in result.warnings[0]


def test_an_unwritable_journal_is_a_warning_and_the_endpoint_still_gets_the_event(
    tmp_path: Path, receiver: Receiver
) -> None:
    (tmp_path / "blocked").write_text("a file where the journal's folder should be")
    config = _config({"type": "file", "path": "blocked/events.jsonl"}, {"type": "http", "url": receiver.url})
    result = Emitter(config, tmp_path).emit(start_event(MESH, ORDERS, _run()))
    assert "lineage journal" in result.warnings[0]
    assert len(receiver.events) == 1


def test_the_console_transport_writes_each_event_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run()
    Emitter(_config({"type": "console"}), tmp_path).emit(start_event(MESH, ORDERS, run))
    err = capsys.readouterr().err.splitlines()
    assert json.loads(err[0])["run"]["runId"] == run.run_id
    assert len(_journal(tmp_path)) == 1  # the journal is kept whatever else is configured


def test_disabled_lineage_writes_nothing(tmp_path: Path) -> None:
    config = LineageConfig.model_validate({"enabled": False})
    assert Emitter(config, tmp_path).emit(start_event(MESH, ORDERS, _run())).delivered == []
    assert not (tmp_path / ".lakemesh").exists()


def test_replay_of_an_unknown_endpoint_names_the_known_ones(tmp_path: Path) -> None:
    emitter = Emitter(_config({"type": "http", "url": "http://127.0.0.1:9", "name": "marquez"}), tmp_path)
    with pytest.raises(LineageError) as caught:
        emitter.replay("datahub")
    assert "'datahub'" in caught.value.message and "marquez" in caught.value.message
    assert caught.value.hint is not None
    with pytest.raises(LineageError, match="none configured"):
        Emitter(LineageConfig(), tmp_path).replay()


def test_mesh_yaml_lineage_config_is_strict() -> None:
    mesh = MeshSpec.model_validate(
        {"name": "shop", "lineage": {"transports": [{"type": "http", "url": "http://m:5000", "tokenEnv": "T"}]}}
    )
    http = mesh.lineage.transports[0]
    assert http.type == "http" and getattr(http, "token_env", None) == "T"
    assert MeshSpec.model_validate({"name": "shop"}).lineage.transports[0].type == "file"
    with pytest.raises(ValidationError, match="url"):
        LineageConfig.model_validate({"transports": [{"type": "http"}]})
    with pytest.raises(ValidationError):
        LineageConfig.model_validate({"transports": [{"type": "kafka"}]})


def _append_many(root: str, writer: int, count: int) -> None:
    emitter = Emitter(LineageConfig(), Path(root))
    padding = "x" * 20_000  # lines far longer than a pipe's atomic write
    for i in range(count):
        emitter.journal.append(json.dumps({"writer": writer, "i": i, "pad": padding}))


@pytest.mark.slow
def test_two_processes_appending_at_once_never_interleave_lines(tmp_path: Path) -> None:
    count = 200
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, count)) for w in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    lines = (tmp_path / ".lakemesh/lineage/events.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # an interleaved line would not parse
    assert len(records) == 2 * count
    for writer in (1, 2):
        assert [r["i"] for r in records if r["writer"] == writer] == list(range(count))
