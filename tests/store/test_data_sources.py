"""Data sources' freshness, on every backend."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.store.helpers import (
    T0,
)

pytest_plugins = ["tests.store_fixtures"]


async def test_a_data_source_keeps_its_last_good_read_and_its_last_error(store: Store) -> None:
    assert await store.data_sources() == []
    await store.record_read("shopify", at=T0, error="HTTP 503")
    await store.record_read("shopify", at=T0 + timedelta(minutes=5))
    await store.record_read("shopify", at=T0 + timedelta(minutes=10), error="timed out")
    await store.record_read("chatwoot", at=T0)
    chatwoot, shopify = await store.data_sources()
    assert (shopify.first_tried_at, shopify.last_ok_at) == (T0, T0 + timedelta(minutes=5))
    assert (shopify.last_error, shopify.last_error_at) == ("timed out", T0 + timedelta(minutes=10))
    assert (chatwoot.last_ok_at, chatwoot.last_error) == (T0, None)


async def test_a_late_report_of_an_older_read_does_not_move_freshness_back(store: Store) -> None:
    await store.record_read("shopify", at=T0 + timedelta(minutes=10))
    await store.record_read("shopify", at=T0 + timedelta(minutes=5))  # a slow, older run
    [shopify] = await store.data_sources()
    assert shopify.last_ok_at == T0 + timedelta(minutes=10)
