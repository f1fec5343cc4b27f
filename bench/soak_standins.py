"""Helper process for the soak: the Slack, Chatwoot and Shopify stand-ins, Chatwoot behind a
TCP proxy the soak can cut, and a control API that says what each of them received.

Prints one JSON line (the URLs) once everything listens on 127.0.0.1, then serves until
SIGTERM/SIGINT or until its stdin closes, as `bench/standins_proc.py` does. The control API
has that helper's routes (``/status``, ``/card-times``, ``/wait-cards-sent``, ``/counts``,
``/customer-message``, …) and these:

- ``GET /trigger`` → a ``trigger_id`` the Slack stand-in issued now (it opens one modal,
  within 3 s, as Slack's do).
- ``POST /posts`` ``{"after": n}`` → the messages posted with our metadata, in posting order,
  from the n-th on: ``{"posts": [{"n", "channel", "ts", "thread_ts", "event_type", "id",
  "at", "text"}], "next": n}``. Cards, escalations, reminders and alerts are found here, as
  an operator finds them in Slack.
- ``POST /wait-change`` ``{"channel", "ts", "since", "user", "timeout"}`` → once the message
  has had a ``chat.update`` after ``since`` (epoch s) or ``user`` has been shown an ephemeral
  message after it: ``{"updated": text|null, "ephemeral": text|null}`` (both null: timed out).
- ``POST /view-opened`` ``{"trigger_id", "timeout"}`` → the modal opened with that trigger:
  ``{"callback_id", "private_metadata"}`` or ``{}``.
- ``GET /tally`` → duplicates and what reached the customer: per metadata event type, the
  posts made, the ids posted more than once (and of those, still more than once in the
  channel, after the bot's own clean-up), the conversations with more than one reply, the
  private notes written twice, and the reliability channel's messages.
- ``POST /chatwoot`` ``{"cut": bool}`` → cut Chatwoot off (open connections aborted, new
  ones refused) or restore it.
- ``POST /shop-stock`` ``{"sku", "available"}`` → a SKU's stock in the shop from now on.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.common import MAX_OPERATORS, operator
from bench.standins_proc import FIRST_AGENT_ID, BenchSlack, _metadata, control_app
from bench.tcp_balancer import TcpBalancer
from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.server import StandinServer
from bot.demo.standins.shopify import ShopifyStandin
from bot.demo.standins.slack import SlackUser

MAX_WAIT_SECONDS = 60.0
SHOP_TIMEZONE = "UTC"
SKUS = 10  # the shop's top sellers: one low-stock alert each when its stock runs out
SHOP_DAYS = 8  # the days Sales Pulse reads (today and the 7 before)
ORDERS_PER_DAY = 10  # a run reads them in a second or two (the cost bucket)
STOCK = 10_000  # plenty: no alert until the soak takes a SKU's stock away


class SoakSlack(BenchSlack):
    """The Slack stand-in, keeping every post that carries metadata in order, and waking
    waiters after every call (updates, ephemerals, modals)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posted: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._post_message(args)
        metadata = _metadata(args.get("metadata"))
        if metadata is not None:
            payload = metadata.get("event_payload") or {}
            self.posted.append(
                {
                    "n": len(self.posted),
                    "channel": result["channel"],
                    "ts": result["ts"],
                    "thread_ts": args.get("thread_ts"),
                    "event_type": metadata.get("event_type"),
                    "id": payload.get("id") if isinstance(payload, dict) else None,
                    "at": time.time(),
                    "text": str(result["message"].get("text", ""))[:300],
                }
            )
        return result

    def build_app(self) -> ASGIApp:
        inner = super().build_app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await inner(scope, receive, send)
            if scope["type"] == "http":
                async with self.changed:
                    self.changed.notify_all()

        return app


def seed_shop(shop: ShopifyStandin) -> None:
    """Steady sales of `SKUS` top sellers over the days Sales Pulse reads, all in stock."""
    now = datetime.now(UTC)
    orders = SHOP_DAYS * ORDERS_PER_DAY
    step = timedelta(days=SHOP_DAYS) / orders
    for i in range(orders):
        shop.add_order(
            now - step * (orders - i),
            40.0 + i % 20,
            email=f"shopper{i % 50}@example.com",
            line_items=[(f"SKU-{i % SKUS:02d}", 1)],
        )
    for n in range(SKUS):
        shop.add_variant(f"SKU-{n:02d}", STOCK)


