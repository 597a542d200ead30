"""Mesh versions and tags in the catalog, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from lakemesh.catalog import Catalog, MeshVersionStore, TagExistsError
from lakemesh.catalog.engine import head_revision
from lakemesh.errors import NotFoundError


@pytest.fixture
def store(catalog_url: str) -> MeshVersionStore:
    return MeshVersionStore(Catalog.connect(catalog_url).engine)


def test_a_publication_records_only_what_moved_and_snapshots_resolve_per_product(store: MeshVersionStore) -> None:
    assert store.latest() is None and store.snapshot() == {}
    assert store.publish({"a.x": 0, "a.y": 0}, "run", "ann") == 1
    assert store.publish({"a.x": 0, "a.y": 0}, "run", "ann") is None  # nothing moved: no new mesh version
    assert store.publish({"a.x": 3, "a.y": 0, "b.z": 1}, "cdc.run", "bob") == 2
    assert store.snapshot() == {"a.x": 3, "a.y": 0, "b.z": 1}
    assert store.snapshot(1) == {"a.x": 0, "a.y": 0}
    newest, first = store.history()
    assert (newest.id, newest.action, newest.actor, newest.tables) == (2, "cdc.run", "bob", {"a.x": 3, "b.z": 1})
    assert first.tables == {"a.x": 0, "a.y": 0}


def test_tags_never_move_and_unknown_names_get_a_suggestion(store: MeshVersionStore) -> None:
    store.publish({"a.x": 0}, "run", "ann")
    tag = store.create_tag("release-1", 1, "first cut", "ann")
    store.publish({"a.x": 1}, "run", "ann")
    with pytest.raises(TagExistsError) as exists:
        store.create_tag("release-1", 2, None, "ann")
    assert "mesh version 1" in exists.value.message and "tag delete release-1" in (exists.value.hint or "")
    assert store.tag("release-1") == tag  # unchanged by the refused create
    with pytest.raises(NotFoundError, match="did you mean 'release-1'"):
        store.tag("relase-1")
    assert store.pinned() == {"a.x": {"release-1": 0}}
    store.mark_erased(["release-1"], 2)
    assert store.tag("release-1").erased_through == 2
    assert store.pinned() == {}  # an erasure broke it: it keeps no files any more
    store.delete_tag("release-1")
    assert store.tags() == []


def test_the_catalog_is_at_the_head_revision_with_the_mesh_version_tables(catalog_url: str) -> None:
    catalog = Catalog.connect(catalog_url)
    assert catalog.revision == head_revision() == "0006"
