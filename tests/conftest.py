"""Shared fixtures: stand-ins, a fresh database per test, and the bot under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.slack import SlackStandin, SlackUser
from bot.scenarios import Scenario, load_packet
from tests.harness import (
    MANAGER,
    OPERATOR,
    OUTSIDER,
    SECOND_OPERATOR,
    BotUnderTest,
    FakeClock,
    settings_for,
)

POSTGRES_URL = os.environ.get("OCC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

PEOPLE = [
    SlackUser(OPERATOR, "olivia", "Olivia Operator", "olivia@example.com"),
    SlackUser(SECOND_OPERATOR, "oscar", "Oscar Operator", "oscar@example.com"),
    SlackUser(MANAGER, "morgan", "Morgan Patel", "morgan@example.com"),
    SlackUser(OUTSIDER, "sam", "Sam Outsider", "sam@example.com"),
]
AGENTS = [
    ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
    ChatwootAgent(7, "Olivia Operator", "olivia@example.com"),
    ChatwootAgent(9, "Morgan Patel", "morgan@example.com", role="administrator"),
]


@pytest.fixture
def scenarios() -> dict[str, Scenario]:
    return {scenario.key: scenario for scenario in load_packet()}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    async with SlackStandin(users=PEOPLE) as standin:
        yield standin


@pytest.fixture
async def chatwoot() -> AsyncIterator[ChatwootStandin]:
    async with ChatwootStandin(agents=AGENTS) as standin:
        yield standin


def _admin_url() -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards."""
    name = f"occ_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/occ.db"


@pytest.fixture
async def bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    instance = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    try:
        yield instance
    finally:
        await instance.stop()
