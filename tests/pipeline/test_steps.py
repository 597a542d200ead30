"""The batch steps each alone, and their order, on the example shop's customer profiles (silver: an email
rule that quarantines, a key pattern that blocks, restricted PII the mesh's policy encrypts)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import lakemesh.pipeline.steps as steps_module
from lakemesh.errors import LakemeshError
from lakemesh.governance.encryption import PREFIX
from lakemesh.governance.erasure import suppress
from lakemesh.governance.keys import pseudonym
from lakemesh.mesh import Mesh
from lakemesh.pipeline.columns import SchemaMismatch
from lakemesh.pipeline.results import ProductRun, RunStatus
from lakemesh.pipeline.runner import PipelineRunner
from lakemesh.pipeline.steps import (
    BATCH_STEPS,
    CDC_STEPS,
    Batch,
    RunServices,
    apply_steps,
    drop_erased_subjects,
    evolve_schema,
    quality_gate,
    seal,
    unique_keys,
)
from lakemesh.quality.gate import QualityGateError, quarantine_id
from lakemesh.settings import Settings

PROFILES = "customers.customer_profiles"
GOOD = {"C000001": "ann@example.com", "C000002": "bob@example.com", "C000003": "cy@example.org"}


@pytest.fixture
def mesh(shop: Path) -> Mesh:
    return Mesh.open(shop, Settings(user="tester@example.com"))


def profiles(emails: dict[str, str], region: str = "EMEA") -> pa.Table:
    """Profile rows as a transform produces them: customer id -> email, every other column valid."""
    n = len(emails)
    return pa.table(
        {
            "customer_id": list(emails),
            "full_name": [f"Name {i}" for i in range(n)],
            "email": list(emails.values()),
            "phone": ["+4915112345678"] * n,
            "date_of_birth": pa.array([date(1990, 1, 2)] * n, pa.date32()),
            "country": ["DE"] * n,
            "region": [region] * n,
            "signup_date": pa.array([date(2026, 1, 5)] * n, pa.date32()),
        }
    )


def batch_for(mesh: Mesh, services: RunServices | None = None, **flags: Any) -> Batch:
    entry = mesh.workspace.product(PROFILES)
    assert entry.contract is not None
    run = ProductRun(product_id=PROFILES, run_id="run-1")
    return Batch(entry, entry.contract.table(), run, mesh.lakehouse, services or RunServices(), **flags)


def erasing(*customers: str) -> RunServices:
    """Services whose suppressor is governance's own, with these customers erased."""
    erased = {"customer_id": {pseudonym(c) for c in customers}}
    return RunServices(suppress=lambda entry, data: suppress(entry, data, erased))


def quarantined_ids(mesh: Mesh) -> list[str]:
    if not mesh.lakehouse.exists(quarantine_id(PROFILES)):
        return []
    rows = mesh.lakehouse.table(quarantine_id(PROFILES)).to_pyarrow_table(columns=["customer_id"])
    return sorted(rows["customer_id"].to_pylist())


def test_drop_erased_subjects_drops_their_rows_and_counts_them(mesh: Mesh) -> None:
    batch = batch_for(mesh, erasing("C000002"))
    out = drop_erased_subjects(batch, profiles(GOOD))
    assert sorted(out["customer_id"].to_pylist()) == ["C000001", "C000003"]
    assert batch.run.details["erased_subject_rows_skipped"] == 1
    untouched = batch_for(mesh)  # no one erased: no suppressor, nothing dropped or counted
    assert drop_erased_subjects(untouched, profiles(GOOD)).num_rows == 3
    assert "erased_subject_rows_skipped" not in untouched.run.details


def test_quality_gate_quarantines_bad_rows_and_passes_the_rest(mesh: Mesh) -> None:
    batch = batch_for(mesh, checkpoints={"lakemesh:customers.customer_records": 4})
    rows = profiles({**GOOD, "C000004": "not-an-email"})
    out = quality_gate(batch, rows)
    assert sorted(out["customer_id"].to_pylist()) == sorted(GOOD)
    assert batch.run.quarantined == 1 and quarantined_ids(mesh) == ["C000004"]
    assert batch.run.quality is not None and not batch.run.quality.passed
    again = batch_for(mesh, checkpoints={"lakemesh:customers.customer_records": 4})
    quality_gate(again, rows)  # a rerun after a crash with the same checkpoints: quarantined once
    assert again.run.quarantined == 0 and quarantined_ids(mesh) == ["C000004"]


def test_quality_gate_raises_on_a_blocking_failure_and_keeps_the_report(mesh: Mesh) -> None:
    batch = batch_for(mesh)
    with pytest.raises(QualityGateError, match=PROFILES):
        quality_gate(batch, profiles({**GOOD, "X-9": "x@example.com"}))  # the key's pattern: severity error
    assert batch.run.quality is not None and not batch.run.quality.passed
    assert quarantined_ids(mesh) == []


