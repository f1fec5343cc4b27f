"""Sales Pulse's alert message, clearing note, follow-up modal and chart, against Block Kit's
limits and with hostile text escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.blocks import charts
from bot.blocks import sales as blocks
from bot.blocks.modals import followup_modal
from bot.domain import Affected, Finding, SalesAlert, SalesResponse, Trigger
from tests.blocks_limits import all_text, assert_valid_message, assert_valid_modal

AT = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


def finding(**overrides: object) -> Finding:
    values: dict[str, object] = {
        "trigger": Trigger.FULFILLMENT_DELAY,
        "condition": "fulfillment_delay",
        "metric": "Paid orders unfulfilled",
        "value": 300.0,
        "baseline": None,
        "threshold": "paid and unfulfilled for more than 24 h",
        "severity": 300.0,
        "unit": "orders",
        "affected": tuple(
            Affected(f"#{n}", "<!channel> $84.00 " + "x" * 400, f"https://s/admin/orders/{n}")
            for n in range(300)
        ),
        "affected_total": 300,
    }
    return Finding(**(values | overrides))  # type: ignore[arg-type]


def test_a_large_alert_stays_within_block_kit_and_escapes_customer_text():
    alert = SalesAlert(id="sa_1", finding=finding(), opened_at=AT)
    shown = blocks.alert_blocks(alert)
    assert_valid_message(shown)
    text = all_text(shown)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "…and 290 more." in text
    assert [e["text"]["text"] for b in shown if b["type"] == "actions" for e in b["elements"]] == [
        "Page fulfillment manager",
        "Acknowledge",
    ]


def test_responses_show_who_and_remove_their_buttons():
    alert = SalesAlert(
        id="sa_1",
        finding=finding(affected=()),
        opened_at=AT,
        responses=(
            SalesResponse("acknowledged", "U0OPERATOR1", AT),
            SalesResponse("manager_paged", "U0MANAGER1", AT),
        ),
    )
    shown = blocks.alert_blocks(alert)
    assert_valid_message(shown)
    text = all_text(shown)
    assert "Acknowledged by <@U0OPERATOR1>" in text and "paged by <@U0MANAGER1>" in text
    assert not [b for b in shown if b["type"] == "actions"]


def test_clearing_note_and_follow_up_modal_are_valid():
    alert = SalesAlert(id="sa_1", finding=finding(), opened_at=AT)
    assert_valid_message(blocks.clear_blocks(alert))
    assert_valid_modal(
        followup_modal("sa_1", "*Revenue* <b>", owner="U0OPERATOR1", due=date(2026, 12, 5))
    )


def test_the_trend_chart_is_a_png_readable_at_slacks_preview_size():
    png = charts.trend_png(
        finding(
            trigger=Trigger.REVENUE_DROP,
            unit="money",
            baseline=1000.0,
            trend=(1000.0, 980.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0, 420.0),
            trend_label="the same hours on each of the past 7 days, then today",
        )
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (800, 325)


def test_a_product_title_with_dollar_signs_is_drawn_as_it_is_written():
    """matplotlib reads $…$ as math: `Hat $\\frac{1}{$` raised inside the Sales Pulse run
    after its alert was posted, and `Mug $5 and $10` came out garbled (issue 18, 7)."""
    for metric in (r"Low stock: Hat $\frac{1}{$", "Low stock: Mug $5 and $10"):
        png = charts.trend_png(
            finding(metric=metric, trend_label=f"{metric}: units a day", unit="units")
        )
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
