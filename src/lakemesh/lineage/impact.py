"""Impact of a contract change: every downstream product and column, at every depth, and how it is hit.

The diff says which columns changed and how; the lineage index says who reads them and how:
- BREAKS: one hop away, the transform reads a column that is gone (removed, renamed, its table removed:
  the query cannot run, whatever it does with it), or reads a retyped or otherwise broken column
  directly (IDENTITY, TRANSFORMATION, AGGREGATION): its own contract's type can no longer be met.
- CHANGES_MEANING: its values or rows may change: it reads a broken column only indirectly (a filter, a
  join key), reads a column changed compatibly, or derives from any of these further down.
- UNAFFECTED: downstream of the product, but none of the changed columns reach it.
Changes to descriptions, tags and classifications change no value and reach no one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from lakemesh.lineage.graph import LineageIndex, Node, cyclic_gc_paused, key
from lakemesh.lineage.model import EdgeType, ImpactedColumn, ImpactKind, ImpactReport
from lakemesh.spec.diff import Change, ContractDiff

_GONE = frozenset({"column removed", "column renamed"})
_NO_VALUE_CHANGE = frozenset({"description changed", "classification changed", "tags changed", "type respelled"})
_RANK = {ImpactKind.UNAFFECTED: 0, ImpactKind.CHANGES_MEANING: 1, ImpactKind.BREAKS: 2}


def changed_columns(diff: ContractDiff, columns: Iterable[str]) -> dict[str, Change]:
    """Per column whose values are affected, the change that hits it hardest (gone, breaking, other)."""
    out: dict[str, Change] = {}
    for change in diff.changes:
        if change.kind in _NO_VALUE_CHANGE:
            continue
        if change.kind == "table removed":
            hit = list(columns)
        elif "." in change.path:
            hit = [change.path.split(".", 1)[1]]
        else:
            continue
        for column in hit:
            if column not in out or _severity(change) > _severity(out[column]):
                out[column] = change
    return out


def _severity(change: Change) -> int:
    return 2 if change.kind in _GONE or change.kind == "table removed" else 1 if change.breaking else 0


def _first_hop(change: Change, direct: bool) -> ImpactKind:
    gone = change.kind in _GONE or change.kind == "table removed"
    return ImpactKind.BREAKS if gone or (change.breaking and direct) else ImpactKind.CHANGES_MEANING


def impact_report(index: LineageIndex, diff: ContractDiff, contract_id: str, product_id: str | None) -> ImpactReport:
    """Every node downstream of the product serving the contract, with its kind of impact."""
    with cyclic_gc_paused():
        return _impact_report(index, diff, contract_id, product_id)


def _impact_report(index: LineageIndex, diff: ContractDiff, contract_id: str, product_id: str | None) -> ImpactReport:
    report = ImpactReport(
        contract_id=contract_id,
        product_id=product_id,
        changes=[f"{c.kind} {c.path}" + (" (breaking)" if c.breaking else "") for c in diff.changes],
    )
    if product_id is not None:
        index.ensure([product_id])
    if product_id is None or product_id not in index.products:
        report.warnings.append(f"no registered product serves contract '{contract_id}': nothing downstream known")
        return report
    found = index.walk([(product_id, c) for c in index.columns(product_id)], downstream=True, depth=None)
    kinds: dict[Node, ImpactKind] = {}
    via: dict[Node, set[str]] = {}
    for column, change in changed_columns(diff, index.columns(product_id)).items():
        _spread(index, (product_id, column), change, kinds, via)
    report.warnings.extend(found.warnings)
    index.ensure(n[0] for n in found.depths)
    report.impacted = [
        _impacted(index, n, hops, kinds.get(n, ImpactKind.UNAFFECTED), via.get(n, set()))
        for n, hops in sorted(found.depths.items(), key=lambda item: (item[1], item[0]))
        if n[0] != product_id
    ]
    return report


def _spread(
    index: LineageIndex, start: Node, change: Change, kinds: dict[Node, ImpactKind], via: dict[Node, set[str]]
) -> None:
    """Mark what one changed column reaches: the first hop by how it reads it, the rest CHANGES_MEANING
    (the walk from every column of the product has loaded all of it)."""
    origin = key(start)
    seen = {start}
    todo: deque[Node] = deque()
    for edge, _ in index.steps(start, downstream=True):
        kind = _first_hop(change, edge.type is EdgeType.DIRECT)
        if edge.type is None:  # product-level: how it reads the column is unknown
            kind = ImpactKind.CHANGES_MEANING
        _mark(edge.target, kind, origin, kinds, via)
        if edge.target not in seen:
            seen.add(edge.target)
            todo.append(edge.target)
    while todo:
        for edge, _ in index.steps(todo.popleft(), downstream=True):
            _mark(edge.target, ImpactKind.CHANGES_MEANING, origin, kinds, via)
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)


def _mark(n: Node, kind: ImpactKind, origin: str, kinds: dict[Node, ImpactKind], via: dict[Node, set[str]]) -> None:
    if _RANK[kind] > _RANK[kinds.get(n, ImpactKind.UNAFFECTED)]:
        kinds[n] = kind
    via.setdefault(n, set()).add(origin)


def _impacted(index: LineageIndex, n: Node, hops: int, kind: ImpactKind, via: set[str]) -> ImpactedColumn:
    v = index.products.get(n[0]) or {}
    return ImpactedColumn(
        product=n[0],
        column=n[1] or None,
        kind=kind,
        depth=hops,
        via=sorted(via),
        owner=v.get("owner"),
        domain=v.get("domain"),
    )
