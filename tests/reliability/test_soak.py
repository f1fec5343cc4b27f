"""The soak, short (`bench/soak.py` runs the long one): two real `occ-bot serve` replicas behind
a round-robin load balancer on one PostgreSQL, against the stand-ins, under mixed traffic
(customers writing through the Chatwoot webhook, operators approving and escalating cards,
sometimes two on one card, Urgent escalations falling due and claimed, Sales Pulse running),
one replica SIGKILLed halfway and started again. No acknowledged decision may be lost and
nothing may happen twice.

The load balancer here is `bench/tcp_balancer.py` (round robin, a refused connection tried
on the other replica), so the test needs no system package; the benchmark uses HAProxy.
"""

from __future__ import annotations

from bench.soak import SoakConfig, run_soak
from bench.soak_faults import FaultPlan
from bench.soak_traffic import TrafficPlan


async def test_two_replicas_one_killed_lose_no_decision_and_do_nothing_twice(
    postgres_url, tmp_path
):
    config = SoakConfig(
        seconds=20,
        replicas=2,
        balancer="python",
        settle_seconds=25,
        postgres_url=postgres_url,
        traffic=TrafficPlan(
            operators=3,
            messages_per_second=2.0,
            escalate_share=0.15,
            double_click_share=0.15,
            reading_seconds=(0.3, 1.2),
            stock_every_seconds=8,
        ),
        faults=FaultPlan(kill_every=10, restart_after=1, postgres_at=None, chatwoot_at=None),
        env={
            "OCC_JOB_TICK_SECONDS": "1",
            "OCC_SLA_MINUTES_URGENT": "0.1",  # due 6 s after the escalation
            "OCC_SALES_PULSE_MINUTES": "0.1",
            "OCC_SLACK_POST_LEASE_SECONDS": "5",
            "OCC_DRAFT_QUIET_SECONDS": "0",
        },
    )
    result = await run_soak(config, tmp_path, tmp_path / "logs")

    assert [f["kind"] for f in result["incidents"]["faults"]] == ["kill"]
    clicks = result["clicks"]
    assert clicks["acknowledged"] >= 20 and clicks["decisions"].get("claim", 0) >= 1, clicks
    assert clicks["double_clicked_cards"] >= 1, clicks
    assert result["lost"]["count"] == 0, result["lost"]
    assert result["doubled"]["count"] == 0, result["doubled"]
    assert result["customers"]["messages_without_a_draft"] == 0, result["customers"]
