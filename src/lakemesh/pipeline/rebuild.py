"""When a product must be rebuilt from full reads instead of reading only its inputs' new versions.

Each build commits a fingerprint of what defines the product (its build block and input ports, the
transform's source, the contract) as a Delta app transaction (`lakemesh:build`), atomic with the data.
A run rebuilds when the fingerprint differs (the transform changed), when the product was restored (a
restore commits the fingerprint 0), and when an input was restored or rebuilt after the version last
read: its change feed no longer says what the product must drop.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from lakemesh.spec.models import Layer
from lakemesh.spec.workspace import ProductEntry, Workspace
from lakemesh.sql import BUILD_APP

if TYPE_CHECKING:  # `fingerprint` is read by lineage and `validate` too, which need no lakehouse (pyarrow)
    from lakemesh.lakehouse import Lakehouse

RESTORED = 0  # the fingerprint a restore commits: no build has it, so the next run rebuilds
REBUILD_KEY = "lakemesh.rebuild"  # commit metadata of a rebuild: its consumers rebuild too


def fingerprint(entry: ProductEntry) -> int:
    """A positive 63-bit digest of everything that defines the product's rows."""
    digest = hashlib.blake2b(digest_size=8)
    spec = entry.spec.model_dump(mode="json", include={"layer", "input_ports", "build"})
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    contract = entry.contract
    digest.update(json.dumps(contract.raw if contract else None, sort_keys=True, default=str).encode())
    transform = entry.spec.build.transform
    source = (transform.sql or transform.python or "").partition(":")[0] if transform else ""
    path = entry.folder / source
    digest.update(path.read_bytes() if source and path.is_file() else b"")
    return (int.from_bytes(digest.digest(), "big") >> 1) or 1


def rebuild_reason(
    lakehouse: Lakehouse, entry: ProductEntry, current: dict[str, int], last: dict[str, int | None]
) -> str | None:
    """Why the product's existing table cannot be brought up to date incrementally; None when it can."""
    if not lakehouse.exists(entry.id):
        return None  # a first build reads everything anyway
    stored = lakehouse.checkpoint(entry.id, BUILD_APP)
    if stored == RESTORED:
        return "restored to an earlier version"
    if stored is None:
        return "built before build fingerprints were recorded"
    if stored != fingerprint(entry):
        return "transform changed (product spec, transform source or contract)"
    for product, version in current.items():
        read = last.get(product)
        if read is None or read == version:
            continue
        if read > version:
            return f"input {product} is at version {version}, older than the version {read} last read"
        rewritten = _rewritten(lakehouse, product, read, version)
        if rewritten:
            return f"input {product} was {rewritten} since version {read}"
    return None


def _rewritten(lakehouse: Lakehouse, product: str, after: int, upto: int) -> str | None:
    """'restored' or 'rebuilt' when a commit of versions after+1..upto replaced the input's history."""
    for commit in lakehouse.history(product, upto - after):
        if not after < commit.version <= upto:
            continue
        if commit.operation == "RESTORE":
            return "restored"
        if REBUILD_KEY in commit.metadata:
            return "rebuilt"
    return None


def rebuilt_after_restore(workspace: Workspace, product_id: str) -> list[str]:
    """What the next run rebuilds after `product_id` was restored, in build order: every product built
    from it, directly or not, and the product itself unless bronze (bronze ingests what it lacks)."""
    order = workspace.build_order()
    found = {product_id}
    for pid in order:
        if any(u in found for u in workspace.upstream(pid)):
            found.add(pid)
    if workspace.product(product_id).spec.layer is Layer.BRONZE:
        found.discard(product_id)
    return [p for p in order if p in found]