def test_seal_encrypts_protected_columns_only_with_a_protector(mesh: Mesh) -> None:
    rows = profiles(GOOD)
    assert seal(batch_for(mesh), rows).equals(rows)
    sealed = seal(batch_for(mesh, RunServices(protector=mesh.encryptor)), rows)
    assert all(str(v).startswith(PREFIX) for v in sealed["email"].to_pylist())
    assert sealed["country"].equals(rows["country"]) and sealed["customer_id"].equals(rows["customer_id"])


def test_unique_keys_refuses_a_merge_batch_with_a_repeated_key(mesh: Mesh) -> None:
    rows = pa.concat_tables([profiles(GOOD), profiles({"C000001": "again@example.com"})])
    assert unique_keys(batch_for(mesh), rows).num_rows == 4  # not a merge: nothing to check
    with pytest.raises(LakemeshError, match=rf"{PROFILES}: the transform produced 1 primary-key values"):
        unique_keys(batch_for(mesh, merge_keys=("customer_id",)), rows)


def test_evolve_schema_decides_on_the_stored_table(mesh: Mesh) -> None:
    rows = profiles(GOOD)
    first = batch_for(mesh)
    assert evolve_schema(first, rows) is rows and first.evolve is False  # no table yet: nothing to evolve
    mesh.lakehouse.append(PROFILES, rows.drop_columns(["signup_date"]), {}, {}, False)
    wider = batch_for(mesh)
    evolve_schema(wider, rows)
    assert wider.evolve is True  # signup_date is optional and new to the table
    rewrite = batch_for(mesh, rewrite=True)
    evolve_schema(rewrite, rows)
    assert rewrite.evolve is False  # a rewrite takes the contract's schema whole
    sealing = batch_for(mesh, RunServices(protector=mesh.encryptor))
    with pytest.raises(SchemaMismatch, match="encrypted by policy now, but the table holds it in clear"):
        evolve_schema(sealing, rows)  # the table was written in clear: new ciphertext must not join it


def test_the_gate_judges_rows_in_clear_then_they_are_sealed(mesh: Mesh) -> None:
    services = RunServices(protector=mesh.encryptor)
    out = apply_steps(BATCH_STEPS, batch_for(mesh, services), profiles(GOOD))
    assert out.num_rows == 3 and quarantined_ids(mesh) == []
    assert all(str(v).startswith(PREFIX) for v in out["email"].to_pylist())
    # the order matters: gated after sealing, every email is ciphertext and fails the email rule
    swapped = apply_steps((seal, quality_gate), batch_for(mesh, services), profiles(GOOD))
    assert swapped.num_rows == 0 and quarantined_ids(mesh) == sorted(GOOD)


def test_erased_subjects_are_dropped_before_the_gate_can_quarantine_them(mesh: Mesh) -> None:
    rows = profiles({**GOOD, "C000009": "erased-and-malformed"})
    batch = batch_for(mesh, erasing("C000009"))
    out = apply_steps(BATCH_STEPS, batch, rows)
    assert sorted(out["customer_id"].to_pylist()) == sorted(GOOD)
    assert batch.run.quarantined == 0 and quarantined_ids(mesh) == []  # the quarantine never holds them


def test_the_step_tuples_are_in_the_documented_order() -> None:
    documented = re.findall(r"^\d\. `(\w+)`", steps_module.__doc__ or "", re.MULTILINE)
    assert [s.__name__ for s in BATCH_STEPS] == documented
    assert [s.__name__ for s in CDC_STEPS] == [n for n in documented if n not in ("unique_keys", "evolve_schema")]


def test_the_cdc_apply_path_drops_erased_subjects_upserts(tmp_path: Path) -> None:
    """Refresh mode cdc goes through CDC_STEPS: an erased customer's change events, folded again (a
    rebuild) or new, do not bring the customer back; the other keys are applied."""
    from tests.cdc.conftest import write_workspace

    root = write_workspace(tmp_path / "ws", "postgresql://unused.invalid/shop", deletes="hard", snapshot="never")
    contract = root / "domains/sales/products/orders/contract.yaml"
    text = contract.read_text()
    tagged = "{name: customer, logicalType: string, physicalType: VARCHAR, tags: [subject-key]}"
    contract.write_text(text.replace("{name: customer, logicalType: string, physicalType: VARCHAR}", tagged))
    events = [
        {"before": None, "after": {"id": i, "customer": f"C{i}", "status": "new"}, "op": "c",
         "source": {"lsn": 100 + i, "table": "orders"}}
        for i in (7, 8)
    ]  # fmt: skip
    mesh = Mesh.open(root, Settings(user="tester@example.com"))
    lines = [json.dumps(e) + "\n" for e in events]
    assert mesh.streams.apply_file("sales.order_changes", lines, "events.jsonl") == (2, False)
    erased = {"customer": {pseudonym("C7")}}
    services = RunServices(suppress=lambda entry, data: suppress(entry, data, erased))
    (run,) = PipelineRunner(mesh.workspace, mesh.lakehouse, services).run(["sales.orders"]).runs
    assert run.status is RunStatus.SUCCEEDED and run.details["erased_subject_rows_skipped"] == 1
    stored = mesh.lakehouse.table("sales.orders").to_pyarrow_table(columns=["id"])
    assert stored["id"].to_pylist() == [8]
