"""`mesh.lineage`: column lineage kept in the catalog with the specs, walked as graphs, and the impact of
a contract change on everything downstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakemesh.errors import NotFoundError

if TYPE_CHECKING:
    from lakemesh.lineage.graph import LineageIndex, LineageRefresh
    from lakemesh.lineage.model import Direction, ImpactReport, LineageGraph
    from lakemesh.lineage.transports import ReplayResult
    from lakemesh.mesh.core import Mesh
    from lakemesh.spec.odcs import Contract


class Lineage:
    def __init__(self, mesh: Mesh) -> None:
        self._mesh = mesh

    def refresh(self) -> LineageRefresh:
        """Derive and store the lineage of every product whose spec changed since it was last stored
        (one transaction; older versions kept); products gone from the workspace stop being current."""
        from lakemesh.catalog.lineage import LineageWrite, current_fingerprints, write_lineage
        from lakemesh.lineage.columns import product_lineage
        from lakemesh.lineage.graph import LineageRefresh, add_version, derived_pii, spec_fingerprint

        ws, catalog = self._mesh.workspace, self._mesh.catalog
        stored = current_fingerprints(catalog.engine)
        masked = self.masked_columns()
        write, result = LineageWrite(), LineageRefresh()
        for pid, entry in ws.products.items():
            known = stored.get(pid)
            if known is not None and known[0] == spec_fingerprint(entry):
                result.unchanged += 1
                if sorted(known[1]) != masked.get(pid, []):
                    write.remasked[pid] = masked.get(pid, [])
                continue
            lineage = product_lineage(ws, entry)
            add_version(write, lineage, entry, masked)
            result.derived.append(pid)
            result.warnings.extend(lineage.warnings)
        write.retired = result.retired = sorted(set(stored) - set(ws.products))
        result.remasked = sorted(write.remasked)
        changed = bool(write.versions or write.retired)
        write_lineage(catalog.engine, write, catalog.url, derived_pii if changed else None)
        return result

    def masked_columns(self) -> dict[str, list[str]]:
        """Per product, the columns a mask in `mesh.yaml access.masks` or an encryption policy covers."""
        from lakemesh.governance.access import masks_for
        from lakemesh.governance.encryption import column_plans
        from lakemesh.spec.models import Principal

        ws = self._mesh.workspace
        nobody = Principal(name="")  # no roles: every mask applies
        plans = column_plans(ws)
        out = {}
        for pid in ws.products:
            columns = set(masks_for(ws.mesh.access, nobody, pid)) | set(plans[pid].columns if pid in plans else ())
            if columns:
                out[pid] = sorted(columns)
        return out

    def index(self) -> LineageIndex:
        """The catalog's current lineage, read as a walk reaches it: each answer reads what it visits,
        and what another process refreshed meanwhile."""
        from lakemesh.catalog.lineage import CatalogFetch
        from lakemesh.lineage.graph import LineageIndex

        return LineageIndex.from_catalog(CatalogFetch(self._mesh.catalog.engine))

    def graph(self, target: str, direction: Direction | None = None, depth: int | None = None) -> LineageGraph:
        """The lineage of a product (`orders.analytics_orders`: products and sources) or of a column
        (`customers.customer_profiles.email`: column edges), `depth` hops each way (None: all the way)."""
        from lakemesh.lineage.graph import lineage_graph
        from lakemesh.lineage.model import Direction

        return lineage_graph(self.index(), target, direction or Direction.BOTH, depth)

    def impact(self, new_contract: Contract) -> ImpactReport:
        """What changing a contract from its registered version to `new_contract` does downstream."""
        from lakemesh.spec.odcs import contract_from_document

        doc = self._mesh.catalog.contract_document(new_contract.id)
        old = contract_from_document(doc, "catalog")[0] if doc is not None else None
        if old is None:
            raise NotFoundError(
                f"contract '{new_contract.id}' is not registered: there is nothing to compare it with",
                "run `lakemesh catalog sync` first, or compare two files with `lakemesh impact --old OLD --new NEW`",
            )
        return self.impact_between(old, new_contract)

    def impact_between(self, old: Contract, new: Contract) -> ImpactReport:
        """What changing contract `old` into `new` does downstream (as `contract diff OLD NEW` sees it)."""
        from lakemesh.lineage.impact import impact_report
        from lakemesh.spec.diff import diff_contracts

        ws = self._mesh.workspace
        product = ws.producer_of(new.id) or ws.producer_of(old.id)
        return impact_report(self.index(), diff_contracts(old, new), new.id, product)

    def replay(self, endpoint: str | None = None) -> list[ReplayResult]:
        """Send the OpenLineage events an endpoint (by name or url; all of them when None) missed while it
        was down, oldest first, from the journal; stops at the first failure, to resume next time."""
        from lakemesh.lineage.transports import Emitter

        return Emitter(self._mesh.workspace.mesh.lineage, self._mesh.root).replay(endpoint)
