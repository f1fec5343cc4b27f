"""A Chatwoot redelivery is recognised before any drafting work: the model is asked once."""

from __future__ import annotations

import json

from tests.harness import INTAKE_TOKEN, BotUnderTest, settings_for
from tests.openai_standin import OpenAIStandin


async def test_a_redelivered_message_is_not_drafted_again(sqlite_url, slack, chatwoot, clock):
    reply = json.dumps({"reply": "Yes, we ship to Canada in 5-8 days.", "confidence": 0.92})
    with OpenAIStandin(reply=reply, api_key="sk-test") as api:
        settings = settings_for(
            sqlite_url, slack, chatwoot, openai_api_key="sk-test", openai_base_url=api.base_url
        )
        bot = await BotUnderTest(settings, clock).start()
        try:
            message = chatwoot.add_incoming(77, "Do you ship to Canada?", contact_name="Jen")
            event = chatwoot.message_created_event(message)
            url = f"{bot.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
            first = await bot._http.post(url, json=event)
            again = await bot._http.post(url, json=event)
            await bot.settle()
        finally:
            await bot.stop()
        completions = [r for r in api.requests if r.path.endswith("/chat/completions")]

    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"message": first.json()["message"], "duplicate": True}
    assert len(completions) == 1
    assert len(slack.calls("chat.postMessage")) == 1
