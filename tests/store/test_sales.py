"""Sales Pulse alerts, their responses and follow-ups, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import (
    Action,
    Affected,
    Finding,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    SlackRef,
    Trigger,
)
from bot.store import Store
from tests.store.helpers import (
    T0,
    actions,
    entry,
)

pytest_plugins = ["tests.store_fixtures"]


def sales_alert(alert_id: str, condition: str = "fulfillment_delay", severity: float = 3.0):
    finding = Finding(
        trigger=Trigger.FULFILLMENT_DELAY,
        condition=condition,
        metric="Paid orders unfulfilled",
        value=severity,
        baseline=None,
        threshold="paid and unfulfilled for more than 24 h",
        severity=severity,
        unit="orders",
        trend=(1.0, 2.0),
        affected=(Affected("#1001", "$84.00", "https://x/admin/orders/1", "a@example.com"),),
        affected_total=3,
    )
    return SalesAlert(id=alert_id, finding=finding, opened_at=T0)


async def test_one_of_twenty_concurrent_alerts_of_a_condition_opens(store: Store) -> None:
    opened = await asyncio.gather(
        *(
            store.open_sales_alert(sales_alert(f"sa-{i}"), entry(f"sa-{i}", Action.SALES_ALERT))
            for i in range(20)
        )
    )
    winners = [alert for alert in opened if alert is not None]
    assert len(winners) == 1
    [open_alert] = await store.open_sales_alerts()
    assert open_alert == winners[0]  # the finding reads back field for field
    assert await actions(store, open_alert.id) == ["sales.alert"]
    other = await store.open_sales_alert(
        sales_alert("sa-other", "low_stock:SKU-1"), entry("sa-other", Action.SALES_ALERT)
    )
    assert other is not None and len(await store.open_sales_alerts()) == 2


async def test_a_worse_alert_supersedes_the_open_one_once(store: Store) -> None:
    first = sales_alert("sa-1")
    await store.open_sales_alert(first, entry("sa-1", Action.SALES_ALERT))
    results = await asyncio.gather(
        *(
            store.supersede_sales_alert(
                "sa-1", sales_alert(f"sa-w{i}", severity=9.0), entry(f"sa-w{i}", Action.SALES_ALERT)
            )
            for i in range(5)
        )
    )
    assert sum(r is not None for r in results) == 1
    [open_alert] = await store.open_sales_alerts()
    assert open_alert.finding.severity == 9.0
    superseded = await store.get_sales_alert("sa-1")
    assert superseded is not None and superseded.superseded_by == open_alert.id


async def test_a_cleared_alert_closes_once_and_its_condition_can_alert_again(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    later = T0 + timedelta(hours=1)
    cleared = await asyncio.gather(
        *(
            store.clear_sales_alert("sa-1", now=later, log=entry("sa-1", "sales.cleared"))
            for _ in range(5)
        )
    )
    assert sum(c is not None for c in cleared) == 1
    assert await store.open_sales_alerts() == []
    again = await store.open_sales_alert(sales_alert("sa-2"), entry("sa-2", Action.SALES_ALERT))
    assert again is not None


async def test_an_alert_and_its_clearing_note_are_each_posted_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    lease = T0 + timedelta(minutes=5)
    claims = await asyncio.gather(
        *(store.claim_sales_post("sa-1", "message", now=T0, lease_until=lease) for _ in range(10))
    )
    assert sum(c is not None for c in claims) == 1
    assert await store.claim_sales_post("sa-1", "clear", now=T0, lease_until=lease) is None
    posted = await store.record_sales_post(
        "sa-1", "message", SlackRef("C1", "1.1"), [], lease_until=lease
    )
    assert posted is not None and posted.message == SlackRef("C1", "1.1")
    assert await store.unposted_sales_alerts(T0 + timedelta(hours=1)) == []
    await store.clear_sales_alert("sa-1", now=T0, log=entry("sa-1", "sales.cleared"))
    assert await store.unposted_sales_alerts(T0) == ["sa-1"]  # its clearing note
    assert await store.claim_sales_post("sa-1", "clear", now=T0, lease_until=lease) is not None
    await store.record_sales_post("sa-1", "clear", SlackRef("C1", "2.2"), [], lease_until=lease)
    done = await store.get_sales_alert("sa-1")
    assert done is not None and done.clear_message == SlackRef("C1", "2.2")
    assert await store.unposted_sales_alerts(T0 + timedelta(hours=1)) == []


async def test_each_response_to_an_alert_is_recorded_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    acks = await asyncio.gather(
        *(
            store.respond_to_sales_alert(
                "sa-1",
                SalesResponse("acknowledged", f"U{i}", T0, {"n": i}),
                entry("sa-1", Action.SALES_ACKNOWLEDGED),
            )
            for i in range(10)
        )
    )
    assert sum(a is not None for a in acks) == 1
    await store.respond_to_sales_alert(
        "sa-1", SalesResponse("manager_paged", "U9", T0), entry("sa-1", "sales.manager_paged")
    )
    alert = await store.get_sales_alert("sa-1")
    assert alert is not None
    assert [r.kind for r in alert.responses] == ["acknowledged", "manager_paged"]
    assert await actions(store, "sa-1") == [
        "sales.alert",
        "sales.acknowledged",
        "sales.manager_paged",
    ]


async def test_a_due_followup_is_reminded_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    due = T0 + timedelta(days=1)
    followup = SalesFollowup("fu-1", "sa-1", "U0OWNER", due, "Call the agency", "U0OP", T0)
    await store.add_followup(followup, entry("sa-1", Action.SALES_FOLLOWUP))
    assert await store.due_followups(T0) == []
    assert await store.due_followups(due) == [followup]
    taken = await asyncio.gather(
        *(
            store.take_followup_reminder("fu-1", now=due, log=entry("fu-1", "sales.followup_due"))
            for _ in range(5)
        )
    )
    assert sum(t is not None for t in taken) == 1
    assert await store.due_followups(due + timedelta(days=1)) == []
    assert [f.reminded_at for f in await store.followups_of("sa-1")] == [due]
