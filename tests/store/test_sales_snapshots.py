"""The Sales Pulse tile's snapshot, on every backend: kept whole, and only ever moved forward."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import PulseOrder, PulseSku, PulseSnapshot
from bot.store import Store
from tests.store.helpers import T0

pytest_plugins = ["tests.store_fixtures"]


def reading(at, revenue: float) -> PulseSnapshot:
    return PulseSnapshot(
        taken_at=at,
        timezone="America/New_York",
        currency="USD",
        revenue=revenue,
        usual_revenue=200.0,
        orders=5,
        usual_orders=4.0,
        today_by_hour=(0.0, 50.0, 12.5),
        usual_by_hour=tuple(float(h) for h in range(24)),
        unfulfilled=(
            PulseOrder("#1041", "https://occ.myshopify.com/admin/orders/1", T0, 84.0),
            PulseOrder("#1042", "https://occ.myshopify.com/admin/orders/2", T0, 120.0, True),
        ),
        unfulfilled_total=7,
        top_skus=(
            PulseSku("SKU-HOODIE", "Hoodie", "https://occ.myshopify.com/admin/p", 28, 4.0, 12),
            PulseSku("SKU-CAP", "SKU-CAP", "https://occ.myshopify.com/admin/q", 1, 1 / 7, None),
        ),
    )


async def test_the_latest_reading_is_kept_whole(store: Store) -> None:
    assert await store.sales_snapshot() is None
    first = reading(T0, 250.0)
    await store.save_sales_snapshot(first)
    assert await store.sales_snapshot() == first
    later = reading(T0 + timedelta(minutes=15), 300.0)
    await store.save_sales_snapshot(later)
    assert await store.sales_snapshot() == later


async def test_a_slow_run_finishing_late_does_not_move_the_reading_back(store: Store) -> None:
    newer = reading(T0 + timedelta(minutes=15), 300.0)
    await store.save_sales_snapshot(newer)
    await store.save_sales_snapshot(reading(T0, 250.0))
    assert await store.sales_snapshot() == newer
