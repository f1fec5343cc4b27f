"""The Home tab for someone Slack will not publish to is a warning, not a failure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tests.harness import BotUnderTest

FIXTURES = Path(__file__).parent / "fixtures" / "real"


async def test_a_home_tab_slack_refuses_is_a_warning_and_nothing_else(
    bot: BotUnderTest, slack, caplog
) -> None:
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = "U0NOBODY42"  # well formed, but no such user
    slack.fail_next("views.publish", "user_not_found")

    with caplog.at_level(logging.WARNING, logger="occ"):
        response = await bot.slack.send_event(envelope)
        await bot.settle()

    assert response.status_code == 200
    [call] = slack.calls("views.publish")
    assert call.error == "user_not_found"
    assert any(
        "could not publish the Home tab for U0NOBODY42: user_not_found" in record.getMessage()
        for record in caplog.records
    )
