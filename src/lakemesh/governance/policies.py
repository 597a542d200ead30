"""Federated governance: policies as code, global in mesh.yaml and per domain, checked against the specs.

Built-in kinds look at a product's descriptor and contract:
- `owner_required`, `description_required`, `sla_required`;
- `classification_required`: every contract column has a classification;
- `pii_protection`: columns tagged `pii` are classified as one of `classifications` (confidential or
  restricted by default), and so is every copy of one: a column that column lineage shows holding a
  `pii` column's values as they are, in another product or under another name, is tagged `pii` too;
- `retention_required`: the contract declares a `retention` SLA property;
- `subject_key_required` (GDPR): a contract with `pii` columns tags the column naming the data subject
  `subject-key`, so `forget` can find the subject's rows.
Custom kinds: `python` (a function `file.py:function` in the workspace, given a `PolicyContext` and
returning messages) and `sql` (a read-only SELECT over `${table}` counting offending rows; checked
against the data by `lakemesh governance check --data`).

A domain may declare its own policies and tighten a global one (same name, same kind, a higher
severity), never loosen it: a lower severity is a validation error.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from lakemesh.governance.derived import Derivation, DerivedColumns, derived_columns
from lakemesh.spec.expectation_checks import sql_problems
from lakemesh.spec.models import PiiProtectionPolicy, PolicySeverity, PolicySpec, PythonPolicy, SqlPolicy
from lakemesh.spec.odcs import PII, SUBJECT_KEY
from lakemesh.spec.problems import Problem, Severity, did_you_mean
from lakemesh.spec.user_code import import_function
from lakemesh.spec.workspace import ProductEntry, Workspace


@dataclass(frozen=True)
class Policy:
    """A policy as it applies: its spec and where it was declared."""

    spec: PolicySpec
    source: str  # "mesh" or "domain <name>"
    file: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def severity(self) -> PolicySeverity:
        return self.spec.severity

    def applies_to(self, entry: ProductEntry) -> bool:
        spec = self.spec
        if spec.layers and entry.spec.layer not in spec.layers:
            return False
        return not spec.products or any(fnmatch.fnmatchcase(entry.id, p) for p in spec.products)

    def violation(self, product_id: str, message: str) -> Violation:
        """This policy broken by a product, as the result a check returns."""
        return Violation(
            policy=self.name, severity=self.severity, product_id=product_id, message=message, source=self.source
        )


class Violation(BaseModel):
    """One product breaking one policy: what `governance check --json` and the API return."""

    model_config = ConfigDict(frozen=True)

    policy: str
    severity: PolicySeverity
    product_id: str = Field(validation_alias=AliasChoices("product_id", "product"), serialization_alias="product")
    message: str
    source: str = Field(validation_alias=AliasChoices("source", "declared_in"), serialization_alias="declared_in")


@dataclass(frozen=True)
class PolicyContext:
    """What a Python policy gets: the product, its contract document and the workspace."""

    product: ProductEntry
    contract: dict[str, Any]
    workspace: Workspace


def _columns(entry: ProductEntry) -> list[dict[str, Any]]:
    if entry.contract is None:
        return []
    return [p for t in entry.contract.raw.get("schema") or [] for p in t.get("properties") or [] if isinstance(p, dict)]


def _tags(prop: dict[str, Any]) -> set[str]:
    return {str(t).lower() for t in prop.get("tags") or []}


def _owner(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    return [] if entry.spec.owner else ["no owner: set `owner:` in product.yaml"]


def _description(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    return [] if entry.spec.description.purpose else ["no description: set `description.purpose:` in product.yaml"]


def _sla(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    has = entry.spec.sla.freshness or (entry.contract is not None and entry.contract.sla)
    return [] if has else ["no SLA: set `sla.freshness` in product.yaml or `slaProperties` in the contract"]


def _classification(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    missing = [str(p.get("name")) for p in _columns(entry) if not p.get("classification")]
    if not missing:
        return []
    return [f"column(s) without a classification: {', '.join(missing)}"]


def _pii(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    assert isinstance(policy.spec, PiiProtectionPolicy)
    allowed = {c.lower() for c in policy.spec.classifications}
    out = []
    for p in _columns(entry):
        if PII in _tags(p) and str(p.get("classification") or "").lower() not in allowed:
            shown = p.get("classification") or "none"
            out.append(f"pii column '{p.get('name')}' is classified {shown}; it must be one of {sorted(allowed)}")
    return out


def _untagged_copies(policy: Policy, entry: ProductEntry, lineage: DerivedColumns) -> list[str]:
    """pii_protection through lineage: a column copying a `pii` column is personal data too, so it must
    be tagged as such (and then classified as `_pii` asks), or encryption, masks and erasure miss it."""
    assert isinstance(policy.spec, PiiProtectionPolicy)
    allowed = sorted({c.lower() for c in policy.spec.classifications})
    tagged = {str(p.get("name")) for p in _columns(entry) if PII in _tags(p)}
    return [
        f"column '{column}' is a copy of pii column {d.origin} (column lineage) but is not tagged pii: "
        f"tag it `{PII}` and classify it one of {allowed}"
        for column, d in lineage.of(entry.id, Derivation.COPY).items()
        if column not in tagged
    ]


def pii_lineage(ws: Workspace) -> DerivedColumns:
    """The columns derived from `pii` columns through column lineage (`_untagged_copies` reads it)."""
    tagged = {pid: [str(p.get("name")) for p in _columns(e) if PII in _tags(p)] for pid, e in ws.products.items()}
    return derived_columns(ws, {pid: columns for pid, columns in tagged.items() if columns})


def _retention(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    if entry.contract is not None and "retention" in entry.contract.sla:
        return []
    return ["no retention: add an slaProperties entry `property: retention` (e.g. value: 365, unit: d)"]


def _subject_key(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    if entry.contract is None or not any(PII in _tags(p) for p in _columns(entry)) or entry.contract.subject_columns:
        return []
    return [f"holds pii but no column is tagged `{SUBJECT_KEY}`: erasure could not find a subject's rows"]


def _python(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    function = load_policy_function(policy, ws)
    result = function(PolicyContext(entry, entry.contract.raw if entry.contract else {}, ws))
    if result is None or result is True:
        return []
    if result is False:
        return [policy.spec.description or "the policy function returned False"]
    if isinstance(result, str):
        return [result]
    return [str(m) for m in result]


def _data_only(policy: Policy, entry: ProductEntry, ws: Workspace) -> list[str]:
    return []  # checked against the data by `governance check --data`


Check = Callable[[Policy, ProductEntry, Workspace], list[str]]
KINDS: dict[str, Check] = {
    "owner_required": _owner,
    "description_required": _description,
    "sla_required": _sla,
    "classification_required": _classification,
    "pii_protection": _pii,
    "retention_required": _retention,
    "subject_key_required": _subject_key,
    "python": _python,
    "sql": _data_only,
}


class PolicyError(Exception):
    """A policy that cannot be evaluated (its function is missing or raised)."""


def load_policy_function(policy: Policy, ws: Workspace) -> Callable[[PolicyContext], Any]:
    assert isinstance(policy.spec, PythonPolicy)
    ref = policy.spec.function
    function = import_function(ws.root, ref, f"lakemesh_policy_{policy.name}")
    if function is None:
        raise PolicyError(f"policy {policy.name}: function '{ref}' not found (write it as file.py:function)")
    return function


def effective_policies(ws: Workspace) -> tuple[dict[str, list[Policy]], list[Problem]]:
    """The policies of each domain (global ones, tightened where the domain says so, plus its own)."""
    problems: list[Problem] = []
    global_policies = {p.name: Policy(p, "mesh", "mesh.yaml") for p in ws.mesh.governance.policies}
    problems.extend(_spec_problems(global_policies.values(), ws))
    out: dict[str, list[Policy]] = {}
    for name, domain in ws.domains.items():
        merged = dict(global_policies)
        own = [Policy(p, f"domain {name}", domain.file) for p in domain.spec.policies]
        problems.extend(_spec_problems(own, ws))
        for i, policy in enumerate(own):
            base = global_policies.get(policy.name)
            if base is not None:
                where = f"policies[{i}]"
                if policy.spec.kind != base.spec.kind:
                    msg = f"policy '{policy.name}' is a {base.spec.kind} policy in mesh.yaml; a domain keeps its kind"
                    problems.append(Problem(domain.file, f"{where}.kind", msg))
                    continue
                found = len(problems)
                if policy.severity.rank < base.severity.rank:
                    msg = (
                        f"policy '{policy.name}' is {base.severity.value} in mesh.yaml: domains may tighten "
                        f"global policies but not loosen them (here {policy.severity.value})"
                    )
                    problems.append(Problem(domain.file, f"{where}.severity", msg))
                looser = _loosened(base.spec, policy.spec)
                if looser:
                    msg = f"policy '{policy.name}': domains may tighten global policies but not loosen them ({looser})"
                    problems.append(Problem(domain.file, where, msg))
                if len(problems) > found:
                    continue
            merged[policy.name] = policy
        out[name] = list(merged.values())
    return out, problems


CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


def _loosened(base: PolicySpec, own: PolicySpec) -> str | None:
    """How a domain's version of a global policy loosens it, if it does."""
    if not isinstance(base, PiiProtectionPolicy) or not isinstance(own, PiiProtectionPolicy):
        return None  # only pii_protection has more to it than its severity
    dropped = {c.lower() for c in base.encrypt} - {c.lower() for c in own.encrypt}
    if dropped:
        return f"it stops encrypting {', '.join(sorted(dropped))}"
    if base.key_per == "subject" and own.key_per != "subject":
        return "keyPer subject cannot become mesh"
    added = set(own.decrypt_roles) - set(base.decrypt_roles)
    if added:
        return f"decryptRoles adds {', '.join(sorted(added))}"
    return None


