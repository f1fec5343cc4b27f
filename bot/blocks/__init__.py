"""Block Kit builders: domain objects in, Block Kit JSON out; no I/O.

One module per surface (``card``, ``modals``, ``escalation``); escaping, truncation and the
message text budget live in ``text``; ``render`` turns blocks into terminal text.
"""

from bot.blocks.card import draft_card, draft_card_text
from bot.blocks.escalation import escalation_message, escalation_text
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.blocks.modals import edit_modal, escalate_modal, reject_modal
from bot.blocks.render import blocks_to_text, view_to_text

__all__ = [
    "ActionId",
    "CallbackId",
    "InputId",
    "blocks_to_text",
    "draft_card",
    "draft_card_text",
    "edit_modal",
    "escalate_modal",
    "escalation_message",
    "escalation_text",
    "reject_modal",
    "view_to_text",
]
