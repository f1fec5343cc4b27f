"""QA review's buttons and modal: one listener for each review-card button spec
(`bot.rules.qa.REVIEW_BUTTONS`: Good records the verdict, Coach opens the note's modal), and
the Coach modal's submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import CallbackId, InputId
from bot.flows import database_down, qa_verdicts
from bot.handlers.payload import action_value, channel_id, state_value, user_id
from bot.rules.qa import REVIEW_BUTTONS
from bot.services import Services

NOTE_NEEDED = "Say what the operator should do next time."


def register(app: AsyncApp, services: Services) -> None:
    async def on_good(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = user_id(body), channel_id(body)
        work = qa_verdicts.good(services, action_value(body), user, channel)
        services.background.spawn(
            database_down.or_tell(services, work, user=user, channel=channel, what="review"),
            name="qa-good",
        )

    async def on_coach(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        services.background.spawn_now(  # trigger_id expires 3 s after the click
            qa_verdicts.open_coach_form(
                services,
                action_value(body),
                user_id(body),
                trigger_id=body["trigger_id"],
                channel=channel_id(body),
            ),
            name="open-coach",
        )

    async def on_coach_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        note = (state_value(view, InputId.QA_NOTE) or "").strip()
        if not note:
            await ack(response_action="errors", errors={InputId.QA_NOTE: NOTE_NEEDED})
            return
        await ack()
        user = user_id(body)
        work = qa_verdicts.coach(services, view["private_metadata"], user, note)
        services.background.spawn(
            database_down.or_tell(services, work, user=user, channel=None, what="review"),
            name="qa-coach",
        )

    for button in REVIEW_BUTTONS:
        app.action(button.action_id)(on_coach if button.asks_for_a_note else on_good)
    app.view(CallbackId.QA_COACH.value)(on_coach_submit)
