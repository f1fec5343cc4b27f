"""Who may do what to a draft: decided from the stored draft and the user, never from a button."""

from __future__ import annotations

from bot.config import Settings
from bot.domain import DecisionKind, Draft, DraftState
from bot.policy import ALWAYS_ESCALATE, requires_manager

NOT_AN_OPERATOR = "Only the operators listed in OCC_OPERATORS can act on drafts."


def refusal(settings: Settings, user_id: str, draft: Draft, kind: DecisionKind) -> str | None:
    """Why `user_id` may not `kind` this draft now, or None when they may."""
    if not settings.may_act_on_drafts(user_id):
        return NOT_AN_OPERATOR
    if draft.state is not DraftState.PENDING:
        return None  # the store's compare-and-set decides races; see already_decided()
    sends = kind in (DecisionKind.APPROVE, DecisionKind.EDIT)
    if sends and requires_manager(draft.flags) and not settings.is_manager(user_id):
        reasons = "; ".join(f.reason for f in draft.flags if f.kind in ALWAYS_ESCALATE)
        return (
            f"This draft must be escalated ({reasons}). Sending it is reserved for managers: "
            "use Escalate, or ask a manager."
        )
    return None
