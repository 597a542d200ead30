"""`lakemesh validate`: spec problems of every file, policy problems, and breaking contract changes
against what the catalog registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemesh.errors import CatalogError
from lakemesh.spec.diff import ContractDiff, diff_contracts
from lakemesh.spec.odcs import Contract, contract_from_document
from lakemesh.spec.problems import Problem, Severity, has_errors
from lakemesh.spec.workspace import Workspace

if TYPE_CHECKING:
    from lakemesh.catalog import Catalog
    from lakemesh.lineage.graph import LineageIndex

_NAMED = 12  # downstream columns a refusal names before "and N more"


@dataclass
class ValidationReport:
    """Everything `lakemesh validate` found: spec problems and breaking contract changes."""

    workspace: Workspace
    problems: list[Problem] = field(default_factory=list)
    diffs: dict[str, ContractDiff] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def validate(
    ws: Workspace, registered: Callable[[], Catalog | None], skip_catalog: bool, transforms: bool
) -> ValidationReport:
    """See `Mesh.validate`. `registered`: the catalog if one exists (validation never creates one)."""
    report = ValidationReport(ws, list(ws.problems))
    report.problems.extend(policy_problems(ws))
    if transforms:
        from lakemesh.pipeline.transform import transform_problems

        report.problems.extend(transform_problems(ws))
    if skip_catalog:
        report.problems.append(Problem("mesh.yaml", "catalog", "breaking-change check skipped", Severity.WARNING))
        return report
    try:
        catalog = registered()
    except CatalogError as exc:
        if not exc.message.startswith("no catalog at"):
            message = f"{exc.message}: the breaking-change check cannot run (`--skip-catalog` skips it)"
            report.problems.append(Problem("mesh.yaml", "catalog", message))
        return report
    assert catalog is not None
    index = _LazyIndex(catalog)
    for contract in ws.contracts.values():
        old_doc = catalog.contract_document(contract.id)
        if old_doc is None or old_doc == contract.raw:
            continue
        old, _ = contract_from_document(old_doc, "catalog")
        if old is None:
            continue
        diff = diff_contracts(old, contract)
        report.diffs[contract.id] = diff
        report.problems.extend(version_problems(ws, contract, diff, index))
    return report


class _LazyIndex:
    """The catalog's lineage, read when a breaking change needs it (most runs never do)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._index: LineageIndex | None = None

    def broken_by(self, ws: Workspace, contract: Contract, diff: ContractDiff) -> list[str]:
        """The downstream columns (`product.column`) the diff breaks, as lineage sees them."""
        from lakemesh.catalog.lineage import CatalogFetch
        from lakemesh.lineage.graph import LineageIndex
        from lakemesh.lineage.impact import impact_report
        from lakemesh.lineage.model import ImpactKind

        if self._index is None:
            self._index = LineageIndex.from_catalog(CatalogFetch(self._catalog.engine))
        report = impact_report(self._index, diff, contract.id, ws.producer_of(contract.id))
        return [f"{i.product}.{i.column or '*'}" for i in report.impacted if i.kind is ImpactKind.BREAKS]


def policy_problems(ws: Workspace) -> list[Problem]:
    """Broken policy specs (errors) and every policy violation (warnings, with the policy's severity)."""
    from lakemesh.governance.access import access_problems
    from lakemesh.governance.policies import effective_policies, evaluate

    _, problems = effective_policies(ws)
    problems.extend(access_problems(ws))
    if has_errors(problems) or not ws.products:
        return problems
    for v in evaluate(ws):
        entry = ws.product(v.product_id)
        msg = f"{v.severity.value} policy {v.policy} ({v.source}): {v.message}"
        problems.append(Problem(entry.file, "", msg, Severity.WARNING))
    return problems


def version_problems(
    ws: Workspace, contract: Contract, diff: ContractDiff, index: _LazyIndex | None = None
) -> list[Problem]:
    """A breaking change without a major bump (an error, naming the consumers and, from the catalog's
    lineage, the downstream columns it breaks), or a change without any."""
    if diff.version_ok and (diff.old_version != diff.new_version or not diff.changes):
        return []
    if not diff.version_ok:
        consumers = ws.consumers_of(contract.id)
        who = f"; consumed by {', '.join(consumers)}" if consumers else ""
        broken = index.broken_by(ws, contract, diff) if index is not None else []
        if broken:
            more = f" and {len(broken) - _NAMED} more" if len(broken) > _NAMED else ""
            who += f"; it breaks {', '.join(broken[:_NAMED])}{more}"
        changes = "; ".join(f"{c.kind} {c.path}" for c in diff.breaking)
        msg = (
            f"breaking changes since the registered {diff.old_version} ({changes}) need a major "
            f"version bump, but version is {diff.new_version}{who}"
        )
        return [Problem(contract.file, "version", msg)]
    msg = f"the contract changed but its version stayed {diff.new_version} (bump: {diff.required_bump})"
    return [Problem(contract.file, "version", msg, Severity.WARNING)]
