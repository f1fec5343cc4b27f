"""Shared fixtures: stand-ins, a fresh database per test, and the bot under test."""

from __future__ import annotations

import logging
import os
import re
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

EXPECT_ERRORS = (
    "expect_errors(*patterns): the test expects log records at ERROR or above whose "
    "'logger: message' (or exception) matches each regex pattern (re.search); every pattern "
    "must match at least one record, and any other ERROR record fails the test"
)

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


# Tests that log an ERROR on purpose, in files whose owners have not marked them yet; the
# marker belongs on the test itself (move it there when the file is next edited).
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", EXPECT_ERRORS)


class ErrorRecords(logging.Handler):
    """Collects every log record at ERROR or above, once each."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not any(seen is record for seen in self.records):  # seen by "occ" and by the root
            self.records.append(record)


def describe_record(record: logging.LogRecord) -> str:
    text = f"{record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" [{type(error).__name__}: {error}]"
    return text


@pytest.fixture(autouse=True)
def error_logs(request: pytest.FixtureRequest) -> Iterator[ErrorRecords]:
    """Fails the test if anything logged at ERROR or above that the test did not declare with
    `@pytest.mark.expect_errors("pattern", ...)`, or if a declared pattern never matched."""
    patterns = [
        pattern for marker in request.node.iter_markers("expect_errors") for pattern in marker.args
    ]
    handler = ErrorRecords()
    loggers = [logging.getLogger(), logging.getLogger("occ")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    logged = [describe_record(record) for record in handler.records]
    unexpected = [text for text in logged if not any(re.search(p, text) for p in patterns)]
    unmatched = [p for p in patterns if not any(re.search(p, text) for text in logged)]
    problems = [f"unexpected ERROR log: {text}" for text in unexpected]
    problems += [f"expected an ERROR log matching {p!r}; none was logged" for p in unmatched]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


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


@pytest.fixture
async def pg_bot(postgres_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    """Like `bot`, on a fresh PostgreSQL database."""
    instance = await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
    try:
        yield instance
    finally:
        await instance.stop()