def _encryption_problems(policy: Policy, spec: PiiProtectionPolicy, where: str, ws: Workspace) -> list[Problem]:
    out = []
    for i, c in enumerate(spec.encrypt):
        if c.lower() not in CLASSIFICATIONS:
            msg = f"policy '{policy.name}': unknown classification '{c}'{did_you_mean(c, list(CLASSIFICATIONS))}"
            out.append(Problem(policy.file, f"{where}.encrypt[{i}]", msg))
    roles = set(ws.mesh.access.roles)
    for i, role in enumerate(spec.decrypt_roles):
        if role not in roles:
            hint = did_you_mean(role, sorted(roles))
            msg = f"policy '{policy.name}': role '{role}' is not declared under access.roles{hint}"
            out.append(Problem(policy.file, f"{where}.decryptRoles[{i}]", msg, Severity.WARNING))
    return out


def _spec_problems(policies: Iterable[Policy], ws: Workspace) -> list[Problem]:
    out = []
    for i, policy in enumerate(policies):
        where = f"{'governance.' if policy.source == 'mesh' else ''}policies[{i}]"
        spec, kind = policy.spec, policy.spec.kind
        if kind not in KINDS:
            out.append(
                Problem(policy.file, f"{where}.kind", f"unknown policy kind '{kind}'{did_you_mean(kind, list(KINDS))}")
            )
        elif isinstance(spec, PythonPolicy):
            file, _, func = spec.function.partition(":")
            if not func or not (ws.root / file).is_file():
                msg = f"policy '{policy.name}': function '{spec.function}' not found (file.py:function)"
                out.append(Problem(policy.file, f"{where}.function", msg))
        elif isinstance(spec, SqlPolicy):
            out.extend(sql_problems(spec.query, policy.file, f"{where}.query", f"policy '{policy.name}'", None))
        elif isinstance(spec, PiiProtectionPolicy):
            out.extend(_encryption_problems(policy, spec, where, ws))
        for pattern in policy.spec.products:
            if not any(fnmatch.fnmatchcase(p, pattern) for p in ws.products):
                msg = (
                    f"policy '{policy.name}': '{pattern}' matches no product{did_you_mean(pattern, list(ws.products))}"
                )
                out.append(Problem(policy.file, f"{where}.products", msg, Severity.WARNING))
    return out


