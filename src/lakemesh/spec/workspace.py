"""Loading a mesh workspace: mesh.yaml, domains/*/domain.yaml, products and their contracts.

Every problem in every file is collected; nothing stops at the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from lakemesh.errors import LakemeshError, NotFoundError
from lakemesh.spec.expectation_checks import sql_reference_problems
from lakemesh.spec.expectations import expectations_of
from lakemesh.spec.models import DomainSpec, Layer, MeshSpec, ProductSpec, RefreshMode
from lakemesh.spec.odcs import Contract, load_contract
from lakemesh.spec.problems import Problem, Severity, did_you_mean, has_errors
from lakemesh.spec.validation import validate_model
from lakemesh.spec.yaml_io import YamlFileError, read_yaml

MESH_FILE = "mesh.yaml"
M = TypeVar("M", bound=BaseModel)


@dataclass
class ProductEntry:
    """A product as loaded: its descriptor, where it lives, and the contracts of its output ports."""

    spec: ProductSpec
    file: str
    folder: Path
    contracts: dict[str, Contract] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def contract(self) -> Contract | None:
        """The contract of the first output port: the product's main table."""
        return next(iter(self.contracts.values()), None)


@dataclass
class DomainEntry:
    spec: DomainSpec
    file: str


@dataclass
class Workspace:
    """Everything a workspace declares, plus every problem found while loading it."""

    root: Path
    mesh: MeshSpec
    domains: dict[str, DomainEntry] = field(default_factory=dict)
    products: dict[str, ProductEntry] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    def product(self, product_id: str) -> ProductEntry:
        if product_id in self.products:
            return self.products[product_id]
        hint = did_you_mean(product_id, list(self.products))
        raise NotFoundError(
            f"no product '{product_id}' in this workspace{hint}",
            "list them with `lakemesh catalog search ''`",
        )

    def producer_of(self, contract_id: str) -> str | None:
        """The product whose output port serves `contract_id`."""
        for entry in self.products.values():
            if any(p.contract_id == contract_id for p in entry.spec.output_ports):
                return entry.id
        return None

    def consumers_of(self, contract_id: str) -> list[str]:
        """Products with an input port reading `contract_id`."""
        return sorted(
            e.id for e in self.products.values() if any(p.contract_id == contract_id for p in e.spec.input_ports)
        )

    def upstream(self, product_id: str) -> list[str]:
        """The products feeding `product_id` through its input ports."""
        found = (self.producer_of(p.contract_id) for p in self.products[product_id].spec.input_ports)
        return sorted({p for p in found if p is not None})

    def build_order(self) -> list[str]:
        """Product ids in dependency order; raises LakemeshError on a cycle."""
        graph = {pid: self.upstream(pid) for pid in self.products}
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise LakemeshError(f"the product graph has a cycle: {cycle}", "remove one of these input ports") from exc

    def resolve(self, location: str) -> str:
        """A path from mesh.yaml made absolute against the workspace root (URIs are left alone)."""
        if "://" in location:
            return location
        path = Path(location)
        return str(path if path.is_absolute() else (self.root / path).resolve())

    @property
    def catalog_url(self) -> str:
        """The catalog URL with a relative SQLite path resolved against the workspace root."""
        url = self.mesh.catalog
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            return prefix + str((self.root / url[len(prefix) :]).resolve())
        return url

    @property
    def storage_root(self) -> str:
        return self.resolve(self.mesh.storage)


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding a mesh.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / MESH_FILE).is_file():
            return folder
    raise LakemeshError(
        f"no {MESH_FILE} in {start} or any folder above it: this is not a lakemesh workspace",
        "create one with `lakemesh init NAME`, or pass --workspace PATH",
    )


