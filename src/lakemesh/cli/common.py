"""Helpers the commands share: opening the workspace named by --workspace (closed when the command ends)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lakemesh.errors import LakemeshError, SpecError
from lakemesh.spec.odcs import Contract, load_contract

if TYPE_CHECKING:
    from lakemesh.mesh import Mesh


def open_mesh(ctx: typer.Context) -> Mesh:
    """The workspace named by --workspace, closed when the command ends, however it ends."""
    from lakemesh.mesh import Mesh  # the facade pulls in the data stack: not for `--help`

    obj = ctx.find_root().obj or {}
    return ctx.with_resource(Mesh.open(obj.get("workspace", Path())))


def resolve_contract(ctx: typer.Context, ref: str) -> Contract:
    """A contract from a file path, or by id from the current workspace."""
    path = Path(ref)
    if path.is_file():
        contract, problems = load_contract(path)
        if contract is None:
            raise SpecError(problems, f"run `lakemesh contract lint {ref}` to see every problem")
        return contract
    try:
        mesh = open_mesh(ctx)
    except LakemeshError as exc:
        raise LakemeshError(f"'{ref}' is neither a contract file nor a contract id here", exc.hint) from exc
    contract = mesh.workspace.contracts.get(ref)
    if contract is None:
        from lakemesh.spec.problems import did_you_mean

        hint = did_you_mean(ref, list(mesh.workspace.contracts))
        raise LakemeshError(f"'{ref}' is neither a contract file nor a contract id in this workspace{hint}")
    return contract
