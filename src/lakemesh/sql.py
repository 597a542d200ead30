"""SQL text helpers at the bottom of the package: identifier quoting and literals, importing nothing."""

from __future__ import annotations

# part 1 of issue 12 moves `q` into this module: at the merge this import goes, `q` is then defined above
from lakemesh.quality.contract_check import q

# -- relation names and app ids
# A product's table is `domain.name` in the engine. Each Delta commit can carry app transactions (app id ->
# version): the checkpoints that make a rerun after a crash skip what was committed. Every app id lakemesh
# writes is made here, so two writers never share one by accident.

BUILD_APP = "lakemesh:build"  # the fingerprint of the definition a product's rows were built with
REPROCESS_APP = "lakemesh:quarantine"  # on a product: the quarantine version whose fixed rows it took in
REPROCESS_KEPT_APP = "lakemesh:reprocess"  # on a quarantine table: the reprocess that left it its rows


def relation(product_id: str) -> str:
    """A product's table as SQL names it: `"domain"."name"`, each part quoted."""
    domain, name = product_id.split(".", 1)
    return f"{q(domain)}.{q(name)}"


def input_app(input_product: str) -> str:
    """The app id under which a product records the version of `input_product` it has read up to."""
    return f"lakemesh:{input_product}"


def cdc_apps(slot: str) -> tuple[str, str, str]:
    """The app ids of a CDC capture through `slot`: its last commit's LSN, its sequence, its snapshot."""
    base = f"lakemesh:cdc:{slot}"
    return f"{base}:commit", f"{base}:seq", f"{base}:snapshot"


def cdc_file_app(digest: str) -> str:
    """The app id marking a file of change events (by its content's digest) as applied."""
    return f"lakemesh:cdc-file:{digest}"
