"""The Slack stand-in's image blocks, as strict as Slack: an image needs its alt text and one
source; a ``slack_file`` must name a file its readers can see, so a file the bot uploaded
without sharing it anywhere is refused, in a message and through a response_url
(docs/real-services.md, 18)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.standins import SlackStandin
from bot.demo.standins.slack import DEFAULT_TOKEN

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    async with SlackStandin(channels={"occ-approvals": "C0APPROVALS"}) as standin:
        yield standin


@pytest.fixture
async def web(slack: SlackStandin) -> AsyncWebClient:
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url)
    await client.conversations_join(channel="C0APPROVALS")
    return client


def image(**source: object) -> dict[str, object]:
    return {"type": "image", "alt_text": "Revenue today", **source}


async def upload(web: AsyncWebClient, channel: str | None) -> str:
    uploaded = await web.files_upload_v2(content=PNG, filename="chart.png", channel=channel)
    return str(uploaded["file"]["id"])


async def refused(web: AsyncWebClient, block: dict[str, object]) -> list[str]:
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="C0APPROVALS", text="chart", blocks=[block])
    assert caught.value.response["error"] == "invalid_blocks"
    return list(caught.value.response["errors"])


async def test_an_image_of_a_file_shared_in_a_channel_is_shown(web: AsyncWebClient) -> None:
    file_id = await upload(web, "C0APPROVALS")
    posted = await web.chat_postMessage(
        channel="C0APPROVALS", text="chart", blocks=[image(slack_file={"id": file_id})]
    )
    assert posted["ok"] is True


async def test_an_image_of_a_file_shared_nowhere_or_unknown_is_refused(web: AsyncWebClient) -> None:
    private = await upload(web, None)
    assert await refused(web, image(slack_file={"id": private})) == [
        "invalid slack file [json-pointer:/blocks/0/slack_file]"
    ]
    assert await refused(web, image(slack_file={"id": "F0NOSUCHFILE"})) == [
        "invalid slack file [json-pointer:/blocks/0/slack_file]"
    ]


async def test_an_image_needs_one_source_alt_text_and_a_file_id_of_slacks_form(
    web: AsyncWebClient,
) -> None:
    both = image(image_url="https://example.com/a.png", slack_file={"id": "F0123456789"})
    assert await refused(web, both) == [
        "must provide either image_url or slack_file [json-pointer:/blocks/0]"
    ]
    url_and_id = image(slack_file={"id": "F0123456789", "url": "https://files.slack.com/x"})
    assert await refused(web, url_and_id) == [
        "must provide either url or id [json-pointer:/blocks/0/slack_file]"
    ]
    assert await refused(web, image(slack_file={"id": "https://files.slack.com/x"})) == [
        "input must match regex pattern: ^[F][A-Z0-9]{8,}$ [json-pointer:/blocks/0/slack_file/id]"
    ]
    no_alt = {"type": "image", "image_url": "https://example.com/a.png"}
    assert await refused(web, no_alt) == [
        "missing required field: alt_text [json-pointer:/blocks/0]"
    ]


async def test_a_response_url_answer_showing_a_private_file_is_refused(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    private = await upload(web, None)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            slack.response_url("occ"),
            json={
                "text": "Sales Pulse",
                "response_type": "ephemeral",
                "blocks": [image(slack_file={"id": private})],
            },
        )
    assert answer.status_code == 404 and answer.json() == {"ok": False, "error": "invalid_blocks"}
    assert slack.last("response_url").error == "invalid_blocks"
