"""Test support for the OpenLineage events: products built by hand, and validation of the events.

Every event is checked against `openlineage_rules.json`: lakemesh's own JSON Schema of what OpenLineage
2-0-2 requires of a run event and of each facet lakemesh emits. It lives in this repository, so the check runs
on any machine. When the published OpenLineage JSON Schemas are at hand, the event must pass them too (the
core `OpenLineage.json` and each facet's own schema, by its `_schemaURL`); when they are not, the project's
rules still run and one warning per session says the official check was left out.

Where the published schemas come from: no package on the registries this project reaches ships them (checked:
the openlineage-python and openlineage-integration-common wheels, the io.openlineage:openlineage-java jars and
their sources, npm, Debian), and we do not copy them into the repository. They are read from a folder laid
out like https://openlineage.io/spec/ (`2-0-2/OpenLineage.json`, `facets/1-2-0/ColumnLineageDatasetFacet.json`,
...): LAKEMESH_OPENLINEAGE_SPEC, else ~/.cache/lakemesh/openlineage-spec. A folder that holds the core schema
but misses a facet's schema fails the test and says how to complete it.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from lakemesh.spec.models import ProductSpec
from lakemesh.spec.odcs import contract_from_document
from lakemesh.spec.workspace import ProductEntry

SPEC_URL = "https://openlineage.io/spec/"
CORE = "2-0-2/OpenLineage.json"
RUN_EVENT = f"{SPEC_URL}{CORE}#/$defs/RunEvent"
RULES = Path(__file__).with_name("openlineage_rules.json")
CHECKED_FORMATS = frozenset({"uuid", "date-time", "uri"})  # the formats the rules rely on


def spec_folder() -> Path:
    configured = os.environ.get("LAKEMESH_OPENLINEAGE_SPEC")
    return Path(configured) if configured else Path.home() / ".cache" / "lakemesh" / "openlineage-spec"


def official_spec_available() -> bool:
    """Whether the published schemas are at hand (the core one decides; a missing facet schema then fails)."""
    return (spec_folder() / CORE).is_file()


def schema_errors(event: dict[str, Any]) -> list[str]:
    """Every violation of lakemesh's OpenLineage rules by the event and, when the published OpenLineage
    schemas are at hand, of those too (both must pass). Without them the project's rules still run, with
    a one-time warning: a fresh machine or CI checks the events all the same."""
    errors = project_errors(event)
    if official_spec_available():
        errors += official_errors(event)
    else:
        _notice_official_missing(str(spec_folder()))
    return errors


def project_errors(event: dict[str, Any]) -> list[str]:
    """Violations of `openlineage_rules.json` alone, each with where in the event it is."""
    return _described("lakemesh rules", _rules_validator().iter_errors(event))


def official_errors(event: dict[str, Any]) -> list[str]:
    """Violations of the published core schema by the event, and of each facet's own schema by the facet."""
    folder = spec_folder()
    errors = _described(f"OpenLineage {CORE}", _official_validator(folder, RUN_EVENT).iter_errors(event))
    for where, facet in facets_of(event):
        url = facet.get("_schemaURL")
        if not isinstance(url, str) or not url.startswith(SPEC_URL + "facets/"):
            errors.append(f"{where}: _schemaURL {url!r} is not a published OpenLineage facet")
            continue
        errors += _described(where, _official_validator(folder, url).iter_errors(facet))
    return errors


def _described(source: str, found: Iterable[ValidationError]) -> list[str]:
    return [f"{source}: {e.message} at {location(e.absolute_path) or 'the top'}" for e in found]


def location(path: Iterable[str | int]) -> str:
    """A JSON path as the tests write it: `outputs[0].facets.schema`."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text


@cache
def _notice_official_missing(folder: str) -> None:
    warnings.warn(
        f"the published OpenLineage schemas are not in {folder}: events are checked against lakemesh's "
        "rules only (tests/lineage/openlineage_rules.json); set LAKEMESH_OPENLINEAGE_SPEC to check both",
        stacklevel=3,
    )


def _format_checker() -> Any:
    checker = Draft202012Validator.FORMAT_CHECKER
    missing = CHECKED_FORMATS - set(checker.checkers)
    if missing:
        pytest.fail(
            f"jsonschema cannot check the formats {sorted(missing)} the OpenLineage rules use: "
            "install the dev extras (pip install -e '.[dev]': rfc3339-validator, rfc3986-validator)",
            pytrace=False,
        )
    return checker


@cache
def _rules_validator() -> Draft202012Validator:
    rules = json.loads(RULES.read_text())
    Draft202012Validator.check_schema(rules)
    return Draft202012Validator(rules, format_checker=_format_checker())


def _retriever(folder: Path) -> Any:
    def retrieve(uri: str) -> Resource[Any]:
        if not uri.startswith(SPEC_URL):
            raise NoSuchResource(ref=uri)
        path = folder / uri[len(SPEC_URL) :].split("#")[0]
        if not path.exists():
            pytest.fail(
                f"OpenLineage schema {uri} is not in {folder}, which holds the core schema: add it (the layout "
                "of https://openlineage.io/spec/, e.g. an OpenLineage checkout's website/static/spec), or point "
                "LAKEMESH_OPENLINEAGE_SPEC at a complete folder, or at an empty one to check lakemesh's rules only",
                pytrace=False,
            )
        return Resource.from_contents(json.loads(path.read_text()))

    return retrieve


@cache
def _official_validator(folder: Path, ref: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry(retrieve=cache(_retriever(folder)))
    return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=_format_checker())


def facets_of(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, facet) for every facet of the run, the job and each dataset; parts that are not objects (a
    broken event) are passed over, the schemas report them."""
    found = [(f"run.{k}", v) for k, v in _members(_member(event, "run"), "facets")]
    found += [(f"job.{k}", v) for k, v in _members(_member(event, "job"), "facets")]
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        datasets = event.get(side, [])
        for i, dataset in enumerate(datasets if isinstance(datasets, list) else []):
            for group in ("facets", extra):
                found += [(f"{side}[{i}].{group}.{k}", v) for k, v in _members(dataset, group)]
    return found


def _member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _members(value: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
    group = _member(value, key)
    return [(k, v) for k, v in group.items() if isinstance(v, dict)] if isinstance(group, dict) else []


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