def evaluate(ws: Workspace, product_ids: Iterable[str] | None = None) -> list[Violation]:
    """Every violation of the spec-level policies by the given products (all when None)."""
    by_domain, _ = effective_policies(ws)
    chosen = list(product_ids) if product_ids is not None else list(ws.products)
    lineage = cache(lambda: pii_lineage(ws))  # derived once, and only if a pii_protection policy applies
    out: list[Violation] = []
    for pid in chosen:
        entry = ws.product(pid)
        for policy in by_domain.get(entry.spec.domain, []):
            if not policy.applies_to(entry):
                continue
            try:
                messages = KINDS[policy.spec.kind](policy, entry, ws) if policy.spec.kind in KINDS else []
                if isinstance(policy.spec, PiiProtectionPolicy):
                    messages += _untagged_copies(policy, entry, lineage())
            except Exception as exc:  # noqa: BLE001 - a user's policy function failing is a violation to show
                messages = [f"the policy could not be evaluated: {type(exc).__name__}: {exc}"]
            out.extend(policy.violation(entry.id, m) for m in messages)
    return sorted(out, key=lambda v: (-v.severity.rank, v.product_id, v.policy))


def blocking(violations: Iterable[Violation], product_id: str) -> list[Violation]:
    return [v for v in violations if v.product_id == product_id and v.severity is PolicySeverity.CRITICAL]


