"""`occ-bot demo`: the whole product rehearsed in a fresh process with no configuration, and
the rendering that prints Slack's surfaces as a reader sees them (bot.demo.render)."""

from __future__ import annotations

import re
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.blocks import kit
from bot.blocks import text as t
from bot.demo.render import EMOJI, SlackView, emoji
from tests.commands.test_cli import occ_bot

EMOJI_CODE = re.compile(r":[a-z_]+:")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[object, Path, Path]:
    """One run of `occ-bot demo --out DIR` from an empty folder: (result, cwd, DIR)."""
    cwd = tmp_path_factory.mktemp("cwd")
    out = tmp_path_factory.mktemp("charts") / "out"
    return occ_bot("demo", "--out", str(out), cwd=cwd), cwd, out


@pytest.fixture(scope="module")
def shown(demo) -> str:
    result, _, _ = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def section(shown: str, heading: str) -> str:
    """The part of the output from ``heading`` to the next section."""
    start = shown.index(heading)
    end = shown.find("=" * 78, start)
    return shown[start : end if end != -1 else None]


# -- the command --------------------------------------------------------------------------------


def test_the_demo_exits_0_quietly_and_leaves_nothing_behind(demo, shown):
    result, cwd, _ = demo
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "The bot logged errors" not in shown
    assert list(cwd.iterdir()) == []  # no occ.db, no spool, no charts


def test_the_approval_queue_as_before(shown):
    for expected in (
        "Demo 1",
        "Demo 3",
        "Exercise 8",
        "[ ✅ Approve & Send ]",
        "received the reply",
        "must be escalated",  # the refusal an operator sees on a flagged draft
        "Posted in #occ-escalations for the managers",
        "Retry now",
        "chatwoot has recovered",
    ):
        assert expected in shown, expected


def test_an_urgent_escalation_is_reminded_stepped_up_claimed_and_resolved(shown):
    chain = section(shown, "An Urgent escalation nobody claims")
    assert "@morgan ⏰ Reminder 1: this Urgent escalation is still unclaimed" in chain
    assert "@jamie ⏰ Reminder 2" in chain and "level 2 of 2: @jamie" in chain
    assert re.search(r"Claimed by @morgan Today at \d\d:\d\d UTC, \d+ min past SLA", chain)
    assert "┏━ Resolve escalation ━┓" in chain  # the modal
    assert "✅ Resolved by @morgan" in chain and "Outcome: Refund of $900.00" in chain
    assert "Chatwoot conversation #103 received her reply" in chain
    dm = chain[chain.index("DM to Olivia Operator") :]
    assert "was resolved by @morgan: Refund of $900.00" in dm and "check Shopify" in dm


def test_a_cx_breach_is_carded_and_marked_resolved(shown):
    cx = section(shown, "A CX conversation waits past its SLA")
    assert "the `cx-scan` job runs (1 breached" in cx
    assert "⏰ CX SLA breach: a customer is waiting · conversation #601" in cx
    assert "[ ☑️ Mark Resolved ]" in cx and "┏━ Mark resolved ━┓" in cx
    assert "✅ Marked resolved by @olivia" in cx and "nothing was sent" in cx
    assert "Replies sent to conversation #601: 0" in cx


def test_a_sales_pulse_alert_with_its_chart_is_acknowledged(shown):
    sales = section(shown, "Sales Pulse: the `sales-pulse` job")
    assert "1 alerted" in sales and "📉 Revenue today so far" in sales
    assert "Sales Pulse · alert" in sales
    assert re.search(r"In its thread: 📎 revenue_drop-\S+\.png \(\d+ KB, a 800×325 PNG\)", sales)
    assert "Acknowledged by @olivia" in sales.split("clicks Acknowledge")[1]


def test_the_home_tab_and_occ_stats_after_the_decisions(shown):
    home = section(shown, "The Home tab and /occ stats")
    operator, manager = home.split("opens occ-bot's Home tab")[1:3]
    assert "Operator Control Center" in operator and "Your numbers today" in operator
    assert "13 decisions: 3 approved, 3 edited, 3 rejected, 4 escalated" in operator
    assert "Open escalations" in manager and "Open escalations" not in operator
    stats = home[home.index("types /occ stats") :]
    assert "Your numbers today (since Today at 00:00 UTC)" in stats
    assert "escalation rate 30% ❌ (target 10–15 %)" in stats


def test_a_training_card_is_decided_and_scored(shown):
    training = section(shown, "Training: a new operator practises")
    assert "Posting the training packet (11 cards" in training
    assert "🎓 TRAINING · 📨 Draft reply to review" in training
    assert "🎓 TRAINING · ✅ Draft approved" in training
    assert "✅ Right: you chose Approve." in training and "Round so far: 1 of 1 right" in training
    assert "Replies sent to customers from training: 0" in training


def test_the_weekly_digest_is_posted_with_its_charts(shown):
    digest = section(shown, "The weekly digest")
    assert "the `digest` job runs (posted)" in digest
    assert "Weekly digest: the week of" in digest and "13 decisions" in digest
    for chart in ("decisions-per-day.png", "time-to-decide.png", "escalation-rate.png"):
        assert f"In its thread: 📎 {chart}" in digest


def test_the_decision_log_has_every_part_of_the_story(shown):
    log = shown[shown.index("Decision log") :]
    for action in (
        "draft.escalated",
        "reply.sent",
        "escalation.reminded",
        "escalation.stepped_up",
        "escalation.resolved",
        "cx.sla_breached",
        "sales.acknowledged",
        "training.started",
    ):
        assert action in log, action


