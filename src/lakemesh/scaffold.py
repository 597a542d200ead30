"""`lakemesh init`: a new workspace with one domain, one product and its ODCS contract, ready to validate."""

from __future__ import annotations

import re
from pathlib import Path

from lakemesh.errors import LakemeshError

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")

MESH = """\
apiVersion: lakemesh/v1
kind: Mesh
name: {name}
description: The {name} data mesh.
# where Delta tables are written: a folder (relative to this file) or an object-store URI
storage: ./lakehouse
# the catalog database: SQLite by default, postgresql://user@host/db for a shared one
catalog: sqlite:///.lakemesh/catalog.db
"""

DOMAIN = """\
name: {domain}
description: The {domain} domain.
owner: {domain}-team@example.com
team: {domain}-team
tags: []
sla:
  freshness: 1h
  availability: 99.5
"""

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: {domain}.{product}
name: {title}
domain: {domain}
status: draft
version: 1.0.0
description:
  purpose: Describe what this product is for and who uses it.
owner: {domain}-team@example.com
tags: [{domain}]
layer: bronze
outputPorts:
  - name: {product}
    contractId: {domain}.{product}
    version: 1.0.0
sla:
  freshness: 1h
  availability: 99.5
build:
  source:
    type: files
    path: data/{product}/*.csv
    format: csv
"""

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: {domain}.{product}
name: {title}
version: 1.0.0
status: draft
domain: {domain}
dataProduct: {domain}.{product}
description:
  purpose: What one row means, where it comes from, how it may be used.
schema:
  - name: {product}
    physicalType: table
    description: One row per {product_singular}.
    properties:
      - name: id
        logicalType: string
        physicalType: VARCHAR
        description: Unique identifier.
        primaryKey: true
        primaryKeyPosition: 1
        required: true
        classification: internal
      - name: created_at
        logicalType: timestamp
        physicalType: TIMESTAMP
        description: When the record was created, UTC.
        required: true
        classification: internal
      - name: amount
        logicalType: number
        physicalType: DECIMAL(12,2)
        description: An example measure.
        classification: internal
        logicalTypeOptions:
          minimum: 0
slaProperties:
  - property: latency
    value: 1
    unit: h
team:
  - username: {domain}-team@example.com
    role: owner
"""

GITIGNORE = "lakehouse/\n.lakemesh/\n"


def scaffold_workspace(target: Path, name: str, domain: str, product: str) -> list[Path]:
    """Write a new workspace under `target`; refuses to touch a folder that already has files."""
    for label, value in (("workspace name", name), ("domain", domain), ("product", product)):
        if not _IDENT.match(value):
            raise LakemeshError(
                f"{label} '{value}' is not a valid name",
                "use lower-case letters, digits and underscores, starting with a letter",
            )
    if target.exists() and any(target.iterdir()):
        raise LakemeshError(f"{target} already exists and is not empty", "choose another name or --path")
    values = {
        "name": name,
        "domain": domain,
        "product": product,
        "title": product.replace("_", " ").title(),
        "product_singular": product.rstrip("s").replace("_", " "),
    }
    product_dir = target / "domains" / domain / "products" / product
    files = {
        target / "mesh.yaml": MESH,
        target / ".gitignore": GITIGNORE,
        target / "domains" / domain / "domain.yaml": DOMAIN,
        product_dir / "product.yaml": PRODUCT,
        product_dir / "contract.yaml": CONTRACT,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    (target / "data" / product).mkdir(parents=True, exist_ok=True)
    return list(files)
