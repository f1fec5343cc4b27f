"""The one bundle of collaborators (settings, store, clients, drafter, clock, ids) passed down,
and building it from settings."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.domain import SlackRef
from bot.drafting.base import Drafter
from bot.drafting.kb import KnowledgeBase
from bot.drafting.offline import OfflineDrafter
from bot.integrations.chatwoot import ChatwootClient
from bot.runtime.background import Background
from bot.runtime.pacing import PostPacer
from bot.runtime.pending_drafts import PendingDrafts
from bot.runtime.refusals import Deciding, Refusals
from bot.runtime.reliability import OpenIncidents
from bot.runtime.spool import Spool, spool_key
from bot.runtime.workspace import Workspace
from bot.store import Store, open_store

if TYPE_CHECKING:  # imported when Shopify is configured: it brings httpx
    from bot.integrations.shopify import ShopifyClient

log = logging.getLogger("occ")

Clock = Callable[[], datetime]
IdFactory = Callable[[str], str]  # prefix -> a new unique id, e.g. "d_3f9c…"


def utc_now() -> datetime:
    return datetime.now(UTC)


def random_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


@dataclass
class Services:
    settings: Settings
    store: Store
    slack: AsyncWebClient
    chatwoot: ChatwootClient | None
    drafter: Drafter
    fallback_drafter: OfflineDrafter  # for when the drafter fails or is too slow
    shopify: ShopifyClient | None = None
    spool: Spool | None = None  # decisions kept while the database is down (bot.flows.spooled)
    database_down: tuple[datetime, str] | None = None  # since, last error: this replica's view
    clock: Clock = utc_now
    new_id: IdFactory = random_id
    background: Background = field(default_factory=Background)
    # Refused clicks waiting to be logged, one row per user (bot.flows.refusals).
    refusals: Refusals = field(default_factory=Refusals)
    # Clicks waiting for another click on the same draft to be applied (bot.flows.spooled).
    deciding: Deciding[Any] = field(default_factory=Deciding)
    # Drafts seen pending with their card: a decision on one reads nothing before its
    # compare-and-set (bot.flows.decisions).
    pending_drafts: PendingDrafts = field(default_factory=PendingDrafts)
    incidents: OpenIncidents = field(default_factory=OpenIncidents)
    runner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Posts per channel at Slack's rate (bot.slack.post); settings give the rate.
    pacer: PostPacer = field(default_factory=lambda: PostPacer(1.0, 3))
    # When this replica began running jobs (serve sets it): the health job gives a job two
    # periods from then before calling it behind, so a restart does not alert on old runs.
    started_at: datetime | None = None
    user_cache: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # A message's permalink never changes: the Home tab and `/occ queue` list the same cards
    # again and again, and ask Slack once each (bot.slack.permalink).
    permalinks: dict[SlackRef, str] = field(default_factory=dict)
    # Channel IDs and the channels the bot cannot work in (bot.connect fills it).
    workspace: Workspace = field(default_factory=Workspace)
    # The Sales Pulse tile's chart, drawn once per snapshot (its time) on this replica however
    # many ask for it (bot.flows.pulse_tile).
    pulse_charts: dict[datetime, asyncio.Future[bytes]] = field(default_factory=dict)
    # The drafters' libraries loading (`warm_drafters`), from the first sign of drafting on.
    drafters_warming: asyncio.Future[None] | None = None

    def warm_drafters(self) -> asyncio.Future[None]:
        """Load what drafting needs, once per process and in a thread: llama-index and the
        knowledge base's index (about 2 s and 60 MB), ``openai`` with a key (1 s, 20 MB).

        Started by the first customer message (its quiet period covers it) or the first
        draft, not at start: a replica that never drafts never loads them. Await the result
        to wait for it; it never raises (a draft meets the same problem and reports it)."""
        if self.drafters_warming is None:
            warm = asyncio.to_thread(_warm, [self.drafter, self.fallback_drafter])
            self.drafters_warming = asyncio.ensure_future(warm)
        return asyncio.shield(self.drafters_warming)

    def conversation_url(self, conversation_id: int) -> str | None:
        return self.chatwoot.conversation_url(conversation_id) if self.chatwoot else None

    async def aclose(self) -> None:
        await self.background.aclose()
        if self.drafters_warming is not None:  # its thread finishes on its own
            self.drafters_warming.cancel()
        if self.chatwoot is not None:
            await self.chatwoot.aclose()
        if self.shopify is not None:
            await self.shopify.aclose()
        if self.slack.session is not None:
            await self.slack.session.close()
        close_drafter = getattr(self.drafter, "aclose", None)
        if close_drafter is not None:
            await close_drafter()
        await self.store.close()
        if self.spool is not None:
            self.spool.close()


def _warm(drafters: list[Drafter]) -> None:
    for drafter in {id(d): d for d in drafters}.values():  # the offline one may be both
        warm = getattr(drafter, "warm", None)
        if warm is None:
            continue
        try:
            warm()
        except Exception:
            log.warning("warming %s failed", type(drafter).__name__, exc_info=True)


# Calls that post something. Slack may have acted on one that answered 500 or lost its
# connection (docs/real-services.md), so repeating it can post twice: such a failure goes to
# the caller, whose exactly-once path looks for the message before it posts again.
NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "files.completeUploadExternal",
    }
)


# Posts are paced per channel (bot.runtime.pacing) and a 429 on one is waited out there, in
# the channel's turn, rather than by slack_sdk's sleep.
PACED = frozenset({"chat.postMessage"})


def _method(request: HttpRequest) -> str:
    return request.url.rsplit("/", 1)[-1]


class _SkipsMethods:
    """Mixed into a slack_sdk retry handler: it never retries the methods in ``skipped``."""

    skipped: frozenset[str] = frozenset()

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return _method(request) not in self.skipped and await super()._can_retry_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class _ConnectionErrorRetry(_SkipsMethods, AsyncConnectionErrorRetryHandler):
    skipped = NOT_REPEATABLE  # it never repeats a call that posts


class _ServerErrorRetry(_SkipsMethods, AsyncServerErrorRetryHandler):
    skipped = NOT_REPEATABLE


class _UnpacedRateLimitRetry(_SkipsMethods, AsyncRateLimitErrorRetryHandler):
    skipped = PACED


def debug_only_when_written(name: str) -> logging.Logger:
    """The logger ``name``, given the level it takes from its parents now if it has none.
    slack_sdk and Bolt build their debug lines (slack_sdk: each request's whole JSON body and
    each answer's, blocks included) whenever their logger's own level is at most DEBUG, which
    NOTSET (0) is, even when nothing would write them: with the level the logger takes
    anyway, they are built only when DEBUG logging is on (`OCC_LOG_LEVEL`)."""
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """Slack's Web API client; pass a session to reuse connections (slack_sdk opens a new
    aiohttp session, and so a new connection, for every call otherwise)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        session=session,
        logger=debug_only_when_written("slack_sdk.web.async_client"),
        retry_handlers=[
            _ConnectionErrorRetry(max_retry_count=2),
            _UnpacedRateLimitRetry(max_retry_count=3),  # a 429 did nothing
            _ServerErrorRetry(max_retry_count=2),
        ],
    )


