"""Relation names and app ids: made in one module at the bottom of the package."""

from __future__ import annotations

from lakemesh.sql import BUILD_APP, REPROCESS_APP, REPROCESS_KEPT_APP, cdc_apps, cdc_file_app, input_app, relation


def test_a_relation_quotes_domain_and_name_apart() -> None:
    assert relation("orders.analytics_orders") == '"orders"."analytics_orders"'
    # only the first dot separates the domain; quotes inside a part are doubled
    assert relation('odd."name.x') == '"odd"."""name.x"'


def test_app_ids_never_collide() -> None:
    ids = [BUILD_APP, REPROCESS_APP, REPROCESS_KEPT_APP, *cdc_apps("slot_a"), cdc_file_app("ab12")]
    ids += [input_app("orders.order_events"), input_app("customers.customer_profiles"), *cdc_apps("slot_b")]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("lakemesh:") for i in ids)
    assert input_app("orders.order_events") == "lakemesh:orders.order_events"  # what existing tables carry