def test_the_output_shows_what_slack_shows_not_its_markup(shown):
    assert EMOJI_CODE.findall(shown) == []
    assert "<!date^" not in shown
    assert "<http" not in shown and "<#C" not in shown  # links show their labels
    assert "Today at 14:" in shown  # dates as a reader in UTC sees them
    # mentions show names (a mention in plain text, which Slack does not parse, stays as sent)
    assert "Escalated by: @olivia" in shown and re.findall(r"(?<!<)@U0\w+", shown) == []


def test_out_writes_the_charts_and_the_digest(demo, shown):
    _, _, out = demo
    assert sorted(p.name for p in out.iterdir()) == [
        "decisions-per-day.png",
        "digest.md",
        "escalation-rate.png",
        "sales-pulse-revenue_drop.png",
        "time-to-decide.png",
    ]
    for png in out.glob("*.png"):
        data = png.read_bytes()
        assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", png.name
        assert struct.unpack(">II", data[16:24]) == (800, 325), png.name
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert "**Weekly digest: the week of" in markdown and "![time-to-decide.png]" in markdown
    assert EMOJI_CODE.findall(markdown) == [] and "✅" in markdown


# -- rendering ---------------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # a Tuesday
VIEW = SlackView({"U0MORGAN": "morgan"}, ZoneInfo("UTC"), lambda: NOW)


def test_every_emoji_code_the_bot_writes_has_its_emoji():
    bot = Path(__file__).resolve().parents[2] / "bot"
    written = {
        code
        for path in bot.rglob("*.py")
        if "demo" not in path.parts
        for code in re.findall(r":([a-z_]+):", path.read_text(encoding="utf-8"))
    }
    sphinx = {"meth", "class", "func", "memory", "attr", "mod"}  # roles and `:memory:`
    assert written - sphinx - set(EMOJI) == set()


def test_emoji_codes_become_emoji_and_unknown_ones_stay():
    assert emoji(":rotating_light: *db* down :white_check_mark:") == "🚨 *db* down ✅"
    assert emoji("at 10:30: fine :not_an_emoji:") == "at 10:30: fine :not_an_emoji:"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("{date_short_pretty} at {time}", "Today at 14:05 UTC"),
        ("{date_num} {time_secs}", "2026-12-01 14:05:09 UTC"),
        ("{date}", "December 1st, 2026"),
        ("{date_long}", "Tuesday, December 1st, 2026"),
        ("{date_short}", "Dec 1, 2026"),
        ("{ago}", "24 minutes ago"),
    ],
)
def test_a_date_token_shows_its_format_filled_in(fmt, expected):
    when = datetime(2026, 12, 1, 14, 5, 9, tzinfo=UTC)
    token = f"<!date^{int(when.timestamp())}^{fmt}|2026-12-01 14:05 UTC>"
    assert VIEW.mrkdwn(token) == expected


def test_dates_are_relative_to_the_clock_and_in_the_readers_zone():
    early = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Nov 30, 22:00 in New York
    assert VIEW.mrkdwn(t.slack_date(early)) == "Today at 03:00 UTC"
    new_york = SlackView(zone=ZoneInfo("America/New_York"), now=lambda: NOW)
    assert new_york.mrkdwn(t.slack_date(early)) == "Yesterday at 22:00 EST"
    assert VIEW.mrkdwn(t.slack_date(datetime(2026, 12, 20, 9, 0, tzinfo=UTC))) == (
        "Dec 20, 2026 at 09:00 UTC"
    )


def test_mentions_links_channels_and_bold_show_as_a_reader_sees_them():
    text = (
        "*Claimed* by <@U0MORGAN> and <@U0OTHER|other>, see <https://x.example/a?b=1&amp;c|the "
        "order> or <https://x.example/plain> in <#C0SALES|occ-sales> <!here> "
        "<!subteam^S0MGRS|@managers> _noted_ snake_case &lt;tag&gt; `code`"
    )
    assert VIEW.mrkdwn(text) == (
        "Claimed by @morgan and @U0OTHER, see the order or https://x.example/plain in "
        "#occ-sales @here @managers noted snake_case <tag> `code`"
    )


def test_blocks_render_mrkdwn_and_plain_text_with_emoji():
    blocks = [
        kit.header(":rotating_light: Overdue"),
        kit.section(f"*Claim by:* {t.slack_date(NOW)} · {t.mention('U0MORGAN')}"),
        kit.context(":white_check_mark: done"),
        kit.actions(kit.button("🙋 Claim", "escalation_claim", "esc_1")),
    ]
    assert VIEW.blocks(blocks).splitlines() == [
        "🚨 Overdue",
        "═" * len("🚨 Overdue"),
        "Claim by: Today at 14:30 UTC · @morgan",
        "  ✅ done",
        "[ 🙋 Claim ]",
    ]


def test_a_message_without_blocks_shows_its_text_and_its_files():
    message = {"text": ":tada: *Done*", "files": [{"name": "chart.png"}]}
    assert VIEW.message(message) == "🎉 Done\n📎 chart.png"


async def test_without_graphql_core_the_demo_runs_without_its_shop(monkeypatch):
    """graphql-core is a dev dependency: a plain install rehearses all but Sales Pulse."""
    from bot.demo.rehearsal import DemoClock, _shop_standin

    monkeypatch.delitem(sys.modules, "bot.demo.standins.shopify", raising=False)
    monkeypatch.setitem(sys.modules, "graphql", None)  # import graphql raises ImportError
    assert _shop_standin(DemoClock(NOW)) is None
