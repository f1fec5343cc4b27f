"""`/occ cx` and the Home tab's CX tile against seeded conversations: customers' messages
through Chatwoot's real webhook bodies, a breach the CX scan finds in the Chatwoot stand-in,
work done in Chatwoot and on the cards, then the real slash command and app_home_opened."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.blocks.ids import ActionId
from bot.domain import Draft
from bot.jobs import JOBS
from tests.harness import OPERATOR, OUTSIDER, BotUnderTest, ask_occ, settings_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"
OLIVIA = 7  # a Chatwoot agent (tests/conftest.py AGENTS)


async def customer_writes(
    bot: BotUnderTest, chatwoot, clock, conversation_id: int, text: str, name: str
) -> Draft:
    """The customer's message arrives in Chatwoot now, its webhook reaches the bot, and the
    conversation's draft is carded; returns that draft."""
    message = chatwoot.add_incoming(
        conversation_id, text, contact_name=name, created_at=int(clock.now.timestamp())
    )
    response = await bot.chatwoot_event(chatwoot.message_created_event(message))
    assert response.status_code == 202, response.text
    await bot.settle()
    [draft] = await bot.store.drafts_awaiting_decision(conversation_id)
    return draft


def permalink(draft: Draft) -> str:
    assert draft.card is not None
    return f"archives/{draft.card.channel}/p{draft.card.ts.replace('.', '')}"


def conversation_link(chatwoot, conversation_id: int) -> str:
    url = f"{chatwoot.url}/app/accounts/{chatwoot.account_id}/conversations/{conversation_id}"
    return f"{url}|#{conversation_id} in Chatwoot>"


async def ask(bot: BotUnderTest, slack, text: str = "cx", user: str = OPERATOR) -> str:
    answer = await ask_occ(bot, slack, text, user)
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


async def test_occ_cx_lists_the_conversations_past_the_sla_longest_wait_first(
    bot: BotUnderTest, slack, chatwoot, clock
):
    t0 = clock.now
    # 502: in Chatwoot for three hours, never through the webhook: the CX scan finds it.
    chatwoot.add_incoming(
        502,
        "My parcel never came.",
        contact_name="Mia Chen",
        created_at=int((t0 - timedelta(hours=3)).timestamp()),
    )
    await customer_writes(bot, chatwoot, clock, 501, "Where is my order #1001?", "Dana Whitfield")
    answered = await customer_writes(bot, chatwoot, clock, 503, "Can I return it?", "Sam Ortiz")
    approved = await customer_writes(bot, chatwoot, clock, 505, "Is it shipped?", "Lee Park")
    clock.advance(minutes=20)
    hurry = "Hello?? <!channel> see <http://evil.example|your bank> " + "please " * 40
    dana = await customer_writes(bot, chatwoot, clock, 501, hurry, "Dana Whitfield")
    clock.advance(minutes=30)
    await customer_writes(bot, chatwoot, clock, 504, "Do you ship to Canada?", "Ana Silva")
    await bot.chatwoot_event(chatwoot.agent_replies(503, "Yes, within 30 days!", OLIVIA))
    await bot.click(ActionId.APPROVE, approved, OPERATOR)
    await bot.settle()
    clock.advance(minutes=30)  # t0 + 80 min: 501 has waited 80 min, 504 only 30
    await JOBS["cx-scan"].run(bot.services)
    await bot.settle()
    [mia] = await bot.store.drafts_awaiting_decision(502)  # the scan's breach card
    clock.advance(minutes=3)
    read_before = len(chatwoot.requests())

    answer = await ask(bot, slack)

    assert len(chatwoot.requests()) == read_before  # answered without asking Chatwoot
    lines = answer.splitlines()
    assert lines[0] == (
        ":alarm_clock: *2* conversations past the 60-minute CX SLA, longest wait first:"
    )
    assert "Mia Chen" in lines[1] and permalink(mia) in lines[1]
    assert "waiting *4.38 h*" in lines[1]  # 3 h before t0, asked at t0 + 83 min
    assert conversation_link(chatwoot, 502) in lines[1] and "“My parcel never came.”" in lines[1]
    assert "Dana Whitfield" in lines[2] and permalink(dana) in lines[2]
    assert "waiting *1.38 h*" in lines[2]  # since her first message, not her second
    assert conversation_link(chatwoot, 501) in lines[2]
    assert "“Hello?? &lt;!channel&gt; see &lt;http://evil.example|your bank&gt; please" in lines[2]
    assert "<!channel>" not in answer and "<http://evil" not in answer
    assert lines[2].endswith("…”") and len(lines[2]) < 500  # the preview is cut
    assert lines[3] == (
        "_As of Chatwoot read 3 min ago by the CX scan, and the customers' messages since._"
    )
    for gone in ("Sam Ortiz", "Lee Park", "Ana Silva"):  # answered, approved, under the SLA
        assert gone not in answer
    assert answered.id not in answer


