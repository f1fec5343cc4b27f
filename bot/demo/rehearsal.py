"""`occ-bot demo`: the whole product rehearsed offline on embedded defaults.

The real app runs against the loopback stand-ins for Slack, Chatwoot and Shopify that the
tests use, on a throw-away SQLite database, with offline drafting, on an injected clock that
the rehearsal moves (so an SLA of 15 minutes passes at once). Scripted people click what the
training expects, with signed Slack requests, and the scheduled jobs are run the way the
scheduler runs them. It prints what each Slack surface shows (as `bot.demo.render` renders
it: emoji, dates and names as a reader sees them) and what each decision did:

1. the approval queue: the scenario packet approved, edited, rejected and escalated, with
   a refusal (Demo 3, whose escalation is left unclaimed, comes last);
2. that Urgent escalation: reminded in its thread, stepped up the chain (the `reminders`
   job), claimed, resolved through the Resolve modal, and the operator's DM;
3. a Chatwoot message drafted; Chatwoot down during an approval, and Retry;
4. a CX conversation past its SLA (the `cx-scan` job), its breach card marked resolved;
5. Sales Pulse (the `sales-pulse` job over the stand-in shop): an alert, its chart in its
   thread, acknowledged;
6. the Home tab and `/occ stats` after the decisions;
7. training: `/occ training start`, a card decided and scored;
8. the weekly digest (the `digest` job, the next Monday), with its charts;
9. the decision log.

With ``out_dir`` it also writes the Sales Pulse and digest charts and the digest's Markdown
there. Everything else lives in a temporary folder that is removed at the end.

The stage (the clock, the cast, printing and clicking) is `bot.demo.stage`; acts 1-3 are
`bot.demo.queue_acts`, acts 4-9 `bot.demo.team_acts`, and `Rehearsal` plays them all. This
module sets the app up around them and runs them in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from bot.app import create_app, create_bolt_app
from bot.config import Settings
from bot.connect import join_channels
from bot.demo.queue_acts import CHAINED, QueueActs
from bot.demo.stage import (
    AGENTS,
    INTAKE,
    LEAD,
    MANAGER,
    PEOPLE,
    SECRET,
    DemoClock,
    ErrorLog,
    start_time,
)
from bot.demo.standins.chatwoot import ChatwootStandin
from bot.demo.standins.server import StandinServer
from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin
from bot.demo.team_acts import TeamActs
from bot.scenarios import Scenario, load_packet
from bot.services import build_services

SCENARIO_PREFIXES = ("demo-", "exercise-")

PARTS = (
    "the approval queue: the scenario packet approved, edited, rejected and escalated;",
    "an Urgent escalation reminded, stepped up the chain, claimed and resolved;",
    "a Chatwoot message drafted, and Chatwoot down during an approval;",
    "a CX conversation past its SLA, carded and marked resolved;",
    "a Sales Pulse alert from the shop, with its chart, acknowledged;",
    "the Home tab and /occ stats after the decisions;",
    "training: a card decided and scored;",
    "the weekly digest, the next Monday;",
    "the decision log.",
)
# How long each card waits before its decision (minutes), so the team's numbers have a
# spread: the median is under the 3-minute target, the p90 over it.
THINKING = (1, 2, 1, 3, 2, 4, 1, 2, 5, 1, 2, 3)


class Rehearsal(QueueActs, TeamActs):
    """The story, act by act, against one running app; see the module's docstring."""


def demo_settings(
    tmp: Path, slack: SlackStandin, chatwoot: ChatwootStandin, shop: Any | None
) -> Settings:
    shopify: dict[str, Any] = {}
    if shop is not None:
        shopify = {"shopify_shop": shop.url, "shopify_admin_token": shop.token}
    return Settings(
        _env_file=None,
        slack_bot_token=DEFAULT_TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=f"{slack.url}/api/",
        database_url=f"sqlite:///{tmp / 'occ-demo.db'}",
        chatwoot_url=chatwoot.url,
        chatwoot_api_token=chatwoot.token,
        chatwoot_account_id=str(chatwoot.account_id),
        openai_api_key=None,
        OCC_INTAKE_TOKEN=INTAKE,
        OCC_MANAGERS=MANAGER.id,
        OCC_OPERATORS="",
        OCC_KB_DIR=None,
        OCC_SPOOL_DIR=str(tmp / "spool"),
        OCC_ESCALATION_CHAIN=f"managers,{LEAD.id}",
        OCC_REMINDERS_PER_LEVEL=1,
        OCC_HOME_REFRESH_SECONDS=0,  # the Home tab is redrawn at once, not after a pause
        OCC_DRAFT_QUIET_SECONDS=0,  # a Chatwoot message is drafted at once
        OCC_JOB_TICK_SECONDS=3600,  # the rehearsal runs the jobs itself
        OCC_SLACK_POSTS_PER_SECOND=1000,  # its Slack stand-in enforces no posting limit
        OCC_SLACK_POST_BURST=1000,
        **shopify,
    )


