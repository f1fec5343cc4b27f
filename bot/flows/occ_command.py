"""`/occ` and its subcommands, each answered to the person who asked alone.

- ``queue [band|flag]``: what is waiting; with a confidence band (``high``, ``medium``,
  ``low``) or a risk flag (``high_value``, ``threat``…), the waiting drafts that have it,
  oldest first, each linking to its card.
- ``stats [today|week|month] [@person]``: the caller's numbers (a manager may ask for
  someone else's) and the team's, against the source documents' targets; counted in SQL.
- ``export [since]``: the decision log since a date (default: the last 7 days) as an NDJSON
  file in a direct message, for managers (it holds customers' messages).
- ``cx``: the conversations whose customer has waited past the CX SLA now, longest first,
  each linking to its card and to Chatwoot (`bot.flows.cx_tile`).
- ``training start [@person…]``, ``training report [@person…]``: the scenario packet as
  training cards, and each trainee's score against the 80 % bar (`bot.flows.training`).
- ``review [@person…]``: for managers, last week's sample of each operator's sent replies
  (or of those named) as cards in a direct message, to mark Good or Coach
  (`bot.flows.qa_review`).
- ``pulse``: the Sales Pulse tile, from the last Sales Pulse run's snapshot
  (`bot.flows.pulse_tile`).
- ``help``.

A word or argument it does not know gets an answer that says what it does know.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from bot import decision_log, slack
from bot.blocks import text as t
from bot.blocks.home import NOT_AN_OPERATOR
from bot.blocks.queue import HELP, queue_text
from bot.blocks.stats import person_lines, team_lines
from bot.domain import Band, Draft, RiskKind
from bot.flows import cx_tile, database_down, pulse_tile, qa_review, training
from bot.flows.answers import Answer, Respond
from bot.flows.overview import waiting_lines
from bot.rules.periods import PERIODS, period_start
from bot.rules.risk import confidence_band
from bot.services import Services
from bot.store.errors import unavailable

T = TypeVar("T")
LISTED = 10  # drafts a filtered queue lists
QUEUE_LOOKED_AT = 500  # the oldest waiting drafts a filter looks through
EXPORT_DAYS = 7
NOT_ALLOWED = (
    "Only managers (OCC_MANAGERS) can export the decision log: it holds customers' messages."
)
DATABASE_DOWN = (
    ":hourglass_flowing_sand: The database cannot be reached right now, so I can't answer that "
    "(on-call has been told). Try again in a few minutes."
)
BANDS = {band.value: band for band in Band}
FLAGS = {kind.value: kind for kind in RiskKind}


class CommandError(Exception):
    """A word or argument `/occ` cannot use; the message says what it can."""


async def answer_command(services: Services, user: str, text: str, respond: Respond) -> None:
    words = text.split()
    name = words[0].lower() if words else "queue"
    subcommand = SUBCOMMANDS.get(name)
    if subcommand is None:
        answer: str | Answer = f"I don't know `{t.inline(name, 40)}`.\n\n{HELP}"
    else:
        try:
            answer = await _unless_database_down(services, subcommand(services, user, words[1:]))
        except CommandError as error:
            answer = str(error)
    then = answer.then if isinstance(answer, Answer) else None
    shown = answer.text if isinstance(answer, Answer) else answer
    await respond(text=shown, response_type="ephemeral")
    if then is not None:  # what follows the answer (a fresh reading): told if it cannot be
        said = await _unless_database_down(services, then(respond))
        if said is not None:
            await respond(text=said, response_type="ephemeral")


async def _unless_database_down(services: Services, work: Awaitable[T]) -> T | str:
    """``work``'s result, or what to tell the asker when the database cannot be reached (and
    on-call is told)."""
    try:
        return await work
    except Exception as error:
        if not unavailable(error):
            raise
        await database_down.alert(services, error)
        return DATABASE_DOWN


async def _queue(services: Services, user: str, args: list[str]) -> str:
    if not services.settings.may_act_on_drafts(user):
        return NOT_AN_OPERATOR
    now = services.clock()
    summary = await services.store.queue_summary(now)
    overview = queue_text(summary, now, approvals_channel=services.settings.approvals_channel)
    if not args:
        return overview
    if len(args) > 1:
        raise CommandError(f"`/occ queue` takes one band or flag at most.\n{QUEUE_USAGE}")
    word = args[0].lower().replace("-", "_")
    wanted = _filter(word)
    if wanted is None:
        raise CommandError(f"`{t.inline(args[0], 40)}` is no band or flag.\n{QUEUE_USAGE}")
    matching = [d for d in await services.store.waiting_drafts(QUEUE_LOOKED_AT) if wanted(d)]
    if not matching:
        return f"No waiting draft is `{word}`.\n\n{overview}"
    lines = await waiting_lines(services, matching[:LISTED], now)
    more = len(matching) - LISTED
    if more > 0:
        lines.append(f"…and {more} more.")
    plural = "" if len(matching) == 1 else "s"
    head = f"*{len(matching)}* waiting draft{plural} `{word}`, oldest first:"
    return "\n".join([head, *lines])


def _filter(word: str) -> Callable[[Draft], bool] | None:
    if word in BANDS:
        band = BANDS[word]
        return lambda draft: confidence_band(draft.input.confidence) is band
    if word in FLAGS:
        kind = FLAGS[word]
        return lambda draft: any(flag.kind is kind for flag in draft.flags)
    return None


async def _export(services: Services, user: str, args: list[str]) -> str:
    settings = services.settings
    if not settings.is_manager(user):
        return NOT_ALLOWED
    now = services.clock()
    if len(args) > 1:
        raise CommandError(f"`/occ export` takes one date at most.\n{EXPORT_USAGE}")
    since = _since(args[0], settings.zone) if args else now - timedelta(days=EXPORT_DAYS)
    if since > now:
        raise CommandError(f"{t.inline(args[0], 40)} is in the future.\n{EXPORT_USAGE}")
    entries = await services.store.entries(since=since)
    when = t.slack_date(since)
    if not entries:
        return f"No decisions logged since {when}: nothing to export."
    content = "".join(
        json.dumps(decision_log.export_row(entry), ensure_ascii=False, separators=(",", ":")) + "\n"
        for entry in entries
    ).encode()
    filename = f"occ-decision-log-since-{since:%Y-%m-%d}.ndjson"
    channel = await slack.direct_message_channel(services, user)
    shared = channel is not None and await slack.share_file(
        services,
        channel,
        content,
        filename=filename,
        title=f"Decision log since {since:%Y-%m-%d}",
        comment=f"The decision log since {when}: {len(entries):,} rows, one JSON object each.",
    )
    if not shared:
        return "Slack did not take the file just now: try `/occ export` again in a minute."
    return f"Sent you the decision log since {when} ({len(entries):,} rows) in a direct message."


def _since(word: str, zone: Any) -> datetime:
    """A date (midnight in the team's time zone) or a date and time with its offset."""
    try:
        parsed = datetime.fromisoformat(word)
    except ValueError:
        raise CommandError(f"`{t.inline(word, 40)}` is no date.\n{EXPORT_USAGE}") from None
    if len(word) == 10:  # a date alone
        return datetime.combine(parsed.date(), time(), zone)
    if parsed.tzinfo is None:
        raise CommandError(
            f"`{t.inline(word, 40)}` has no time zone: add one (`Z`, `+01:00`).\n{EXPORT_USAGE}"
        )
    return parsed


async def _stats(services: Services, user: str, args: list[str]) -> str:
    period, whose = "today", user
    for word in args:
        if word.lower() in PERIODS:
            period = word.lower()
        elif (mentioned := _user(word)) is not None:
            whose = mentioned
        else:
            raise CommandError(f"`{t.inline(word, 40)}` is no period or person.\n{STATS_USAGE}")
    settings = services.settings
    if whose != user and not settings.is_manager(user):
        return "Only managers can see someone else's numbers; `/occ stats` shows yours."
    now = services.clock()
    since = period_start(period, now, settings.zone)
    store = services.store
    theirs = await store.decision_stats(since=since, until=now, actor=whose)
    team = await store.decision_stats(since=since, until=now)
    who = "Your" if whose == user else f"{t.mention(whose)}'s"
    when = f"{PERIODS[period]} (since {t.slack_date(since)})"
    return "\n".join(
        [
            f"*{who} numbers {when}:*",
            *person_lines(theirs),
            f"*The team {PERIODS[period]}:*",
            *team_lines(team),
        ]
    )


def _user(word: str) -> str | None:
    """A Slack user from a mention (``<@U…>``, ``<@U…|name>``) or a user ID."""
    found = USER.fullmatch(word)
    return (found.group(1) or found.group(2)) if found else None


async def _training(services: Services, user: str, args: list[str]) -> str:
    if not args:
        raise CommandError(TRAINING_USAGE)
    word, people = args[0].lower(), []
    for arg in args[1:]:
        person = _user(arg)
        if person is None:
            raise CommandError(f"`{t.inline(arg, 40)}` is no person.\n{TRAINING_USAGE}")
        people.append(person)
    if word == "start":
        return await training.start(services, user, people)
    if word == "report":
        return await training.report(services, user, people)
    raise CommandError(f"`/occ training` has no `{t.inline(args[0], 40)}`.\n{TRAINING_USAGE}")


async def _review(services: Services, user: str, args: list[str]) -> str:
    people = []
    for arg in args:
        person = _user(arg)
        if person is None:
            raise CommandError(f"`{t.inline(arg, 40)}` is no person.\n{REVIEW_USAGE}")
        people.append(person)
    return await qa_review.start(services, user, people)


async def _pulse(services: Services, user: str, args: list[str]) -> Answer:
    if args:
        raise CommandError("`/occ pulse` takes no argument: it shows Sales Pulse now.")
    return await pulse_tile.answer(services, user)


async def _cx(services: Services, user: str, args: list[str]) -> str:
    if args:
        raise CommandError(f"`/occ cx` takes no argument.\n{CX_USAGE}")
    return await cx_tile.answer(services, user)


async def _help(services: Services, user: str, args: list[str]) -> str:
    return HELP


QUEUE_USAGE = (
    "Usage: `/occ queue [band|flag]`, where a band is "
    + ", ".join(f"`{b}`" for b in BANDS)
    + " and a flag is "
    + ", ".join(f"`{f}`" for f in FLAGS)
    + "."
)
EXPORT_USAGE = (
    "Usage: `/occ export [since]`, since a date (`2026-11-30`, midnight in the team's time "
    f"zone) or a date and time with its zone (`2026-11-30T09:00Z`); the last {EXPORT_DAYS} "
    "days when left out."
)
STATS_USAGE = (
    "Usage: `/occ stats [today|week|month] [@person]`: today when left out; someone else's "
    "numbers are for managers."
)
TRAINING_USAGE = (
    "Usage: `/occ training start [@person…]` posts the training packet (3 demos, 8 exercises) "
    "for you, or for the people a manager names; `/occ training report [@person…]` shows the "
    "scores against the 80 % bar."
)
REVIEW_USAGE = (
    "Usage: `/occ review [@person…]` (managers): last week's sample of each operator's sent "
    "replies, or of the people named, to mark Good or Coach."
)
CX_USAGE = (
    "Usage: `/occ cx`: the conversations whose customer has waited past the CX SLA "
    "(`OCC_CX_SLA_MINUTES`) now, longest first."
)
USER = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|([UW][A-Z0-9]{2,})")
SUBCOMMANDS = {
    "queue": _queue,
    "stats": _stats,
    "export": _export,
    "cx": _cx,
    "training": _training,
    "review": _review,
    "pulse": _pulse,
    "help": _help,
}
