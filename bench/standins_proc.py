"""Helper process: the Slack and Chatwoot stand-ins, plus a small control API for the parent.

Prints one JSON line, ``{"slack": url, "chatwoot": url, "control": url}``, once all three
listen on 127.0.0.1, then serves until SIGTERM/SIGINT or until its stdin closes (the parent
keeps the pipe open, so a parent that dies takes this process with it).

Control API (loopback only):

- ``POST /status`` ``{"conversations": [int], "cards": [[channel, ts]]}`` → how many of those
  conversations have a reply the customer sees, how many such replies in all, and how many of
  those cards now show the sent state.
- ``POST /card-times`` ``{"cards": [[channel, ts]]}`` → for each card, when (epoch seconds,
  the stand-in's clock) the first ``chat.update`` showing the sent state arrived
  (``card_sent_at``), and when its first ``chat.update`` of any kind arrived
  (``first_update_at``: the decision shown, reply still sending).
- ``POST /wait-cards-sent`` ``{"cards": [[channel, ts]], "timeout": s}`` → answers once every
  one of those cards shows the sent state, or after ``timeout`` seconds (at most 60) with
  those still missing: ``{"missing": [[channel, ts]]}``. Woken by each ``chat.update``, so the
  parent can click again the moment a card is done without polling.
- ``GET /counts`` → totals of what the stand-ins received.
- ``POST /slack-post-limit`` ``{"per_second": r, "burst": b}`` → Slack's per-channel posting
  limit on chat.postMessage from now on (429 ``ratelimited`` with ``Retry-After`` over it).
- ``POST /marked-posts`` ``{"event_type": str}`` → every message posted with metadata of that
  type: ``[{"id": event_payload.id, "posted_at": epoch seconds, "channel": id}]``, and how
  many chat.postMessage calls were answered 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.common import MAX_OPERATORS, operator
from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.server import StandinServer
from bot.demo.standins.slack import SlackStandin, SlackUser
from bot.runtime.eventloop import run_event_loop

# draft_card_text() of a draft whose reply was sent ends with this.
SENT_TEXT = "sent to the customer"
MAX_WAIT_SECONDS = 60.0
FIRST_AGENT_ID = 7  # operator n is Chatwoot agent FIRST_AGENT_ID + n - 1


Card = tuple[str, str]  # channel, ts


class BenchSlack(SlackStandin):
    """The Slack stand-in, waking the waiters whose cards all show sent after every
    ``chat.update`` it has answered (only those: a wait is one future, checked in place, not
    a task woken to look for itself)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._waiting: list[tuple[list[Card], asyncio.Future[None]]] = []

    def build_app(self) -> ASGIApp:
        inner = super().build_app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await inner(scope, receive, send)
            if scope["type"] == "http" and scope["path"].endswith("/chat.update"):
                self._wake()

        return app

    def _wake(self) -> None:
        still = []
        for cards, done in self._waiting:
            if done.done():
                continue  # timed out
            if self.missing(cards):
                still.append((cards, done))
            else:
                done.set_result(None)
        self._waiting = still

    async def wait_sent(self, cards: list[Card], timeout: float) -> list[Card]:
        """Wait until every card shows sent, at most ``timeout`` s; those that do not."""
        if self.missing(cards):
            done = asyncio.get_running_loop().create_future()
            self._waiting.append((cards, done))
            with contextlib.suppress(TimeoutError):  # the future is cancelled: skipped
                await asyncio.wait_for(done, timeout)
        return self.missing(cards)

    def missing(self, cards: list[Card]) -> list[Card]:
        return [(c, t) for c, t in cards if not self.shows_sent(c, t)]

    def shows_sent(self, channel: str, ts: str) -> bool:
        message = self.message(channel, ts)
        return message is not None and str(message.get("text", "")).endswith(SENT_TEXT)