def load_workspace(path: Path) -> Workspace:
    """Load every file of the workspace at or above `path`; problems are collected, not raised."""
    root = find_root(path)
    loader = _Loader(root)
    return loader.load()


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def read_model(self, model: type[M], path: Path) -> M | None:
        """Read and validate one YAML file, recording its problems."""
        try:
            data = read_yaml(path, self.rel(path))
        except YamlFileError as exc:
            self.problems.append(exc.problem)
            return None
        spec, problems = validate_model(model, data, self.rel(path))
        self.problems.extend(problems)
        return spec

    def load(self) -> Workspace:
        mesh_file = self.root / MESH_FILE
        mesh = self.read_model(MeshSpec, mesh_file)
        ws = Workspace(self.root, mesh or MeshSpec(name=self.root.name.replace("-", "_").lower() or "mesh"))
        for domain_dir in sorted((self.root / "domains").glob("*/")):
            self.load_domain(ws, domain_dir)
        if not ws.domains and not self.problems:
            self.problems.append(
                Problem("domains/", "", "no domains: add domains/<name>/domain.yaml", Severity.WARNING)
            )
        self.check_ports(ws)
        self.check_graph(ws)
        self.check_quality_sql(ws)
        ws.problems = self.problems
        return ws

    def load_domain(self, ws: Workspace, folder: Path) -> None:
        file = folder / "domain.yaml"
        if not file.is_file():
            self.problems.append(Problem(self.rel(folder), "", "domain folder without domain.yaml"))
            return
        spec = self.read_model(DomainSpec, file)
        if spec is None:
            return
        if spec.name != folder.name:
            msg = f"domain name '{spec.name}' does not match its folder '{folder.name}'"
            self.problems.append(Problem(self.rel(file), "name", msg))
        ws.domains[spec.name] = DomainEntry(spec, self.rel(file))
        for product_dir in sorted((folder / "products").glob("*/")):
            self.load_product(ws, spec.name, product_dir)

    def load_product(self, ws: Workspace, domain: str, folder: Path) -> None:
        file = folder / "product.yaml"
        shown = self.rel(file)
        if not file.is_file():
            self.problems.append(Problem(self.rel(folder), "", "product folder without product.yaml"))
            return
        spec = self.read_model(ProductSpec, file)
        if spec is None:
            self.load_orphan_contract(ws, folder)
            return
        if spec.domain != domain:
            self.problems.append(Problem(shown, "domain", f"'{spec.domain}' but the product sits in domain '{domain}'"))
        if spec.id in ws.products:
            self.problems.append(
                Problem(shown, "id", f"product id '{spec.id}' is also used by {ws.products[spec.id].file}")
            )
            return
        entry = ProductEntry(spec, shown, folder)
        ws.products[spec.id] = entry
        self.load_contracts(ws, entry)
        self.check_build(entry)

    def load_contracts(self, ws: Workspace, entry: ProductEntry) -> None:
        for i, port in enumerate(entry.spec.output_ports):
            where = f"outputPorts[{i}]"
            path = entry.folder / port.contract_file
            if not path.is_file():
                msg = f"contract file '{port.contract_file}' not found (looked for {self.rel(path)})"
                self.problems.append(Problem(entry.file, f"{where}.contractFile", msg))
                continue
            contract, problems = load_contract(path, self.rel(path))
            self.problems.extend(problems)
            if contract is None:
                continue
            if contract.id != port.contract_id:
                msg = f"names contract '{port.contract_id}' but {self.rel(path)} has id '{contract.id}'"
                self.problems.append(Problem(entry.file, f"{where}.contractId", msg))
                continue
            if contract.id in ws.contracts:
                msg = f"contract id '{contract.id}' is also declared in {ws.contracts[contract.id].file}"
                self.problems.append(Problem(contract.file, "id", msg))
                continue
            if port.version and port.version != contract.version:
                msg = f"port says version {port.version} but the contract is at {contract.version}"
                self.problems.append(Problem(entry.file, f"{where}.version", msg))
            ws.contracts[contract.id] = contract
            entry.contracts[port.name] = contract

    def load_orphan_contract(self, ws: Workspace, folder: Path) -> None:
        """The contract of a product whose descriptor is invalid, so its consumers do not fail too."""
        path = folder / "contract.yaml"
        if path.is_file():
            contract, problems = load_contract(path, self.rel(path))
            self.problems.extend(problems)
            if contract is not None and contract.id not in ws.contracts:
                ws.contracts[contract.id] = contract

    def check_build(self, entry: ProductEntry) -> None:
        spec = entry.spec
        transform = spec.build.transform
        if transform is not None:
            if (transform.sql is None) == (transform.python is None):
                self.problems.append(Problem(entry.file, "build.transform", "set exactly one of `sql` or `python`"))
            elif transform.sql is not None and not (entry.folder / transform.sql).is_file():
                msg = f"SQL file '{transform.sql}' not found next to product.yaml"
                self.problems.append(Problem(entry.file, "build.transform.sql", msg))
        if spec.layer is Layer.BRONZE and spec.build.source is None:
            msg = "a bronze product has no build.source: nothing will feed it"
            self.problems.append(Problem(entry.file, "build.source", msg, Severity.WARNING))
        if spec.layer is not Layer.BRONZE and transform is None and spec.build.refresh.mode is not RefreshMode.CDC:
            msg = f"a {spec.layer.value} product has no build.transform"
            self.problems.append(Problem(entry.file, "build.transform", msg, Severity.WARNING))

    def check_ports(self, ws: Workspace) -> None:
        for entry in ws.products.values():
            for i, port in enumerate(entry.spec.input_ports):
                contract = ws.contracts.get(port.contract_id)
                where = f"inputPorts[{i}]"
                if contract is None:
                    hint = did_you_mean(port.contract_id, list(ws.contracts))
                    msg = f"unknown contract '{port.contract_id}'{hint}"
                    self.problems.append(Problem(entry.file, f"{where}.contractId", msg))
                elif port.version and _major(port.version) != _major(contract.version):
                    msg = f"reads major version {port.version} but contract {contract.id} is at {contract.version}"
                    self.problems.append(Problem(entry.file, f"{where}.version", msg))

    def check_quality_sql(self, ws: Workspace) -> None:
        """SQL quality rules may read their own table and other products, nothing else."""
        products = list(ws.products)
        for contract in ws.contracts.values():
            for i, obj in enumerate(contract.raw.get("schema") or []):
                if not isinstance(obj, dict):
                    continue
                for e in expectations_of(obj).expectations:
                    if e.type == "odcs.sql":
                        at = f"schema[{i}].{e.where}.query"
                        query = e.kwargs.get("query")
                        self.problems.extend(sql_reference_problems(query, contract.file, at, e.name, products))

    def check_graph(self, ws: Workspace) -> None:
        try:
            ws.build_order()
        except LakemeshError as exc:
            self.problems.append(Problem("domains/", "inputPorts", exc.message))


def _major(version: str) -> str:
    return version.lstrip("v").split(".")[0]
