"""A customer's message in Chatwoot becomes a drafted card; everything else is ignored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import INTAKE_TOKEN, BotUnderTest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"


def real(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


async def webhook(bot: BotUnderTest, payload: dict, token: str | None = INTAKE_TOKEN):
    query = f"?token={token}" if token else ""
    return await bot._http.post(f"{bot.url}/webhooks/chatwoot{query}", json=payload)


async def test_an_incoming_customer_message_becomes_a_card(bot: BotUnderTest, slack, chatwoot):
    message = chatwoot.add_incoming(
        77,
        "Do you ship to Canada? How long does international shipping take?",
        contact_name="Jen Walsh",
        contact_email="jen@example.com",
    )
    response = await webhook(bot, chatwoot.message_created_event(message))
    await bot.settle()

    assert response.status_code == 202
    [posted] = slack.calls("chat.postMessage")
    card = json.dumps(posted.args["blocks"], ensure_ascii=False)
    assert "Jen Walsh" in card and "International Shipping Policy" in card
    [entry] = [e for e in await bot.store.entries() if e.action == "draft.received"]
    assert entry.conversation_id == 77
    assert entry.payload["external_id"] == f"chatwoot-msg-{message['id']}"


async def test_the_real_whatsapp_capture_is_drafted_once_even_when_delivered_twice(
    bot: BotUnderTest, slack
):
    payload = real("chatwoot_webhook_message_created_incoming_contact.json")
    first = await webhook(bot, payload)
    await bot.settle()
    second = await webhook(bot, payload)
    await bot.settle()
    assert first.status_code == 202 and second.status_code == 200
    assert first.json() == {"message": "chatwoot-msg-17547", "duplicate": False}
    assert second.json() == {"message": "chatwoot-msg-17547", "duplicate": True}
    assert len(slack.calls("chat.postMessage")) == 1
    [entry] = [e for e in await bot.store.entries() if e.action == "draft.received"]
    assert entry.conversation_id == 25


async def test_the_message_is_stored_before_chatwoot_gets_its_answer(bot: BotUnderTest, chatwoot):
    message = chatwoot.add_incoming(78, "Where is my order #12345?", contact_name="Susan")
    response = await webhook(bot, chatwoot.message_created_event(message))
    # no settle(): the answer itself must mean the message is safe
    [stored] = await bot.store.inbound_messages(78)
    assert response.status_code == 202 and response.json()["message"] == stored.id
    assert (stored.message_id, stored.content) == (message["id"], "Where is my order #12345?")
    await bot.settle()
    [draft] = await bot.store.drafts_awaiting_decision(78)
    assert draft.input.external_id == f"chatwoot-msg-{message['id']}"


async def test_a_message_from_another_chatwoot_account_is_ignored(bot: BotUnderTest, slack):
    payload = real("chatwoot_webhook_message_created_incoming_contact.json")
    payload["account"] = {"id": 2, "name": "Someone else"}
    response = await webhook(bot, payload)
    await bot.settle()
    assert response.status_code == 200 and "CHATWOOT_ACCOUNT_ID" in response.json()["ignored"]
    assert slack.calls("chat.postMessage") == []


async def test_with_a_webhook_secret_only_fresh_signed_deliveries_pass(
    sqlite_url, slack, chatwoot, clock
):
    import hashlib
    import hmac
    import time

    from tests.harness import settings_for

    secret = "whsec-test"
    bot = await BotUnderTest(
        settings_for(sqlite_url, slack, chatwoot, chatwoot_webhook_secret=secret), clock
    ).start()
    try:
        body = json.dumps(real("chatwoot_webhook_message_created_incoming_contact.json"))
        url = f"{bot.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"

        def signed(ts: int) -> dict[str, str]:
            mac = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256)
            return {
                "Content-Type": "application/json",
                "X-Chatwoot-Timestamp": str(ts),
                "X-Chatwoot-Signature": f"sha256={mac.hexdigest()}",
            }

        now = int(time.time())
        unsigned = await bot._http.post(
            url, content=body, headers={"Content-Type": "application/json"}
        )
        stale = await bot._http.post(url, content=body, headers=signed(now - 600))
        good = await bot._http.post(url, content=body, headers=signed(now))
        await bot.settle()
        assert (unsigned.status_code, stale.status_code, good.status_code) == (401, 401, 202)
        assert len(slack.calls("chat.postMessage")) == 1
    finally:
        await bot.stop()


async def test_other_events_are_acknowledged_and_ignored(bot: BotUnderTest, slack):
    for name in (
        "chatwoot_webhook_conversation_created.json",
        "chatwoot_webhook_conversation_status_changed.json",
        "chatwoot_webhook_conversation_updated_changed_attributes.json",
    ):
        response = await webhook(bot, real(name))
        assert response.status_code == 200, name
    outgoing = real("chatwoot_webhook_message_created_incoming_contact.json") | {
        "message_type": "outgoing"
    }
    assert (await webhook(bot, outgoing)).status_code == 200
    await bot.settle()
    assert slack.calls("chat.postMessage") == []
    assert await bot.store.entries() == []


async def test_the_webhook_refuses_a_wrong_token(bot: BotUnderTest, slack):
    payload = real("chatwoot_webhook_message_created_incoming_contact.json")
    assert (await webhook(bot, payload, token="wrong")).status_code == 401
    assert (await webhook(bot, payload, token=None)).status_code == 401
    await bot.settle()
    assert slack.calls("chat.postMessage") == []


async def test_healthz_says_ok_and_names_a_dependency_that_is_down(
    bot: BotUnderTest, chatwoot, scenarios
):
    healthy = await bot._http.get(f"{bot.url}/healthz")
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
    assert healthy.json()["degraded"] == {}

    from bot.blocks.ids import ActionId
    from tests.harness import OPERATOR

    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    chatwoot.down(503)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    degraded = (await bot._http.get(f"{bot.url}/healthz")).json()
    assert degraded["status"] == "ok" and "chatwoot" in degraded["degraded"]


async def test_the_webhook_has_a_token_of_its_own_which_opens_nothing_else(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    """The webhook URL is seen by Chatwoot's admins and proxies' logs: with
    CHATWOOT_WEBHOOK_TOKEN set, its token opens no /drafts, and the intake token no longer
    opens the webhook (issue 18, finding 2)."""
    from tests.harness import settings_for

    hook_token = "hook-token-only-for-the-webhook"
    settings = settings_for(sqlite_url, slack, chatwoot, CHATWOOT_WEBHOOK_TOKEN=hook_token)
    bot = await BotUnderTest(settings, clock).start()
    try:
        message = chatwoot.add_incoming(78, "Do you ship to Canada?", contact_name="Jen")
        event = chatwoot.message_created_event(message)
        with_intake = await webhook(bot, event, INTAKE_TOKEN)
        with_hook = await webhook(bot, event, hook_token)
        draft_with_hook = await bot.post_draft(
            scenarios["demo-1-order-status"].payload, token=hook_token
        )
        draft_with_intake = await bot.post_draft(scenarios["demo-1-order-status"].payload)
        await bot.settle()
    finally:
        await bot.stop()

    assert with_intake.status_code == 401 and with_hook.status_code == 202
    assert draft_with_hook.status_code == 401 and draft_with_intake.status_code == 202
