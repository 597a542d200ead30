"""`lakemesh doctor`: what is damaged in a product's Delta table (log files, data files) and how to recover.

It reads the files themselves rather than asking delta-rs, which stops at the first problem with an
error that names neither the file nor the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from lakemesh.lakehouse.base import LakehouseError
from lakemesh.lakehouse.store import Lakehouse, local_path


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a table, and what to do about it."""

    problem: str
    fix: str


def diagnose(lakehouse: Lakehouse, product_id: str) -> list[Finding]:
    """Every problem found in the table's log, else in the data files of its current version."""
    uri = lakehouse.uri(product_id)
    root = local_path(uri)
    if root is None:
        raise LakehouseError(f"{product_id}: the doctor checks tables on local storage only, not {uri}")
    log = root / "_delta_log"
    if not log.is_dir():
        return [Finding(f"{product_id} has no table at {root}", f"build it with `lakemesh run {product_id}`")]
    return _log_findings(product_id, root, log) or _file_findings(lakehouse, product_id, root)


def _rebuild(product_id: str, root: Path) -> str:
    return (
        f"move {root} aside and rebuild the table with `lakemesh run {product_id}` "
        "(bronze reads its sources again, silver and gold recompute from their inputs)"
    )


def _log_findings(product_id: str, root: Path, log: Path) -> list[Finding]:
    """Commit files missing from the sequence the log must hold, or not valid JSON (truncated)."""
    commits = {int(p.stem): p for p in log.glob("*.json") if p.stem.isdigit()}
    checkpoints = [int(p.name.split(".")[0]) for p in log.glob("*.checkpoint*.parquet")]
    if not commits:
        return [Finding(f"{product_id}: the table's log {log} holds no commits", _rebuild(product_id, root))]
    # before the newest checkpoint, commit files may have been cleaned up on purpose
    first, last = (max(checkpoints) if checkpoints else 0), max(commits)
    findings = []
    for version in range(first, last + 1):
        name = f"{version:020d}.json"
        if version not in commits:
            if version == first and checkpoints:
                continue  # the checkpoint stands for it
            problem = f"{product_id}: the log entry of version {version} ({name}) is missing from {log}"
        elif not _valid_json_lines(commits[version]):
            problem = f"{product_id}: the log entry of version {version} ({name}) is not valid JSON (truncated?)"
        else:
            continue
        fix = _rebuild(product_id, root)
        if version == last and version > 0:
            fix = f"move {name} out of {log}: the table goes back to version {version - 1}; or {fix}"
        findings.append(Finding(problem, fix))
    return findings


def _valid_json_lines(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return all(isinstance(json.loads(line), dict) for line in lines if line.strip())
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _missing(table: DeltaTable) -> list[Path]:
    paths = [local_path(uri) for uri in table.file_uris()]
    return [p for p in paths if p is not None and not p.exists()]


def _file_findings(lakehouse: Lakehouse, product_id: str, root: Path) -> list[Finding]:
    """Data files the current version reads that are gone, with the newest version that still has all."""
    table = lakehouse.table(product_id)
    missing = _missing(table)
    if not missing:
        return []
    current = table.version()
    names = ", ".join(p.name for p in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    problem = f"{product_id}: {len(missing)} data file(s) of version {current} are missing from {root}: {names}"
    intact = _newest_intact_version(lakehouse, product_id, current)
    fix = _rebuild(product_id, root)
    if intact is not None:
        fix = (
            f"`lakemesh restore {product_id} --to {intact}` makes version {intact}, whose files are all there, "
            f"the current one (the changes after it are lost, a rerun redoes those from its inputs); or {fix}"
        )
    return [Finding(problem, fix)]


def _newest_intact_version(lakehouse: Lakehouse, product_id: str, current: int) -> int | None:
    for version in range(current - 1, -1, -1):
        try:
            table = DeltaTable(lakehouse.uri(product_id), version=version)
        except (DeltaError, OSError):
            return None  # history before this was purged or is damaged
        if not _missing(table):
            return version
    return None
