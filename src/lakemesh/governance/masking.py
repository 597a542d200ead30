"""Which columns governance hides on the way out: masked for some readers (`access.masks`) or stored
encrypted (`pii_protection` policies with `encrypt`). Lineage marks them (OpenLineage's `masking` flag)."""

from __future__ import annotations

import fnmatch

from lakemesh.governance.encryption import column_plans
from lakemesh.spec.workspace import Workspace


def masked_columns(ws: Workspace) -> frozenset[tuple[str, str]]:
    """(product id, column) of every column a mask or encryption applies to."""
    out = {
        (pid, mask.column)
        for mask in ws.mesh.access.masks
        for pid in ws.products
        if any(fnmatch.fnmatchcase(pid, p) for p in mask.products)
    }
    out |= {(pid, column) for pid, plan in column_plans(ws).items() for column in plan.columns if column != "_raw"}
    return frozenset(out)