def check_data(ws: Workspace, lakehouse: Any, product_ids: Iterable[str] | None = None) -> list[Violation]:
    """The `sql` policies, run against each product's current table (products without one are skipped)."""
    from lakemesh.engines import make_engine
    from lakemesh.spec.expectations import render_query
    from lakemesh.sql import relation

    by_domain, _ = effective_policies(ws)
    out: list[Violation] = []
    for pid in product_ids if product_ids is not None else list(ws.products):
        entry = ws.product(pid)
        policies = [
            p for p in by_domain.get(entry.spec.domain, []) if isinstance(p.spec, SqlPolicy) and p.applies_to(entry)
        ]
        if not policies or not lakehouse.exists(entry.id):
            continue
        engine = make_engine()
        try:
            engine.register(entry.id, lakehouse.scan(entry.id))
            for policy in policies:
                assert isinstance(policy.spec, SqlPolicy)
                query = render_query(policy.spec.query, relation(entry.id), None)
                try:
                    found = int(engine.query(query).column(0)[0].as_py() or 0)
                except Exception as exc:  # noqa: BLE001 - shown as the policy's violation
                    out.append(policy.violation(entry.id, f"the query failed: {exc}"))
                    continue
                if found > policy.spec.max_rows:
                    what = policy.spec.description or "rows break the policy"
                    msg = f"{found:,} offending rows (at most {policy.spec.max_rows:,} allowed): {what}"
                    out.append(policy.violation(entry.id, msg))
        finally:
            engine.close()
    return out


def blocked_products(ws: Workspace) -> dict[str, list[str]]:
    """Products that critical policy violations keep from being built, with those violations."""
    blocked: dict[str, list[str]] = {}
    for v in evaluate(ws):
        if v.severity.value == "critical":
            blocked.setdefault(v.product_id, []).append(f"{v.policy}: {v.message}")
    return blocked
