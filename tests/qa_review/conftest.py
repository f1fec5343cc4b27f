"""QA review's tests: a bot with two managers and a sample of two replies per operator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.demo.standins.slack import SlackUser
from tests.harness import MANAGER, BotUnderTest, settings_for

SECOND_MANAGER = "U0MANAGER2"


@pytest.fixture
async def qa_bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    slack.add_user(SlackUser(SECOND_MANAGER, "mia", "Mia Manager", "mia@example.com"))
    settings = settings_for(
        sqlite_url,
        slack,
        chatwoot,
        OCC_MANAGERS=f"{MANAGER},{SECOND_MANAGER}",
        OCC_QA_SAMPLE_SIZE=2,
    )
    bot = await BotUnderTest(settings, clock).start()
    try:
        yield bot
    finally:
        await bot.stop()
