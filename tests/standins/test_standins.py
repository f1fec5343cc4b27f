"""The Slack, Chatwoot and Shopify stand-ins, driven by the real clients over loopback HTTP."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.standins import (
    ChatwootAgent,
    ChatwootStandin,
    SlackStandin,
    SlackUser,
    StandinServer,
    wait_for,
)
from bot.demo.standins.chatwoot import DEFAULT_TOKEN as CW_TOKEN
from bot.demo.standins.shopify import DEFAULT_TOKEN as SHOPIFY_TOKEN
from bot.demo.standins.shopify import ShopifyStandin
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN
from bot.integrations.chatwoot import ChatwootClient
from bot.integrations.chatwoot_answers import ChatwootRejected, ChatwootTimeout, ChatwootUnavailable
from bot.integrations.shopify import ShopifyClient

DANA = SlackUser("U0DANA", "dana", real_name="Dana Ops", email="dana@example.com")
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Draft* for Susan"}}


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    async with SlackStandin(users=[DANA], channels={"occ-approvals": "C0APPROVALS"}) as standin:
        yield standin


@pytest.fixture
def web(slack: SlackStandin) -> AsyncWebClient:
    return AsyncWebClient(token=SLACK_TOKEN, base_url=slack.api_url)


@pytest.fixture
async def chatwoot() -> AsyncIterator[ChatwootStandin]:
    agents = [
        ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
        ChatwootAgent(7, "Dana Ops", "dana@example.com"),
    ]
    async with ChatwootStandin(agents=agents, account_id=3) as standin:
        yield standin


@pytest.fixture
async def client(chatwoot: ChatwootStandin) -> AsyncIterator[ChatwootClient]:
    async with ChatwootClient(chatwoot.url, CW_TOKEN, 3, timeout=5.0) as cw:
        yield cw


# -- Slack -----------------------------------------------------------------------------------


async def test_auth_test_names_the_bot(slack: SlackStandin, web: AsyncWebClient) -> None:
    answer = await web.auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == slack.bot_user_id and answer["bot_id"] == slack.bot_id
    assert answer["team_id"] == slack.team_id and answer["url"].startswith("https://")


async def test_post_message_resolves_the_channel_and_keeps_the_message(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    first = await web.chat_postMessage(channel="#occ-approvals", text="Draft", blocks=[SECTION])
    second = await web.chat_postMessage(channel="#occ-escalations", text="Escalated")

    assert first["channel"] == "C0APPROVALS"
    assert re.fullmatch(r"\d{10}\.\d{6}", first["ts"])
    assert first["message"]["bot_id"] == slack.bot_id
    assert first["message"]["blocks"] == [SECTION]
    assert second["channel"] == slack.channel_id("#occ-escalations")
    assert second["channel"].startswith("C") and second["channel"] != "C0APPROVALS"
    assert float(second["ts"]) > float(first["ts"])
    assert slack.message("#occ-approvals", first["ts"])["text"] == "Draft"
    assert [m["ts"] for m in slack.messages_in("C0APPROVALS")] == [first["ts"]]
    assert slack.last("chat.postMessage").args["channel"] == "#occ-escalations"


async def test_thread_replies_are_kept_under_their_parent(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    parent = await web.chat_postMessage(channel="#occ-escalations", text="Escalation")
    await web.chat_postMessage(channel="#occ-escalations", text="Reminder", thread_ts=parent["ts"])
    assert [m["text"] for m in slack.thread("#occ-escalations", parent["ts"])] == ["Reminder"]


async def test_metadata_is_kept_and_returned_only_when_asked_for(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    await web.conversations_join(channel=slack.channel_id("#occ-escalations"))
    parent = await web.chat_postMessage(channel="#occ-escalations", text="Escalation")
    marker = {"event_type": "occ_reminder", "event_payload": {"id": "rem_1"}}
    for n in range(3):
        await web.chat_postMessage(
            channel="#occ-escalations", text=f"R{n}", thread_ts=parent["ts"], metadata=marker
        )

    plain = await web.conversations_replies(channel=parent["channel"], ts=parent["ts"])
    first = await web.conversations_replies(
        channel=parent["channel"], ts=parent["ts"], include_all_metadata=True, limit=2
    )
    rest = await web.conversations_replies(
        channel=parent["channel"],
        ts=parent["ts"],
        include_all_metadata=True,
        cursor=first["response_metadata"]["next_cursor"],
    )

    assert [m["text"] for m in plain["messages"]] == ["Escalation", "R0", "R1", "R2"]
    assert all("metadata" not in m for m in plain["messages"])
    assert first["has_more"] is True and [m["text"] for m in first["messages"]] == [
        "Escalation",
        "R0",
    ]
    assert [m["metadata"] for m in rest["messages"]] == [marker, marker]
    history = await web.conversations_history(channel=parent["channel"])
    assert [m["text"] for m in history["messages"]] == ["Escalation"]  # replies stay in threads


async def test_a_per_channel_posting_limit_answers_429_with_retry_after(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    slack.limit_posts(per_second=1, burst=2)
    await web.chat_postMessage(channel="#occ-escalations", text="1")
    await web.chat_postMessage(channel="#occ-escalations", text="2")
    await web.chat_postMessage(channel="#occ-approvals", text="another channel, its own limit")

    with pytest.raises(SlackApiError) as refused:
        await web.chat_postMessage(channel="#occ-escalations", text="3")

    assert refused.value.response.status_code == 429
    assert refused.value.response["error"] == "ratelimited"
    assert refused.value.response.headers["Retry-After"] == "1"
    assert len(slack.messages_in("#occ-escalations")) == 2


async def test_chat_update_changes_the_stored_message(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    posted = await web.chat_postMessage(channel="#occ-approvals", text="Draft", blocks=[SECTION])
    done = [section("Approved by <@U0DANA>")]
    updated = await web.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Approved", blocks=done
    )
    assert updated["ts"] == posted["ts"] and updated["channel"] == posted["channel"]
    assert slack.message(posted["channel"], posted["ts"])["blocks"] == done

    await web.chat_update(channel=posted["channel"], ts=posted["ts"], text="Sent")
    stored = slack.message(posted["channel"], posted["ts"])
    assert stored["text"] == "Sent"
    assert stored["blocks"] == done  # left out of the update, so kept

    with pytest.raises(SlackApiError) as caught:
        await web.chat_update(channel=posted["channel"], ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_ephemeral_is_kept_for_its_user(slack: SlackStandin, web: AsyncWebClient) -> None:
    slack.invite("#occ-approvals")
    answer = await web.chat_postEphemeral(
        channel="#occ-approvals", user="U0DANA", text="Already approved by <@U0LEE>"
    )
    assert answer["message_ts"]
    assert [e["text"] for e in slack.ephemerals("U0DANA")] == ["Already approved by <@U0LEE>"]
    assert slack.ephemerals("U0SOMEONE") == []


async def test_views_open_echoes_the_view_with_an_id_and_update_replaces_it(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    view = {
        "type": "modal",
        "callback_id": "edit_draft",
        "title": {"type": "plain_text", "text": "Edit draft"},
        "submit": {"type": "plain_text", "text": "Send"},
        "private_metadata": "draft-1",
        "blocks": [
            {
                "type": "input",
                "block_id": "draft",
                "label": {"type": "plain_text", "text": "Reply"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            }
        ],
    }
    opened = await web.views_open(trigger_id="12345.98765.abcd", view=view)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V")
    assert opened["view"]["callback_id"] == "edit_draft"
    assert opened["view"]["private_metadata"] == "draft-1"
    assert opened["view"]["state"] == {"values": {}}

    changed = {**view, "title": {"type": "plain_text", "text": "Sending…"}}
    updated = await web.views_update(view_id=view_id, view=changed, hash=opened["view"]["hash"])
    assert updated["view"]["id"] == view_id
    assert slack.view(view_id)["title"]["text"] == "Sending…"


async def test_views_open_without_trigger_is_invalid_arguments(web: AsyncWebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    with pytest.raises(SlackApiError) as caught:
        await web.views_open(trigger_id=None, view=view)  # type: ignore[arg-type]
    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == ["invalid `trigger_id`"]


async def test_modal_title_over_24_characters_is_refused(web: AsyncWebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    with pytest.raises(SlackApiError) as caught:
        await web.views_open(trigger_id="1.2.3", view=view)
    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]


async def test_users_info_gives_the_profile_email(web: AsyncWebClient) -> None:
    answer = await web.users_info(user="U0DANA")
    assert answer["user"]["profile"]["email"] == "dana@example.com"
    assert answer["user"]["real_name"] == "Dana Ops"
    with pytest.raises(SlackApiError) as caught:
        await web.users_info(user="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"


async def test_conversations_open_gives_a_dm_to_post_in(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    opened = await web.conversations_open(users="U0DANA")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    posted = await web.chat_postMessage(channel=dm, text="Your escalation is overdue")
    assert posted["channel"] == dm
    assert slack.messages_in(dm)[0]["text"] == "Your escalation is overdue"


async def test_get_permalink_of_a_posted_message(web: AsyncWebClient) -> None:
    posted = await web.chat_postMessage(channel="#occ-approvals", text="Draft")
    link = await web.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/C0APPROVALS/p{posted['ts'].replace('.', '')}")


async def test_unknown_token_is_invalid_auth(slack: SlackStandin) -> None:
    web = AsyncWebClient(token="xoxb-wrong", base_url=slack.url + "/api/")
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="#occ-approvals", text="hi")
    assert caught.value.response["error"] == "invalid_auth"
    assert slack.messages_in("#occ-approvals") == []
    assert slack.last("chat.postMessage").ok is False


async def test_unknown_method(web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await web.api_call("chat.teleport", json={"channel": "C1"})
    assert caught.value.response["error"] == "unknown_method"


async def test_a_form_encoded_call_with_the_token_in_the_body(slack: SlackStandin) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            slack.url + "/api/chat.postMessage",
            data={
                "token": SLACK_TOKEN,
                "channel": "#occ-approvals",
                "text": "hi",
                "blocks": '[{"type": "divider"}]',
            },
        )
    assert answer.json()["ok"] is True
    assert slack.last("chat.postMessage").args["blocks"] == [{"type": "divider"}]
    assert "token" not in slack.last("chat.postMessage").args


async def test_ratelimited_is_a_429_with_retry_after(slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage")
    async with httpx.AsyncClient() as http:
        first = await http.post(
            slack.url + "/api/chat.postMessage",
            json={"channel": "#occ-approvals", "text": "hi"},
            headers={"Authorization": f"Bearer {SLACK_TOKEN}"},
        )
        second = await http.post(
            slack.url + "/api/chat.postMessage",
            json={"channel": "#occ-approvals", "text": "hi"},
            headers={"Authorization": f"Bearer {SLACK_TOKEN}"},
        )
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert first.json() == {"ok": False, "error": "ratelimited"}
    assert second.status_code == 200 and second.json()["ok"] is True


async def test_slack_sdk_retry_handler_waits_out_the_rate_limit(slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", retry_after=0)
    web = AsyncWebClient(
        token=SLACK_TOKEN,
        base_url=slack.url + "/api/",
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    answer = await web.chat_postMessage(channel="#occ-approvals", text="Draft")
    assert answer["ok"] is True
    calls = slack.calls("chat.postMessage")
    assert [(c.ok, c.error) for c in calls] == [(False, "ratelimited"), (True, None)]
    assert len(slack.messages_in("#occ-approvals")) == 1


async def test_injected_error_is_ok_false_once(slack: SlackStandin, web: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="#occ-approvals", text="Draft")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "channel_not_found"
    assert (await web.chat_postMessage(channel="#occ-approvals", text="Draft"))["ok"] is True


async def test_more_than_50_blocks_are_invalid_blocks(web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="#occ-approvals", text="x", blocks=[SECTION] * 51)
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["errors"] == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]


async def test_section_text_over_3000_characters_is_invalid_blocks(web: AsyncWebClient) -> None:
    blocks = [section("ok"), section("x" * 3001)]
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="#occ-approvals", text="x", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    ]


async def test_blocks_with_too_much_text_in_total_are_refused(web: AsyncWebClient) -> None:
    blocks = [section("x" * 2900) for _ in range(5)]  # each fine, 14,500 in all
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="#occ-approvals", text="x", blocks=blocks)
    assert caught.value.response["error"] == "msg_blocks_too_long"


async def test_message_without_text_or_blocks_is_no_text(web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await web.api_call("chat.postMessage", json={"channel": "#occ-approvals"})
    assert caught.value.response["error"] == "no_text"


async def test_response_url_posts_are_recorded(slack: SlackStandin) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            slack.response_url("card-1"), json={"text": "Not allowed", "replace_original": False}
        )
    assert answer.status_code == 200
    call = slack.last("response_url")
    assert call.args == {"text": "Not allowed", "replace_original": False, "hook": "card-1"}


async def test_wait_for_sees_a_call_made_meanwhile(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    task = asyncio.create_task(web.chat_postMessage(channel="#occ-approvals", text="later"))
    call = await slack.wait_for(lambda: slack.last("chat.postMessage"))
    assert call.args["text"] == "later"
    await task


async def test_wait_for_gives_up_with_timeout_error() -> None:
    with pytest.raises(TimeoutError):
        await wait_for(lambda: False, timeout=0.05)


# -- Chatwoot --------------------------------------------------------------------------------


async def test_send_reply_lands_as_a_public_outgoing_message(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    created = await client.send_reply(101, "Hi Susan! Your order shipped.")
    assert created["message_type"] == 1 and created["private"] is False
    assert created["content_type"] == "text" and created["conversation_id"] == 101
    assert created["sender"]["type"] == "user" and created["sender"]["id"] == 1
    assert [m["content"] for m in chatwoot.sent_replies(101)] == ["Hi Susan! Your order shipped."]
    assert chatwoot.private_notes(101) == []


async def test_private_note_is_not_a_reply(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    await client.add_private_note(101, "Escalated to managers")
    assert [m["content"] for m in chatwoot.private_notes(101)] == ["Escalated to managers"]
    assert chatwoot.sent_replies(101) == []


async def test_list_messages_gives_the_latest_twenty_oldest_first(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    chatwoot.add_incoming(101, "Where is order #12345?", contact_name="Susan Martinez")
    for i in range(24):
        await client.send_reply(101, f"reply {i}")
    latest = await client.list_messages(101)
    assert [m["content"] for m in latest] == [f"reply {i}" for i in range(4, 24)]
    older = await client.list_messages(101, before=latest[0]["id"])
    assert [m["message_type"] for m in older] == [0, 1, 1, 1, 1]
    assert older[0]["content"] == "Where is order #12345?"
    assert older[0]["sender"]["name"] == "Susan Martinez"


async def test_agents_can_be_found_by_email_and_assigned(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    agent = await client.find_agent_by_email("DANA@example.com")
    assert agent is not None and agent["id"] == 7 and agent["role"] == "agent"
    await client.assign(101, 7)
    assert chatwoot.assignments(101) == [7]
    assert chatwoot.assignee(101) == 7


async def test_assigning_a_stranger_is_rejected_and_unassigns(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    await client.assign(101, 7)
    with pytest.raises(ChatwootRejected):
        await client.assign(101, 999)
    assert chatwoot.assignee(101) is None


async def test_down_is_unavailable_until_up(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    chatwoot.down(503, retry_after=30)
    with pytest.raises(ChatwootUnavailable) as caught:
        await client.send_reply(101, "hi")
    assert caught.value.status == 503 and caught.value.retry_after == 30.0
    assert chatwoot.sent_replies(101) == []
    chatwoot.up()
    await client.send_reply(101, "hi")
    assert len(chatwoot.sent_replies(101)) == 1


async def test_hang_times_out_and_the_held_reply_lands_later(
    chatwoot: ChatwootStandin,
) -> None:
    chatwoot.hang(30)
    async with ChatwootClient(chatwoot.url, CW_TOKEN, 3, timeout=0.2) as impatient:
        with pytest.raises(ChatwootTimeout) as caught:
            await impatient.send_reply(101, "Your refund is on its way.")
        assert caught.value.outcome_unknown is True
        chatwoot.up()
        await chatwoot.wait_for(lambda: chatwoot.sent_replies(101))
        found = await impatient.find_sent_reply(101, "Your refund is on its way.", since_unix=0)
    assert found is not None and found["id"] == chatwoot.sent_replies(101)[0]["id"]


async def test_fail_after_commit_errs_but_the_reply_exists(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    chatwoot.fail_after_commit()
    with pytest.raises(ChatwootUnavailable) as caught:
        await client.send_reply(101, "Refund issued.")
    assert caught.value.status == 500 and caught.value.outcome_unknown is True
    found = await client.find_sent_reply(101, "Refund issued.", since_unix=0)
    assert found is not None
    assert [m["id"] for m in chatwoot.sent_replies(101)] == [found["id"]]
    await client.send_reply(101, "Next one")  # only the next message failed
    assert len(chatwoot.sent_replies(101)) == 2


async def test_bad_token_is_rejected(chatwoot: ChatwootStandin) -> None:
    async with ChatwootClient(chatwoot.url, "wrong", 3) as bad:
        with pytest.raises(ChatwootRejected) as caught:
            await bad.send_reply(101, "hi")
    assert caught.value.status == 401 and "Invalid Access Token" in caught.value.detail
    assert chatwoot.sent_replies(101) == []


async def test_another_account_is_rejected(chatwoot: ChatwootStandin) -> None:
    async with ChatwootClient(chatwoot.url, CW_TOKEN, 4) as other:
        with pytest.raises(ChatwootRejected, match="not authorized to access this account"):
            await other.ping()


async def test_unknown_conversation_is_404_without_auto_create() -> None:
    async with ChatwootStandin(auto_create=False) as strict:
        strict.add_incoming(5, "hello")
        async with ChatwootClient(strict.url, CW_TOKEN, 1) as cw:
            await cw.send_reply(5, "hi")
            with pytest.raises(ChatwootRejected) as caught:
                await cw.send_reply(6, "hi")
    assert caught.value.status == 404


async def test_requests_are_recorded_with_their_status(
    chatwoot: ChatwootStandin, client: ChatwootClient
) -> None:
    await client.send_reply(101, "hi")
    chatwoot.down(502)
    with pytest.raises(ChatwootUnavailable):
        await client.send_reply(101, "again")
    posts = chatwoot.requests("POST")
    assert [(r.path, r.status) for r in posts] == [
        ("/api/v1/accounts/3/conversations/101/messages", 200),
        ("/api/v1/accounts/3/conversations/101/messages", 502),
    ]
    assert posts[0].body["content"] == "hi"


async def test_message_created_event_has_chatwoots_webhook_shape(
    chatwoot: ChatwootStandin,
) -> None:
    message = chatwoot.add_incoming(
        101, "Can you check on order #12345?", contact_name="Susan", contact_email="s@example.com"
    )
    event = chatwoot.message_created_event(message)
    assert event["event"] == "message_created" and event["message_type"] == "incoming"
    assert event["conversation"]["id"] == 101 and event["content"] == message["content"]
    assert event["sender"]["email"] == "s@example.com"
    assert event["conversation"]["messages"][0]["message_type"] == 0


async def test_a_stopped_standin_refuses_connections() -> None:
    standin = ChatwootStandin()
    async with standin:
        url = standin.url
    async with ChatwootClient(url, CW_TOKEN, 1) as cw:
        with pytest.raises(ChatwootUnavailable) as caught:
            await cw.ping()
    assert caught.value.outcome_unknown is False


async def test_stopping_releases_held_requests_and_answers_them() -> None:
    async with ChatwootStandin() as standin, ChatwootClient(standin.url, CW_TOKEN, 1) as cw:
        standin.hang(60)
        pending = asyncio.create_task(cw.send_reply(1, "hi"))
        await standin.wait_for(lambda: standin.held == 1)
        await standin.stop()
        message = await pending
    assert message["content"] == "hi"
    assert standin.sent_replies(1)[0]["id"] == message["id"]


async def test_serving_leaves_the_host_signal_handlers_alone() -> None:
    before = signal.getsignal(signal.SIGINT)
    async with StandinServer(SlackStandin().build_app()) as server:
        assert signal.getsignal(signal.SIGINT) is before
        async with httpx.AsyncClient() as http:
            answer = await http.post(server.url + "/api/auth.test")
        assert answer.json() == {"ok": False, "error": "not_authed"}
    assert signal.getsignal(signal.SIGINT) is before


async def test_limit_concurrency_turns_away_requests_beyond_it() -> None:
    async with ChatwootStandin(limit_concurrency=2) as standin:
        standin.hang(60)
        async with ChatwootClient(standin.url, CW_TOKEN, 1) as first:
            held = asyncio.create_task(first.send_reply(1, "first"))
            await standin.wait_for(lambda: standin.held == 1)
            async with ChatwootClient(standin.url, CW_TOKEN, 1) as second:
                with pytest.raises(ChatwootUnavailable) as caught:
                    await second.send_reply(1, "second")
            standin.up()
            await held
    assert caught.value.status == 503
    assert [m["content"] for m in standin.sent_replies(1)] == ["first"]


async def test_the_slack_standin_is_as_strict_as_slack_about_channel_membership(
    slack: SlackStandin, web: AsyncWebClient
) -> None:
    """docs/real-services.md: outside a channel the bot may post (chat:write.public) but not
    read it, show an ephemeral there or share a file; a private channel does not exist for
    it until it is invited; a #name is no channel_id for the upload flow."""
    approvals = slack.channel_id("#occ-approvals")
    private = slack.add_channel("occ-leads", private=True)

    async def error_of(call) -> str | None:
        try:
            await call
        except SlackApiError as error:
            return error.response["error"]
        return None

    await web.chat_postMessage(channel=approvals, text="allowed with chat:write.public")
    assert await error_of(web.conversations_history(channel=approvals)) == "not_in_channel"
    assert await error_of(web.chat_postEphemeral(channel=approvals, user="U0DANA", text="x")) == (
        "not_in_channel"
    )
    assert await error_of(web.chat_postMessage(channel=private, text="x")) == "channel_not_found"
    assert await error_of(web.conversations_join(channel=private)) == (
        "method_not_supported_for_channel_type"
    )
    assert await error_of(web.chat_postMessage(channel="#no-such-channel", text="x")) == (
        "channel_not_found"
    )
    assert (
        await error_of(
            web.files_upload_v2(channel="#occ-approvals", content=b"png", filename="c.png")
        )
        == "invalid_arguments"
    )
    assert (
        await error_of(web.files_upload_v2(channel=approvals, content=b"png", filename="c.png"))
        == "not_in_channel"
    )
    listed = {c["name"]: c for c in (await web.conversations_list())["channels"]}
    assert listed["occ-approvals"]["is_member"] is False and "occ-leads" not in listed

    joined = await web.conversations_join(channel=approvals)
    assert joined["channel"]["is_member"] is True
    assert (await web.conversations_history(channel=approvals))["messages"]
    again = await web.conversations_join(channel=approvals)
    assert again["warning"] == "already_in_channel"
    slack.invite("#occ-leads")
    assert (await web.conversations_info(channel=private))["channel"]["is_member"] is True


