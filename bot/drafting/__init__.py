"""Drafting replies from the knowledge base: offline (BM25 extract) or with an OpenAI model.

Importing this package is cheap: llama-index loads on the first search and ``openai`` on an
``OpenAIDrafter``'s first draft, or with ``warm()`` (`bot.services.Services.warm_drafters`).
"""

from bot.drafting.base import Drafter, DraftingError, Proposal
from bot.drafting.kb import Article, Hit, KnowledgeBase, KnowledgeBaseError
from bot.drafting.offline import OfflineDrafter
from bot.drafting.openai_drafter import OpenAIDrafter

__all__ = [
    "Article",
    "Drafter",
    "DraftingError",
    "Hit",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "OfflineDrafter",
    "OpenAIDrafter",
    "Proposal",
]
