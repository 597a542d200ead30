"""Strict pydantic models of the workspace files: mesh.yaml, domain.yaml and product.yaml (ODPS shape).

Contracts are ODCS v3 documents and live in `lakemesh.spec.odcs`; products point at them by contract id.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator
from pydantic.alias_generators import to_camel

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w|y)\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}
_IDENT = r"^[a-z][a-z0-9_]*$"
_PRODUCT_ID = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


def parse_duration(text: str) -> float:
    """Seconds in a duration like `15m`, `1h`, `90s`, `2d`, `1y` (365 days); ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration; write it like 30s, 15m, 1h or 2d")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, YAML keys are camelCase."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Layer(str, Enum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"


class ProductStatus(str, Enum):
    PROPOSED = "proposed"
    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class SLA(StrictModel):
    """Service levels a product promises; freshness is a duration such as `15m`."""

    freshness: str | None = None
    availability: float | None = Field(default=None, gt=0, le=100)
    latency_ms: int | None = Field(default=None, gt=0)
    support_hours: str | None = None

    @field_validator("freshness")
    @classmethod
    def _freshness_is_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def freshness_seconds(self) -> float | None:
        return parse_duration(self.freshness) if self.freshness else None


class TeamMember(StrictModel):
    username: str
    name: str | None = None
    role: str | None = None


class Team(StrictModel):
    name: str
    members: list[TeamMember] = []


class Description(StrictModel):
    """ODPS description block."""

    purpose: str | None = None
    usage: str | None = None
    limitations: str | None = None


class InputPort(StrictModel):
    """An ODPS input port: this product consumes the data described by contract `contract_id`."""

    name: str
    contract_id: str
    version: str | None = None


class OutputPort(StrictModel):
    """An ODPS output port: the data this product serves, described by a contract."""

    name: str
    contract_id: str
    type: str = "table"
    version: str | None = None
    description: str | None = None
    contract_file: str = "contract.yaml"


class FileSource(StrictModel):
    """Files (CSV, JSON lines or Parquet) in a folder or glob, appended to bronze."""

    type: Literal["files"]
    path: str
    format: Literal["csv", "jsonl", "json", "parquet"] | None = None
    options: dict[str, Any] = {}


class PostgresCdcSource(StrictModel):
    """Changes of PostgreSQL tables by logical replication (pgoutput), appended to bronze as Debezium events.

    Publication and slot names default to ones derived from the product id.
    """

    type: Literal["postgres-cdc"]
    url: str  # may name an environment variable: ${ORDERS_DB_URL}
    tables: list[str]  # schema.table
    publication: str | None = None
    slot: str | None = None
    snapshot: Literal["initial", "never"] = "initial"
    batch_size: int = Field(100_000, ge=1)  # events per bronze commit at most
    flush_seconds: float = Field(5.0, gt=0)  # a commit at least this often while changes flow


Source = Annotated[FileSource | PostgresCdcSource, Field(discriminator="type")]


class Transform(StrictModel):
    """How a silver or gold product is computed: a SQL file or a Python function `module:function`."""

    sql: str | None = None
    python: str | None = None
    dialect: str = "duckdb"
    # python: output column -> the input columns computing it, `domain.product.column[:subtype]` (column
    # lineage cannot be derived from code). Left out of dumps when empty: build fingerprints stay as they were.
    lineage: dict[str, list[str]] = Field(default_factory=dict, exclude_if=lambda v: not v)


class RefreshMode(str, Enum):
    APPEND = "append"  # bronze: new records appended
    MERGE = "merge"  # MERGE on the contract's primary key: update matched, insert new
    PARTITIONS = "partitions"  # recompute only the values of `by` touched by new input data
    FULL = "full"  # recompute and replace the whole table
    CDC = "cdc"  # apply change events from a CDC bronze input: upsert, delete or soft-delete by key


class Refresh(StrictModel):
    """How a run updates the product's table; the default depends on the layer."""

    mode: RefreshMode | None = None
    by: str | None = None
    sequence_by: str | None = None
    deletes: Literal["hard", "soft"] = "hard"  # cdc: a delete removes the row, or sets `deleted_at`
    deleted_at: str = "deleted_at"  # cdc, soft deletes: the contract column holding the time of deletion
    source_table: str | None = None  # cdc: which captured table (schema.table) this product applies


class Build(StrictModel):
    source: Source | None = None
    transform: Transform | None = None
    refresh: Refresh = Refresh()

    def refresh_mode(self, layer: Layer) -> RefreshMode:
        if self.refresh.mode is not None:
            return self.refresh.mode
        if layer is Layer.BRONZE:
            return RefreshMode.APPEND
        if self.refresh.by:
            return RefreshMode.PARTITIONS
        return RefreshMode.MERGE if layer is Layer.SILVER else RefreshMode.FULL


class CustomProperty(StrictModel):
    property: str
    value: Any = None


class ProductSpec(StrictModel):
    """A data product descriptor in the Open Data Product Standard shape, plus lakemesh's build block."""

    api_version: str = "v1.0.0"
    kind: Literal["DataProduct"] = "DataProduct"
    id: str = Field(pattern=_PRODUCT_ID)
    name: str
    domain: str = Field(pattern=_IDENT)
    status: ProductStatus = ProductStatus.DRAFT
    version: str = "1.0.0"
    description: Description = Description()
    owner: str | None = None
    team: Team | None = None
    tags: list[str] = []
    layer: Layer
    input_ports: list[InputPort] = []
    output_ports: list[OutputPort] = Field(min_length=1)
    sla: SLA = SLA()
    build: Build = Build()
    custom_properties: list[CustomProperty] = []


class PolicySeverity(str, Enum):
    """How bad a violation is: critical ones block `lakemesh run` of the product."""

    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ("medium", "high", "critical").index(self.value)


class PolicyBase(StrictModel):
    """What every policy kind has: a name, a severity and the products it applies to."""

    name: str = Field(pattern=_IDENT)
    severity: PolicySeverity = PolicySeverity.HIGH
    description: str | None = None
    products: list[str] = []  # product ids or globs (`orders.*`) it applies to; all when empty
    layers: list[Layer] = []  # layers it applies to; all when empty


class OwnerRequiredPolicy(PolicyBase):
    kind: Literal["owner_required"]


class DescriptionRequiredPolicy(PolicyBase):
    kind: Literal["description_required"]


class SlaRequiredPolicy(PolicyBase):
    kind: Literal["sla_required"]


class ClassificationRequiredPolicy(PolicyBase):
    kind: Literal["classification_required"]


class RetentionRequiredPolicy(PolicyBase):
    kind: Literal["retention_required"]


class SubjectKeyRequiredPolicy(PolicyBase):
    kind: Literal["subject_key_required"]


class PiiProtectionPolicy(PolicyBase):
    """Columns tagged `pii` are classified as one of `classifications`; some are stored encrypted."""

    kind: Literal["pii_protection"]
    classifications: list[str] = ["confidential", "restricted"]  # allowed for pii
    encrypt: list[str] = []  # pii columns of these classifications are stored encrypted
    key_per: Literal["mesh", "subject"] = "mesh"  # one encryption key for the mesh, or one per data subject
    decrypt_roles: list[str] = []  # roles that `query --as` shows encrypted columns to in clear


class PythonPolicy(PolicyBase):
    kind: Literal["python"]
    function: str  # `file.py:function`, the file relative to the workspace root


class SqlPolicy(PolicyBase):
    """One SELECT over ${table} returning the number of offending rows, checked against the data."""

    kind: Literal["sql"]
    query: str
    max_rows: int = Field(0, ge=0)  # violated when the query returns more than this


class UnknownPolicy(PolicyBase):
    """A policy whose kind is none of lakemesh's: kept so that validation names the closest kind and still
    checks the rest of the file; its other keys are not looked at (the kind is the error to fix first)."""

    model_config = ConfigDict(extra="ignore")
    kind: str


_KNOWN_POLICIES = (
    OwnerRequiredPolicy,
    DescriptionRequiredPolicy,
    SlaRequiredPolicy,
    ClassificationRequiredPolicy,
    PiiProtectionPolicy,
    RetentionRequiredPolicy,
    SubjectKeyRequiredPolicy,
    PythonPolicy,
    SqlPolicy,
)
POLICY_KINDS: tuple[str, ...] = tuple(get_args(m.model_fields["kind"].annotation)[0] for m in _KNOWN_POLICIES)
_UNKNOWN = "unknown"


def _policy_tag(value: Any) -> str | None:
    """The union member a policy validates as: its kind, `unknown` for any other kind, None without one."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    if kind is None:
        return None
    return kind if kind in POLICY_KINDS else _UNKNOWN


PolicySpec = Annotated[
    Annotated[OwnerRequiredPolicy, Tag("owner_required")]
    | Annotated[DescriptionRequiredPolicy, Tag("description_required")]
    | Annotated[SlaRequiredPolicy, Tag("sla_required")]
    | Annotated[ClassificationRequiredPolicy, Tag("classification_required")]
    | Annotated[PiiProtectionPolicy, Tag("pii_protection")]
    | Annotated[RetentionRequiredPolicy, Tag("retention_required")]
    | Annotated[SubjectKeyRequiredPolicy, Tag("subject_key_required")]
    | Annotated[PythonPolicy, Tag("python")]
    | Annotated[SqlPolicy, Tag("sql")]
    | Annotated[UnknownPolicy, Tag(_UNKNOWN)],
    Discriminator(
        _policy_tag,
        custom_error_type="policy_kind_missing",
        custom_error_message=f"a policy needs a `kind`: one of {', '.join(POLICY_KINDS)}",
    ),
]


class Governance(StrictModel):
    policies: list[PolicySpec] = []


class Principal(StrictModel):
    """A user or service account: its roles and the attributes row filters read (`principal.region`)."""

    name: str
    kind: Literal["user", "service"] = "user"
    roles: list[str] = []
    attributes: dict[str, str | int | float | bool] = {}


class AccessLevel(str, Enum):
    """What a grant allows, each level including the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def covers(self, other: AccessLevel) -> bool:
        order = list(AccessLevel)
        return order.index(self) >= order.index(other)


class GrantSpec(StrictModel):
    """Roles that may read (write, administer) the products matching `products` (ids or globs)."""

    products: list[str]
    roles: list[str]
    access: AccessLevel = AccessLevel.READ


class ColumnMask(StrictModel):
    """How a column reads for every principal without one of `unless_roles`."""

    products: list[str]
    column: str
    method: Literal["redact", "hash", "partial", "null", "year", "month"]
    keep: int = Field(4, ge=1)  # partial: the last characters left visible
    unless_roles: list[str] = []


class RowFilter(StrictModel):
    """Rows a principal without one of `unless_roles` sees: SQL over the product's columns and `principal.*`."""

    products: list[str]
    filter: str
    unless_roles: list[str] = []


class Access(StrictModel):
    """Deny by default: a principal reads a product only through a grant to one of its roles."""

    roles: list[str] = []
    principals: list[Principal] = []
    grants: list[GrantSpec] = []
    masks: list[ColumnMask] = []
    row_filters: list[RowFilter] = []
    # changes need grants too: building a product `write`, erasure, retention, encryption, restore,
    # vacuum and optimize `admin`, for the acting user (LAKEMESH_USER, else git's user.email) as a principal
    enforce_writes: bool = False


class DomainSpec(StrictModel):
    name: str = Field(pattern=_IDENT)
    description: str | None = None
    owner: str | None = None
    team: str | None = None
    tags: list[str] = []
    sla: SLA = SLA()
    policies: list[PolicySpec] = []  # the domain's own, or global ones tightened (never loosened)


class LineageFile(StrictModel):
    """The journal: every run event as a JSON line in the workspace, kept even when an endpoint is down."""

    type: Literal["file"] = "file"
    path: str = ".lakemesh/lineage/events.jsonl"  # relative to the workspace root


class LineageHttp(StrictModel):
    """A Marquez-compatible endpoint: events are POSTed to `{url}/api/v1/lineage`."""

    type: Literal["http"]
    url: str
    name: str | None = None  # what `lakemesh lineage replay NAME` calls it; the url when unset
    timeout: float = Field(default=5.0, gt=0)
    token_env: str | None = None  # the environment variable holding a bearer token, never the token itself


class LineageConsole(StrictModel):
    type: Literal["console"]


LineageTransport = Annotated[LineageFile | LineageHttp | LineageConsole, Field(discriminator="type")]


class LineageConfig(StrictModel):
    """Where OpenLineage run events go. The file journal is always kept (replay reads it); the default."""

    enabled: bool = True
    transports: list[LineageTransport] = [LineageFile()]


class MeshSpec(StrictModel):
    """The workspace root: mesh name, where tables live and where the catalog is."""

    api_version: Literal["lakemesh/v1"] = "lakemesh/v1"
    kind: Literal["Mesh"] = "Mesh"
    name: str = Field(pattern=_IDENT)
    description: str | None = None
    owner: str | None = None
    storage: str = "./lakehouse"
    catalog: str = "sqlite:///.lakemesh/catalog.db"
    governance: Governance = Governance()
    access: Access = Access()
    lineage: LineageConfig = LineageConfig()