# -- Shopify ---------------------------------------------------------------------------------

PLACED = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def test_the_shop_refunds_only_what_shopify_would():
    """refundCreate's refusals: nothing unpaid, nothing before the order, nothing beyond what
    is left; a refund moves the order's status and its updatedAt."""
    shop = ShopifyStandin()
    order = shop.add_order(PLACED, 50.0)
    pending = shop.add_order(PLACED, 50.0, financial="PENDING")
    with pytest.raises(ValueError, match="nothing to refund"):
        shop.add_refund(pending, PLACED + timedelta(hours=1), 10.0)
    with pytest.raises(ValueError, match="placed after"):
        shop.add_refund(order, PLACED - timedelta(minutes=1), 10.0)
    with pytest.raises(ValueError, match=r"50\.00 left to refund"):
        shop.add_refund(order, PLACED + timedelta(hours=1), 50.01)
    shop.add_refund(order, PLACED + timedelta(days=20), 20.0)
    assert order.financial == "PARTIALLY_REFUNDED"
    assert order.last_updated == PLACED + timedelta(days=20)
    shop.add_refund(order, PLACED + timedelta(days=21), 30.0)
    assert order.financial == "REFUNDED"
    with pytest.raises(ValueError, match="nothing to refund"):
        shop.add_refund(order, PLACED + timedelta(days=22), 0.01)


