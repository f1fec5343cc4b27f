"""Bad input gets a clear error and changes nothing; hostile text posts a harmless card."""

from __future__ import annotations

import json

import pytest

from bot.blocks.ids import ActionId
from bot.demo.standins.interactions import form_body, signature_headers
from bot.domain import DraftState
from tests.harness import INTAKE_TOKEN, OPERATOR, SIGNING_SECRET, BotUnderTest, real_block_action


def approve_body(draft) -> str:
    return form_body(
        real_block_action(
            user=OPERATOR,
            action_id=ActionId.APPROVE.value,
            value=draft.id,
            channel=draft.card.channel,
            message_ts=draft.card.ts,
        )
    )


def signed_at(seconds_from_now: int):
    """Signed correctly, at the bot's now plus ``seconds_from_now``."""
    return lambda body, now: signature_headers(SIGNING_SECRET, body, now + seconds_from_now)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            lambda body, now: signature_headers("not-the-secret", body, now), id="bad signature"
        ),
        pytest.param(signed_at(-301), id="signed 301 s ago"),
        pytest.param(signed_at(+600), id="signed 10 minutes in the future"),
        pytest.param(
            lambda body, now: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"
        ),
    ],
)
async def test_unverified_slack_requests_get_401_and_change_nothing(
    bot: BotUnderTest, chatwoot, scenarios, clock, headers
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    body = approve_body(draft)

    sent = headers(body, int(clock().timestamp()))
    response = await bot._http.post(f"{bot.url}/slack/events", content=body, headers=sent)
    await bot.settle()

    assert response.status_code == 401
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    assert await bot.actions(draft.id) == ["draft.received", "draft.posted"]


async def test_a_request_signed_299_s_ago_is_still_taken(bot: BotUnderTest, scenarios, clock):
    """Slack's window is 5 minutes either way: the refusals above are its edge, not ours."""
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    body = approve_body(draft)
    sent = signed_at(-299)(body, int(clock().timestamp()))
    response = await bot._http.post(f"{bot.url}/slack/events", content=body, headers=sent)
    await bot.settle()
    assert response.status_code == 200
    assert (await bot.store.get_draft(draft.id)).state is DraftState.APPROVED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conversation_id": None}, "conversation_id"),
        ({"conversation_id": "abc"}, "conversation_id"),
        ({"customer_message": ""}, "customer_message"),
        ({"draft": None}, "draft"),
        ({"draft": "x" * 150_001}, "draft"),  # more than Chatwoot takes in one message
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"risk": "extreme"}, "risk"),
        ({"kb_sources": [{"version": "v1"}]}, "kb_sources[0].title"),
        ({"order": {"id": "1", "value_usd": -5}}, "order.value_usd"),
    ],
)
async def test_an_invalid_draft_gets_400_naming_the_field_and_nothing_is_stored(
    bot: BotUnderTest, slack, scenarios, change, field
):
    payload = {**scenarios["demo-1-order-status"].payload, **change}
    response = await bot.post_draft(payload)
    await bot.settle()
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert slack.calls("chat.postMessage") == []
    assert await bot.store.entries() == []


async def test_not_json_is_400(bot: BotUnderTest):
    response = await bot._http.post(
        f"{bot.url}/drafts", content=b"{nope", headers={"Authorization": f"Bearer {INTAKE_TOKEN}"}
    )
    assert response.status_code == 400 and "JSON" in response.json()["error"]


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_intake_without_the_right_token_is_401(bot: BotUnderTest, slack, scenarios, token):
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload, token=token)
    await bot.settle()
    assert response.status_code == 401
    assert slack.calls("chat.postMessage") == []


async def test_a_repeated_external_id_returns_the_first_draft_and_posts_nothing_new(
    bot: BotUnderTest, slack, scenarios
):
    payload = {**scenarios["demo-1-order-status"].payload, "external_id": "chatwoot-msg-8812"}
    first = await bot.post_draft(payload)
    second = await bot.post_draft(payload)
    await bot.settle()
    assert first.status_code == 202 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert len(slack.calls("chat.postMessage")) == 1


async def test_hostile_and_huge_customer_text_posts_a_valid_harmless_card(
    bot: BotUnderTest, slack, scenarios
):
    evil = "<!channel> <!here> <@U0MANAGER1> <http://evil.example|your bank> & "
    payload = {
        **scenarios["demo-1-order-status"].payload,
        "customer_message": evil + "A" * 10_000,
        "customer": {"name": "<!everyone> Mallory", "email": "m@example.com"},
    }
    draft = await bot.posted_draft(payload)  # the stand-in rejects invalid or oversized blocks

    card = json.dumps(
        slack.message(draft.card.channel, draft.card.ts)["blocks"], ensure_ascii=False
    )
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<http://evil.example|", "<@U0MANAGER1>"):
        assert raw not in card
    assert "&lt;!channel&gt;" in card
    assert "…" in card
