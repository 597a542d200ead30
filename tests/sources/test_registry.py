"""The source registry: a kind's module is imported only when asked for; an unknown type names the known ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.sinks import open_sink
from lakemesh.sources import SOURCES, open_source
from lakemesh.spec.models import FileSource


def test_source_modules_load_only_when_opened() -> None:
    code = (
        "import sys; import lakemesh.sources as s\n"
        "assert 'lakemesh.sources.postgres_cdc' not in sys.modules\n"
        "assert 'lakemesh.cdc.capture' not in sys.modules\n"
        "class Spec: type = 'postgres-cdc'\n"
        "src = s.open_source(Spec())\n"
        "assert 'lakemesh.sources.postgres_cdc' in sys.modules\n"
        "assert 'lakemesh.cdc.capture' not in sys.modules  # the replication client: only when capturing\n"
        "print(type(src).__name__, src.capabilities.captures, src.capabilities.batches)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["PostgresChangeSource", "True", "False"]


def test_files_source_declares_batches() -> None:
    source = open_source(FileSource(type="files", path="data/*.jsonl"))
    assert source.capabilities.batches and not source.capabilities.captures


def test_unknown_source_type_names_the_known_ones() -> None:
    class Spec:
        type = "kafka"

    with pytest.raises(LakemeshError) as caught:
        open_source(Spec())
    assert "kafka" in caught.value.message
    assert caught.value.hint is not None
    for kind in SOURCES:
        assert kind in caught.value.hint


def test_unknown_sink_type_is_an_error() -> None:
    class Spec:
        type = "redis"

    with pytest.raises(LakemeshError, match="redis"):
        open_sink(Spec())