async def test_an_order_refunded_later_is_found_by_updated_at_with_its_refunds_metered():
    async with ShopifyStandin() as shop:
        refunded = shop.add_order(PLACED, 80.0)
        shop.add_order(PLACED + timedelta(hours=1), 40.0)  # never changed
        shop.add_refund(refunded, PLACED + timedelta(days=20), 30.0)
        shop.add_refund(refunded, PLACED + timedelta(days=21), 20.0)
        client = ShopifyClient(shop.url, SHOPIFY_TOKEN)
        since = (PLACED + timedelta(days=19)).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            data = await client.query(
                """query Changed($query: String!) {
                  orders(first: 10, query: $query, sortKey: UPDATED_AT) { edges { node {
                    name updatedAt displayFinancialStatus
                    refunds { createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
                  } } }
                }""",
                {"query": f"updated_at:>='{since}'"},
            )
        finally:
            await client.aclose()
    [node] = [edge["node"] for edge in data["orders"]["edges"]]
    assert node["name"] == f"#{refunded.number}" and node["updatedAt"] == "2026-11-24T15:00:00Z"
    assert node["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert [(r["createdAt"], r["totalRefundedSet"]["shopMoney"]) for r in node["refunds"]] == [
        ("2026-11-23T15:00:00Z", {"amount": "30.00", "currencyCode": "USD"}),
        ("2026-11-24T15:00:00Z", {"amount": "20.00", "currencyCode": "USD"}),
    ]
    # Requested: the connection (2 + 10 orders × (order + refund, money bag, money)); actual:
    # one order and each of its two refunds with its money bag and money.
    assert (shop.requests[-1].requested_cost, shop.requests[-1].actual_cost) == (42, 2 + 1 + 6)
