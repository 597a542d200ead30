"""Test support for the OpenLineage events: products built by hand, and validation against the published
OpenLineage JSON Schemas (the core `OpenLineage.json` and each facet's own schema, by its `_schemaURL`).

Where the schemas come from: no package on the registries this project reaches ships them (checked: the
openlineage-python and openlineage-integration-common wheels, the io.openlineage:openlineage-java jars and
their sources, npm, Debian). They are read from a folder laid out like https://openlineage.io/spec/
(`2-0-2/OpenLineage.json`, `facets/1-2-0/ColumnLineageDatasetFacet.json`, ...): LAKEMESH_OPENLINEAGE_SPEC,
else ~/.cache/lakemesh/openlineage-spec. A schema missing there fails the test and says how to provide it.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from lakemesh.spec.models import ProductSpec
from lakemesh.spec.odcs import contract_from_document
from lakemesh.spec.workspace import ProductEntry

SPEC_URL = "https://openlineage.io/spec/"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def spec_folder() -> Path:
    configured = os.environ.get("LAKEMESH_OPENLINEAGE_SPEC")
    return Path(configured) if configured else Path.home() / ".cache" / "lakemesh" / "openlineage-spec"


@cache
def _document(uri: str) -> dict[str, Any]:
    if not uri.startswith(SPEC_URL):
        raise NoSuchResource(ref=uri)
    path = spec_folder() / uri[len(SPEC_URL) :].split("#")[0]
    if not path.exists():
        pytest.fail(
            f"OpenLineage schema {uri} is not in {spec_folder()}: no registry package ships the OpenLineage "
            "JSON Schemas; copy the published spec there (the layout of https://openlineage.io/spec/, e.g. "
            "an OpenLineage checkout's website/static/spec) or point LAKEMESH_OPENLINEAGE_SPEC at such a folder",
            pytrace=False,
        )
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _retrieve(uri: str) -> Resource[Any]:
    return Resource.from_contents(_document(uri))


@cache
def _validator(ref: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry(retrieve=_retrieve)
    return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(event: dict[str, Any]) -> list[str]:
    """Every violation of the core schema by the event, and of each facet's own schema by the facet."""
    errors = [f"event: {e.message} at {list(e.absolute_path)}" for e in _validator(RUN_EVENT).iter_errors(event)]
    for where, facet in facets_of(event):
        url = facet.get("_schemaURL", "")
        if not url.startswith(SPEC_URL + "facets/"):
            errors.append(f"{where}: _schemaURL {url!r} is not a published OpenLineage facet")
            continue
        errors += [f"{where}: {e.message} at {list(e.absolute_path)}" for e in _validator(url).iter_errors(facet)]
    return errors


def facets_of(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, facet) for every facet of the run, the job and each dataset."""
    found = [(f"run.{k}", v) for k, v in event["run"].get("facets", {}).items()]
    found += [(f"job.{k}", v) for k, v in event["job"].get("facets", {}).items()]
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, dataset in enumerate(event.get(side, [])):
            for group in ("facets", extra):
                found += [(f"{side}[{i}].{group}.{k}", v) for k, v in dataset.get(group, {}).items()]
    return found


def contract_doc(
    product: str, columns: list[tuple[str, str]], description: str = "One row per thing."
) -> dict[str, Any]:
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": product,
        "name": product,
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {
                "name": product.split(".")[1],
                "physicalType": "table",
                "description": description,
                "properties": [
                    {"name": name, "logicalType": logical, "description": f"the {name}"} for name, logical in columns
                ],
            }
        ],
    }


def entry(
    product: str,
    layer: str,
    columns: list[tuple[str, str]],
    purpose: str | None = "What it is for.",
    owner: str | None = "team@company.com",
) -> ProductEntry:
    """A product as a workspace would load it, with its contract, built from dicts."""
    domain, name = product.split(".")
    spec = ProductSpec.model_validate(
        {
            "id": product,
            "name": name.replace("_", " ").title(),
            "domain": domain,
            "layer": layer,
            "owner": owner,
            "team": {"name": f"{domain}-team"},
            "description": {"purpose": purpose},
            "outputPorts": [{"name": name, "contractId": product}],
        }
    )
    contract, problems = contract_from_document(contract_doc(product, columns), f"{product}/contract.yaml")
    assert contract is not None, problems
    return ProductEntry(
        spec=spec,
        file=f"domains/{domain}/products/{name}/product.yaml",
        folder=Path(f"domains/{domain}/products/{name}"),
        contracts={product: contract},
    )