def control_app(slack: BenchSlack, chatwoot: ChatwootStandin) -> Starlette:
    async def customer_message(request: Request) -> JSONResponse:
        """A customer writes in Chatwoot: the message is stored, and its webhook event is
        returned for the benchmark to deliver."""
        body = await request.json()
        message = chatwoot.add_incoming(
            int(body["conversation_id"]), str(body["content"]), contact_name=str(body["name"])
        )
        return JSONResponse(chatwoot.message_created_event(message))

    async def status(request: Request) -> JSONResponse:
        body = await request.json()
        sent = [len(chatwoot.sent_replies(int(c))) for c in body.get("conversations", [])]
        cards = 0
        for channel, ts in body.get("cards", []):
            message = slack.message(channel, ts)
            if message is not None and str(message.get("text", "")).endswith(SENT_TEXT):
                cards += 1
        return JSONResponse(
            {
                "replies_sent": sum(1 for n in sent if n > 0),
                "sent_messages": sum(sent),
                "cards_sent": cards,
            }
        )

    async def card_times(request: Request) -> JSONResponse:
        body = await request.json()
        wanted = {(c, t) for c, t in body.get("cards", [])}
        first: dict[str, float] = {}
        any_update: dict[str, float] = {}
        for call in slack.calls("chat.update"):
            key = (str(call.args.get("channel")), str(call.args.get("ts")))
            if key not in wanted or not call.ok:
                continue
            name = f"{key[0]}/{key[1]}"
            any_update[name] = min(any_update.get(name, call.at), call.at)
            if str(call.args.get("text", "")).endswith(SENT_TEXT):
                first[name] = min(first.get(name, call.at), call.at)
        return JSONResponse({"card_sent_at": first, "first_update_at": any_update})

    async def wait_cards_sent(request: Request) -> JSONResponse:
        body = await request.json()
        cards = [(str(c), str(t)) for c, t in body.get("cards", [])]
        timeout = min(float(body.get("timeout", 30)), MAX_WAIT_SECONDS)
        missing = await slack.wait_sent(cards, timeout)
        return JSONResponse({"missing": [list(c) for c in missing]})

    async def counts(request: Request) -> JSONResponse:
        calls: dict[str, int] = {}
        for call in slack.calls():
            calls[call.method] = calls.get(call.method, 0) + 1
        return JSONResponse(
            {
                "slack_calls": calls,
                "chatwoot_requests": len(chatwoot.requests()),
            }
        )

    async def post_limit(request: Request) -> JSONResponse:
        body = await request.json()
        slack.limit_posts(float(body["per_second"]), int(body.get("burst", 1)))
        return JSONResponse({"ok": True})

    async def marked_posts(request: Request) -> JSONResponse:
        event_type = (await request.json())["event_type"]
        posts = []
        for call in slack.calls("chat.postMessage"):
            metadata = _metadata(call.args.get("metadata"))
            if call.ok and metadata is not None and metadata.get("event_type") == event_type:
                posts.append({"id": metadata["event_payload"]["id"], "posted_at": call.at})
        limited = sum(1 for c in slack.calls("chat.postMessage") if c.error == "ratelimited")
        return JSONResponse({"posts": posts, "rate_limited": limited})

    return Starlette(
        routes=[
            Route("/slack-post-limit", post_limit, methods=["POST"]),
            Route("/marked-posts", marked_posts, methods=["POST"]),
            Route("/status", status, methods=["POST"]),
            Route("/card-times", card_times, methods=["POST"]),
            Route("/wait-cards-sent", wait_cards_sent, methods=["POST"]),
            Route("/counts", counts, methods=["GET"]),
            Route("/customer-message", customer_message, methods=["POST"]),
        ]
    )


def _metadata(metadata: Any) -> dict[str, Any] | None:
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    return metadata if isinstance(metadata, dict) else None


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    # Every operator is a Slack member with an email and a Chatwoot agent of that email, so
    # each approval takes the same path (users.info once per operator, then assign).
    people = [operator(n) for n in range(1, MAX_OPERATORS + 1)]
    users = [
        SlackUser(uid, f"op{n}", name, email) for n, (uid, name, email) in enumerate(people, 1)
    ]
    agents = [
        ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
        *(
            ChatwootAgent(FIRST_AGENT_ID + n - 1, name, email)
            for n, (_, name, email) in enumerate(people, 1)
        ),
    ]
    async with (
        BenchSlack(users=users, log_level="warning") as slack,
        ChatwootStandin(agents=agents, log_level="warning") as chatwoot,
    ):
        control = StandinServer(control_app(slack, chatwoot), log_level="warning")
        await control.start()
        try:
            ready: dict[str, Any] = {
                "slack": slack.url,
                "chatwoot": chatwoot.url,
                "chatwoot_token": chatwoot.token,
                "chatwoot_account": chatwoot.account_id,
                "control": control.url,
            }
            print(json.dumps(ready), flush=True)
            await stop.wait()
        finally:
            await control.stop()


if __name__ == "__main__":
    run_event_loop(main())  # uvloop, as occ-bot serve runs: cheaper per request, same answers