async def test_a_new_message_on_a_breach_keeps_the_longest_wait_on_one_line(
    bot: BotUnderTest, slack, chatwoot, clock
):
    chatwoot.add_incoming(
        610,
        "Is anyone there?",
        contact_name="Mia Chen",
        created_at=int((clock.now - timedelta(minutes=90)).timestamp()),
    )
    await JOBS["cx-scan"].run(bot.services)
    await bot.settle()
    [breach] = await bot.store.drafts_awaiting_decision(610)
    clock.advance(minutes=10)
    message = chatwoot.add_incoming(
        610, "Hello???", contact_name="Mia Chen", created_at=int(clock.now.timestamp())
    )
    await bot.chatwoot_event(chatwoot.message_created_event(message))
    await bot.settle()

    answer = await ask(bot, slack)

    [line] = [line for line in answer.splitlines() if line.startswith("•")]
    assert "*1* conversation past" in answer
    assert f"{permalink(breach)}|Mia Chen> (2 cards)" in line  # the longest wait's card
    assert "waiting *1.67 h*" in line and "“Hello???”" in line  # her latest message


async def test_nobody_waiting_says_so_and_when_chatwoot_was_read(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    clock.advance(minutes=59)

    before_any_scan = await ask(bot, slack)
    await JOBS["cx-scan"].run(bot.services)
    clock.advance(minutes=45)  # the draft has waited 104 min; Chatwoot was read 45 min ago
    stale = await ask(bot, slack)

    assert before_any_scan.startswith("No conversation is past the 60-minute CX SLA :tada:")
    assert "The CX scan has not read Chatwoot yet" in before_any_scan
    assert stale.startswith(":alarm_clock: *1* conversation past the 60-minute CX SLA")
    assert "waiting *1.73 h*" in stale  # a draft from POST /drafts waits from its arrival
    assert ":warning: Chatwoot was last read 45 min ago" in stale


async def test_the_tile_lists_ten_and_counts_the_rest(bot: BotUnderTest, slack, clock, scenarios):
    payload = scenarios["demo-1-order-status"].payload
    for n in range(12):
        await bot.post_draft(payload | {"conversation_id": 700 + n, "external_id": f"cx-tile-{n}"})
        clock.advance(minutes=1)
    await bot.settle()
    clock.advance(minutes=60)

    answer = await ask(bot, slack)

    listed = [line for line in answer.splitlines() if line.startswith("•")]
    assert answer.startswith(":alarm_clock: *12* conversations past")
    assert len(listed) == 10 and "#700" in listed[0] and "#709" in listed[9]
    assert "…and 2 more." in answer


async def test_occ_cx_is_for_operators_and_takes_no_argument(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_OPERATORS=OPERATOR)
    bot = await BotUnderTest(settings, clock).start()
    try:
        draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        clock.advance(minutes=61)
        outsider = await ask(bot, slack, user=OUTSIDER)
        extra = await ask(bot, slack, "cx now")
        operator = await ask(bot, slack)
        help_text = await ask(bot, slack, "help")
    finally:
        await bot.stop()

    name = draft.input.customer.name
    assert "operators and managers only" in outsider and name not in outsider
    assert "`/occ cx` takes no argument" in extra and "Usage: `/occ cx`" in extra
    assert name in operator
    assert "`/occ cx`" in help_text


def published(slack, user: str) -> list[str]:
    views = []
    for call in slack.calls("views.publish"):
        if call.args["user_id"] == user:
            view = call.args["view"]
            views.append(json.loads(view) if isinstance(view, str) else view)
    return [json.dumps(view, ensure_ascii=False) for view in views]


async def test_the_home_tab_shows_the_breaches_now_and_the_three_longest(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    for n in range(5):
        await bot.post_draft(
            payload
            | {
                "conversation_id": 800 + n,
                "external_id": f"home-cx-{n}",
                "customer": {"name": f"Customer {n}"},
            }
        )
        clock.advance(minutes=10)
    await bot.settle()
    clock.advance(minutes=30)  # the first three have waited 80, 70 and 60 min
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = OPERATOR

    await bot.slack.send_event(envelope)
    await bot.settle()

    [home] = published(slack, OPERATOR)
    tile = home[home.index("*CX breaches now*") : home.index("Your numbers today")]
    assert "*3* conversations past the 60-minute CX SLA" in tile
    assert tile.index("Customer 0") < tile.index("Customer 1") < tile.index("Customer 2")
    assert "waiting *1.33 h*" in tile and conversation_link(chatwoot, 800) in tile
    assert "Customer 3" not in tile and "more." not in tile