def queue_order(packet: list[Scenario]) -> list[Scenario]:
    """The demos and exercises, with the one whose escalation is left unclaimed last, so that
    its SLA runs out in the next part of the story."""
    played = [s for s in packet if s.key.startswith(SCENARIO_PREFIXES)]
    return sorted(played, key=lambda s: s.key == CHAINED)


def _shop_standin(clock: DemoClock) -> Any | None:
    """The Shopify stand-in, or None where graphql-core (a dev dependency) is missing."""
    try:
        from bot.demo.standins.shopify import ShopifyStandin
    except ImportError:
        return None
    return ShopifyStandin(timezone="UTC", clock=clock.timestamp)


async def run_demo(out: TextIO, out_dir: Path | None = None) -> int:
    """Rehearse, printing to ``out``; 0 when the bot logged no error on the way."""
    try:
        return await _rehearse(out, out_dir)
    except BrokenPipeError:  # `occ-bot demo | head`: the reader left; stop without a traceback
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1


async def _rehearse(out: TextIO, out_dir: Path | None) -> int:
    clock = DemoClock(start_time(datetime.now(UTC)))
    started = time.monotonic()
    out.write(
        "occ-bot demo: a rehearsal of the whole product on embedded defaults\n"
        "(SQLite, offline drafting, loopback stand-ins for Slack, Chatwoot and Shopify, and a\n"
        f"fast clock that starts at {clock.now:%a %Y-%m-%d %H:%M} UTC and moves as the story "
        "needs). In order:\n"
        + "".join(f"  {n}. {part}\n" for n, part in enumerate(PARTS, 1))
        + "Slack's surfaces are shown as a reader sees them; ▶ marks what someone does.\n\n"
    )
    errors = ErrorLog()
    logging.getLogger("occ").addHandler(errors)
    shop = _shop_standin(clock)
    try:
        with tempfile.TemporaryDirectory(prefix="occ-demo-") as tmp:
            async with (
                SlackStandin(users=PEOPLE, clock=clock.timestamp) as slack,
                ChatwootStandin(agents=AGENTS, clock=clock.timestamp) as chatwoot,
            ):
                if shop is not None:
                    await shop.start()
                services = await build_services(
                    demo_settings(Path(tmp), slack, chatwoot, shop), clock=clock
                )
                try:
                    await join_channels(services)  # as `occ-bot serve` does before it serves
                    await services.store.migrate()
                    app = create_app(services, bolt=create_bolt_app(services), run_jobs=False)
                    async with (
                        StandinServer(app) as server,
                        httpx.AsyncClient(timeout=30) as http,
                    ):
                        rehearsal = Rehearsal(
                            out, services, clock, server.url, http, slack, chatwoot, shop, out_dir
                        )
                        packet = queue_order(load_packet())
                        for scenario, thinking in zip(packet, THINKING, strict=False):
                            await rehearsal.scenario(scenario, thinking)
                        await rehearsal.urgent_chain()
                        await rehearsal.chatwoot_message()
                        await rehearsal.outage(packet[0])
                        await rehearsal.cx_breach()
                        await rehearsal.sales_pulse()
                        await rehearsal.home_and_stats()
                        await rehearsal.training()
                        await rehearsal.digest()
                        await rehearsal.log()
                finally:
                    await services.aclose()
                    if shop is not None:
                        await shop.stop()
    finally:
        logging.getLogger("occ").removeHandler(errors)
    out.write(f"\n(rehearsed in {time.monotonic() - started:.1f} s)\n")
    if errors.messages:
        out.write("\nThe bot logged errors during the rehearsal:\n")
        for message in errors.messages:
            out.write(f"  {message}\n")
        return 1
    return 0