def soak_routes(
    slack: SoakSlack, chatwoot: ChatwootStandin, proxy: TcpBalancer, shop: ShopifyStandin
) -> list[Route]:
    async def trigger(request: Request) -> JSONResponse:
        return JSONResponse({"trigger_id": slack.trigger()})

    async def posts(request: Request) -> JSONResponse:
        after = int((await request.json()).get("after", 0))
        found = slack.posted[after:]
        return JSONResponse({"posts": found, "next": after + len(found)})

    async def wait_change(request: Request) -> JSONResponse:
        body = await request.json()
        ts, user = str(body["ts"]), body.get("user")
        since = float(body["since"])
        timeout = min(float(body.get("timeout", 30)), MAX_WAIT_SECONDS)

        def seen() -> dict[str, str | None] | None:
            updates = slack.calls("chat.update")
            update = next(
                (c for c in reversed(updates) if c.ok and c.at > since and _is(c.args, ts)),
                None,
            )
            shown = None
            if user:
                ephemerals = slack.ephemerals(user)
                shown = next((e for e in reversed(ephemerals) if _after(e, since)), None)
            if update is None and shown is None:
                return None
            return {
                "updated": str(update.args.get("text", "")) if update else None,
                "ephemeral": str(shown.get("text", "")) if shown else None,
            }

        found = None
        try:
            async with asyncio.timeout(timeout), slack.changed:
                found = await slack.changed.wait_for(seen)
        except TimeoutError:
            pass
        return JSONResponse(found or {"updated": None, "ephemeral": None})

    async def view_opened(request: Request) -> JSONResponse:
        body = await request.json()
        wanted = str(body["trigger_id"])
        timeout = min(float(body.get("timeout", 10)), MAX_WAIT_SECONDS)

        def opened() -> dict[str, Any] | None:
            for call in slack.calls("views.open"):
                if call.ok and str(call.args.get("trigger_id")) == wanted:
                    view = _metadata(call.args.get("view")) or {}
                    return {
                        "callback_id": view.get("callback_id"),
                        "private_metadata": view.get("private_metadata"),
                    }
            return None

        found = None
        try:
            async with asyncio.timeout(timeout), slack.changed:
                found = await slack.changed.wait_for(opened)
        except TimeoutError:
            pass
        return JSONResponse(found or {})

    async def tally(request: Request) -> JSONResponse:
        return JSONResponse(_tally(slack, chatwoot))

    async def cut_chatwoot(request: Request) -> JSONResponse:
        if (await request.json())["cut"]:
            proxy.cut()
        else:
            proxy.restore()
        return JSONResponse({"cut": proxy.is_cut, "refused": proxy.refused})

    async def shop_stock(request: Request) -> JSONResponse:
        body = await request.json()
        for variant in shop.variants:
            if variant.sku == body["sku"]:
                variant.available = {"Main warehouse": int(body["available"])}
        return JSONResponse({"ok": True})

    return [
        Route("/trigger", trigger, methods=["GET"]),
        Route("/posts", posts, methods=["POST"]),
        Route("/wait-change", wait_change, methods=["POST"]),
        Route("/view-opened", view_opened, methods=["POST"]),
        Route("/tally", tally, methods=["GET"]),
        Route("/chatwoot", cut_chatwoot, methods=["POST"]),
        Route("/shop-stock", shop_stock, methods=["POST"]),
    ]


def _is(args: dict[str, Any], ts: str) -> bool:
    return str(args.get("ts")) == ts


def _after(ephemeral: dict[str, Any], since: float) -> bool:
    return float(ephemeral["message_ts"]) > since


def _tally(slack: SoakSlack, chatwoot: ChatwootStandin) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = {}
    where: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for post in slack.posted:
        by_kind.setdefault(post["event_type"], Counter())[post["id"]] += 1
        where.setdefault((post["event_type"], post["id"]), []).append((post["channel"], post["ts"]))
    kinds = {}
    for kind, ids in sorted(by_kind.items()):
        twice = sorted(i for i, n in ids.items() if n > 1)
        still = [
            i
            for i in twice
            if sum(slack.message(c, t) is not None for c, t in where[(kind, i)]) > 1
        ]
        kinds[kind] = {
            "posts": sum(ids.values()),
            "distinct": len(ids),
            "posted_twice": twice[:50],
            "posted_twice_count": len(twice),
            "shown_twice": still[:50],
            "shown_twice_count": len(still),
        }
    replies: dict[str, int] = {}
    notes_twice = 0
    for conversation in list(chatwoot._conversations):  # the stand-in has no public list
        sent = len(chatwoot.sent_replies(conversation))
        if sent:
            replies[str(conversation)] = sent
        contents = Counter(m["content"] for m in chatwoot.private_notes(conversation))
        notes_twice += sum(1 for n in contents.values() if n > 1)
    reliability = [
        {"at": float(m["ts"]), "text": str(m.get("text", ""))[:300]}
        for m in slack.messages_in("#occ-reliability")
    ]
    return {
        "kinds": kinds,
        "replies": replies,
        "conversations_replied_twice": sorted(int(c) for c, n in replies.items() if n > 1),
        "private_notes_twice": notes_twice,
        "reliability_messages": reliability,
    }


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
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
    shop = ShopifyStandin(timezone=SHOP_TIMEZONE, bulk_polls=0, log_level="warning")
    seed_shop(shop)
    async with (
        SoakSlack(users=users, log_level="warning") as slack,
        ChatwootStandin(agents=agents, log_level="warning") as chatwoot,
        shop,
    ):
        port = int(chatwoot.url.rsplit(":", 1)[1])
        async with TcpBalancer([("127.0.0.1", port)]) as proxy:
            app = control_app(slack, chatwoot)
            control = StandinServer(
                Starlette(routes=[*app.routes, *soak_routes(slack, chatwoot, proxy, shop)]),
                log_level="warning",
            )
            await control.start()
            try:
                ready = {
                    "slack": slack.url,
                    "chatwoot": proxy.url,  # the replicas reach Chatwoot through the cut
                    "chatwoot_direct": chatwoot.url,
                    "chatwoot_token": chatwoot.token,
                    "chatwoot_account": chatwoot.account_id,
                    "shopify": shop.url,
                    "control": control.url,
                }
                print(json.dumps(ready), flush=True)
                await stop.wait()
            finally:
                await control.stop()


if __name__ == "__main__":
    asyncio.run(main())
