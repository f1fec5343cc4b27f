"""Choosing the drafter from settings: OpenAI when a key is set, else offline from the KB."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.drafting.base import Drafter
from bot.drafting.kb import KnowledgeBase
from bot.drafting.offline import OfflineDrafter


def knowledge_base(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(
        Path(settings.kb_dir) if settings.kb_dir else None,
        allow_empty=settings.kb_help_center_portal is not None,  # the first sync fills it
    )


def build_drafters(settings: Settings) -> tuple[Drafter, OfflineDrafter]:
    """The drafter to use and the offline one to fall back on, sharing one knowledge base."""
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
