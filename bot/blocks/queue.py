"""What `/occ` answers: the queue at a glance, and help."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import text as t
from bot.domain import Draft, QueueSummary
from bot.rules.risk import confidence_band

HELP = (
    "*occ-bot*: AI-drafted customer replies wait for you in the approvals channel.\n"
    "• `/occ queue` (or just `/occ`): what is waiting right now\n"
    "• `/occ queue high|medium|low` or `/occ queue <flag>` (`high_value`, `threat`, …): the "
    "waiting drafts in that confidence band or with that risk flag, oldest first\n"
    "• `/occ cx`: conversations whose customer has waited past the CX SLA now, longest "
    "first, each with its last message and links to its card and to Chatwoot\n"
    "• `/occ stats [today|week|month] [@person]`: your numbers and the team's, against the "
    "targets (decide in under 3 min, escalate 10–15 %)\n"
    "• `/occ export [since]` (managers): the decision log since a date (default: the last 7 "
    "days) as a file in a direct message\n"
    "• `/occ training start [@person…]`: the training packet (3 demos, 8 exercises) as practice "
    "cards in the training channel, for you or (managers) the people named; each decision is "
    "marked and explained to the trainee alone\n"
    "• `/occ training report [@person…]`: scores against the 80 % certification bar, with what "
    "was missed\n"
    "• `/occ review [@person…]` (managers): last week's sample of each operator's sent replies, "
    "edited and low-confidence ones first, as cards in a direct message to mark *Good* or "
    "*Coach* (the note goes to the operator); decision quality is in `/occ stats`\n"
    "• `/occ pulse`: Sales Pulse now: today's revenue and orders against the same hours of "
    "the last 7 days, the paid orders waiting to be fulfilled, the top sellers' stock, the "
    "open alerts and when each source was read (the trend chart comes by direct message)\n"
    "• `/occ help`: this message\n"
    "On a card: *Approve* sends the draft, *Edit* lets you change it first, *Reject* keeps it "
    "from the customer, *Escalate* hands it to a manager; once sent, *Send Correction* sends "
    "a follow-up to the same conversation (yours to send, or a manager's)."
)


def queue_text(summary: QueueSummary, now: datetime, *, approvals_channel: str) -> str:
    """One short mrkdwn message, only the caller sees it."""
    if summary.pending:
        waiting = f"*{summary.pending}* draft{_s(summary.pending)} waiting in {approvals_channel}"
        if summary.oldest_pending_at is not None:
            minutes = (now - summary.oldest_pending_at).total_seconds() / 60
            waiting += f", the oldest for {t.format_minutes(max(minutes, 0))}"
    else:
        waiting = f"No drafts waiting in {approvals_channel} :tada:"
    lines = [waiting]
    if summary.replies_in_flight:
        lines.append(f"*{summary.replies_in_flight}* approved repl{_ies(summary)} being sent")
    if summary.replies_failing:
        lines.append(
            f":warning: *{summary.replies_failing}* repl"
            f"{'y' if summary.replies_failing == 1 else 'ies'} not sent yet "
            "(Chatwoot failed; retrying, or use *Retry* on the card)"
        )
    escalations = f"*{summary.open_escalations}* open escalation{_s(summary.open_escalations)}"
    if summary.overdue_escalations:
        escalations += f", :rotating_light: *{summary.overdue_escalations}* past their SLA"
    lines.append(escalations)
    return "\n".join(lines)


def waiting_line(draft: Draft, link: str | None, now: datetime) -> str:
    """One waiting draft: who (linking to the card), confidence and band, wait, risk flags."""
    name = t.inline(draft.input.customer.name or "a customer", 60)
    who = f"<{link}|{name}>" if link else name
    band = confidence_band(draft.input.confidence).value
    waited = t.format_minutes(max((now - draft.received_at).total_seconds() / 60, 0))
    flags = ", ".join(flag.kind.value for flag in draft.flags)
    line = f"• {who}: {t.percent(draft.input.confidence)} ({band}), waiting {waited}"
    return line + (f", flags: {flags}" if flags else "")


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _ies(summary: QueueSummary) -> str:
    return "y" if summary.replies_in_flight == 1 else "ies"