def spool_for(settings: Settings) -> Spool | None:
    """The spool, its records signed with a key derived from the bot's Slack secret; None
    without one (no Slack, no decisions to keep)."""
    secret = settings.slack_signing_secret or settings.slack_bot_token or settings.slack_app_token
    if secret is None:
        return None
    return Spool(Path(settings.spool_dir), spool_key(secret.get_secret_value()))


def knowledge_base(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(
        Path(settings.kb_dir) if settings.kb_dir else None,
        allow_empty=settings.kb_help_center_portal is not None,  # the first sync fills it
    )


def build_drafters(settings: Settings) -> tuple[Drafter, OfflineDrafter]:
    """The drafter to use and the offline one to fall back on, sharing one knowledge base:
    OpenAI when a key is set, else offline from the KB."""
    kb = knowledge_base(settings)
    offline = OfflineDrafter(kb)
    if settings.openai_api_key is None:
        return offline, offline
    from bot.drafting.openai_drafter import OpenAIDrafter

    return OpenAIDrafter(
        kb,
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        model=settings.openai_model,
    ), offline


def store_for(settings: Settings) -> Store:
    key = settings.supabase_service_role_key
    return open_store(
        settings.effective_database_url,
        settings.supabase_url,
        key.get_secret_value() if key else None,
    )


async def build_services(
    settings: Settings, *, clock: Clock = utc_now, new_id: IdFactory = random_id
) -> Services:
    store = store_for(settings)
    chatwoot = None
    if settings.chatwoot_enabled:
        assert settings.chatwoot_url and settings.chatwoot_api_token
        chatwoot = ChatwootClient(
            settings.chatwoot_url,
            settings.chatwoot_api_token.get_secret_value(),
            settings.chatwoot_account_id or "",
        )
    shopify = None
    if settings.shopify_enabled:
        assert settings.shopify_shop and settings.shopify_admin_token
        from bot.integrations.shopify import ShopifyClient

        shopify = ShopifyClient(
            settings.shopify_shop, settings.shopify_admin_token.get_secret_value()
        )
    drafter, fallback = build_drafters(settings)
    return Services(
        settings=settings,
        store=store,
        slack=slack_client(settings, aiohttp.ClientSession()),
        chatwoot=chatwoot,
        shopify=shopify,
        spool=spool_for(settings),
        drafter=drafter,
        fallback_drafter=fallback,
        clock=clock,
        new_id=new_id,
        pacer=PostPacer(settings.slack_posts_per_second, settings.slack_post_burst),
    )
