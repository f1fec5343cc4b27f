"""Choosing the drafter from settings: OpenAI when a key is set, else offline from the KB."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.drafting.base import Drafter
from bot.drafting.kb import KnowledgeBase
from bot.drafting.offline import OfflineDrafter


def knowledge_base(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(Path(settings.kb_dir) if settings.kb_dir else None)


def offline_drafter(settings: Settings) -> OfflineDrafter:
    return OfflineDrafter(knowledge_base(settings))


def build_drafter(settings: Settings) -> Drafter:
    if settings.openai_api_key is None:
        return offline_drafter(settings)
    from bot.drafting.openai_drafter import OpenAIDrafter

    return OpenAIDrafter(
        knowledge_base(settings),
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        model=settings.openai_model,
    )
