"""Policy specs as a discriminated union on `kind`: each kind accepts only its own fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemesh.governance.policies import KINDS
from lakemesh.spec.models import (
    POLICY_KINDS,
    MeshSpec,
    OwnerRequiredPolicy,
    PiiProtectionPolicy,
    SqlPolicy,
    UnknownPolicy,
)
from lakemesh.spec.validation import validate_model
from lakemesh.spec.workspace import load_workspace


def _policies(*policies: dict[str, object]) -> tuple[MeshSpec | None, list[str]]:
    mesh, problems = validate_model(MeshSpec, {"name": "m", "governance": {"policies": list(policies)}}, "mesh.yaml")
    return mesh, [p.render() for p in problems]


def test_each_kind_is_its_own_model() -> None:
    mesh, problems = _policies(
        {"name": "owned", "kind": "owner_required"},
        {"name": "sealed", "kind": "pii_protection", "encrypt": ["restricted"], "keyPer": "subject"},
        {"name": "rows", "kind": "sql", "query": "SELECT count(*) FROM ${table}", "maxRows": 3},
    )
    assert mesh is not None and problems == []
    owned, sealed, rows = mesh.governance.policies
    assert isinstance(owned, OwnerRequiredPolicy) and not hasattr(owned, "encrypt")
    assert isinstance(sealed, PiiProtectionPolicy) and sealed.key_per == "subject"
    assert isinstance(rows, SqlPolicy) and rows.max_rows == 3


def test_a_field_of_another_kind_is_an_unknown_key() -> None:
    _, problems = _policies({"name": "owned", "kind": "owner_required", "encrypt": ["restricted"]})
    assert problems == ["mesh.yaml governance.policies[0].encrypt: unknown key 'encrypt'"]


def test_a_misspelt_key_names_the_closest_of_its_kind() -> None:
    _, problems = _policies({"name": "sealed", "kind": "pii_protection", "decryptRole": ["dpo"]})
    assert problems == [
        "mesh.yaml governance.policies[0].decryptRole: unknown key 'decryptRole' (did you mean 'decryptRoles'?)"
    ]


def test_fields_a_kind_needs_are_required() -> None:
    _, problems = _policies({"name": "custom", "kind": "python"}, {"name": "rows", "kind": "sql"})
    assert problems == [
        "mesh.yaml governance.policies[0].function: required field is missing",
        "mesh.yaml governance.policies[1].query: required field is missing",
    ]


def test_a_policy_without_a_kind_lists_the_kinds() -> None:
    _, problems = _policies({"name": "nameless"})
    assert len(problems) == 1 and problems[0].startswith("mesh.yaml governance.policies[0]: a policy needs a `kind`")
    assert "owner_required" in problems[0] and "pii_protection" in problems[0]


def test_an_unknown_kind_still_loads_the_rest_and_names_the_closest_kind(shop: Path) -> None:
    mesh_file = shop / "mesh.yaml"
    text = mesh_file.read_text()
    mesh_file.write_text(text.replace("kind: owner_required", "kind: owner_requird"))
    ws = load_workspace(shop)
    assert isinstance(ws.mesh.governance.policies[0], UnknownPolicy)
    assert len(ws.mesh.governance.policies) > 1  # the other policies are there to check


def test_every_kind_has_a_check() -> None:
    assert set(KINDS) == set(POLICY_KINDS)


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_a_kind_with_only_common_fields_is_valid_or_says_what_it_needs(kind: str) -> None:
    mesh, problems = _policies({"name": "p", "kind": kind, "severity": "critical", "products": ["orders.*"]})
    assert (mesh is not None) == (kind not in ("python", "sql")), problems
