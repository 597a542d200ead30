"""What the benchmarks share: each measured step runs in a fresh process, which reports its own peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    """This process's peak resident memory. Linux carries a process's peak into the children it starts
    later, so a measured step must run in a child started before anything big happened here."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(command: list[str]) -> str:
    """A command from the project's root; its output, or exit with its error."""
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command[:5])} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def child_json(module: str, *args: str, python: str = sys.executable) -> dict[str, object]:
    """`python -m module args` (or `python script args` when `module` ends in .py); its last line as JSON."""
    command = [python, module, *args] if module.endswith(".py") else [python, "-m", module, *args]
    return dict(json.loads(run_child(command).strip().splitlines()[-1]))


def interleaved_best(module: str, sides: list[str], work: str, repeat: int) -> dict[str, dict[str, float]]:
    """Each side's fastest of `repeat` runs of `python -m module --step SIDE --work WORK`, the sides
    alternating so that drift in the machine's speed touches them alike."""
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for _ in range(repeat):
        for side in sides:
            out = child_json(module, "--step", side, "--work", work)
            runs[side].append({k: float(v) for k, v in out.items()})  # type: ignore[arg-type]
    return {side: min(r, key=lambda x: x["seconds"]) for side, r in runs.items()}


def warm_lakemesh() -> None:
    """Load what a lakemesh action loads lazily (the data stack, the pipeline), before a timer starts: the
    facade imports them on first use, so a timed first call in a fresh process would count seconds of
    imports the anchor, whose libraries are loaded before its timer, does not. Start-up is measured on its
    own (the CLI's cold start). The OpenLineage client is left out: a run loads it on its worker thread,
    and that cost is the run's."""
    import importlib

    for module in (
        "pyarrow.dataset",
        "duckdb",
        "deltalake",
        "lakemesh.catalog.store",
        "lakemesh.lakehouse.store",
        "lakemesh.engines.duckdb.engine",
        "lakemesh.pipeline.runner",
        "lakemesh.quality.product",
        "lakemesh.governance.access",
        "lakemesh.governance.erasure",
        "lakemesh.governance.tombstones",
        "lakemesh.querying",
    ):
        importlib.import_module(module)
