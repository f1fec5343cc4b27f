"""What became of everything the soak sent, once traffic has settled: from the database (the
decision log, the drafts) and from what the stand-ins received (Slack's posts, Chatwoot's
messages), never from the replicas' own word.

- **lost**: a click acknowledged with 200 (Approve, an Escalate submission, a Claim) with no
  row of that decision by that person, nor a refusal they were told of (``draft.refused``,
  ``escalation.refused``, or for a Claim the "not recorded" message while the database was
  down). A decision kept in a spool counts once it is applied, not when it is queued.
- **doubled**: a draft decided twice, an escalation claimed twice, a reply logged as sent
  twice or seen twice by the customer, and any message (card, escalation, reminder, Sales
  Pulse alert or its clearing note) posted twice under one metadata id.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import psycopg

from bench.e2e import percentile
from bench.soak_clicks import Click
from bench.soak_faults import Faults
from bench.soak_traffic import Traffic

DECIDES = {
    "approve": "draft.approved",
    "escalate": "draft.escalated",
    "claim": "escalation.claimed",
}
REFUSES = {"approve": "draft.refused", "escalate": "draft.refused", "claim": "escalation.refused"}
DRAFT_DECISIONS = ("draft.approved", "draft.edited", "draft.rejected", "draft.escalated")
NOT_RECORDED = "was not recorded"  # what a Claim the database could not take is answered
POSTED_KINDS = {
    "occ_card": "cards",
    "occ_escalation": "escalation messages",
    "occ_reminder": "reminders",
    "occ_sales_message": "Sales Pulse alerts",
    "occ_sales_clear": "Sales Pulse clearing notes",
}
INCIDENT_MARGIN_SECONDS = 60.0  # an incident this long after a fault ended is still its
DEPENDENCY = {"postgres": "database", "chatwoot": "chatwoot"}  # a killed replica: none


def _read_database(url: str) -> dict[str, Any]:
    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute(
            "select subject_id, action, actor, outcome, extract(epoch from created_at)"
            " from decision_log where action = any(%s)",
            (
                [
                    *DRAFT_DECISIONS,
                    "draft.refused",
                    "escalation.claimed",
                    "escalation.refused",
                    "escalation.reminded",
                    "reply.sent",
                    "reliability.alert",
                    "reliability.recovered",
                ],
            ),
        ).fetchall()
        drafts = conn.execute(
            "select id, conversation_id, state, decided_by, decision_kind from drafts"
        ).fetchall()
        runs = conn.execute(
            "select outcome, runner, detail from job_runs where job = 'sales-pulse'"
        ).fetchall()
    return {"rows": rows, "drafts": drafts, "sales_runs": runs}


async def verdict(database_url: str, traffic: Traffic, faults: Faults, t0: float) -> dict[str, Any]:
    found = await asyncio.to_thread(_read_database, database_url)
    tally = await traffic.standins.tally()
    rows = found["rows"]
    by_subject: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for subject, action, actor, outcome, _ in rows:
        by_subject[(subject, action)].append((actor, outcome))
    decisions = [c for c in traffic.clicks if c.kind in DECIDES]
    acked = [c for c in decisions if c.acked is not None]
    lost = [c for c in acked if not _accounted_for(c, by_subject)]
    result: dict[str, Any] = {
        "clicks": _clicks(decisions, acked),
        "lost": {"count": len(lost), "examples": [c.as_dict() for c in lost[:20]]},
        "doubled": _doubled(rows, tally),
        "customers": _customers(traffic, found["drafts"], tally),
        "latency": await _latency(traffic, faults, by_subject, t0),
        "incidents": _incidents(rows, faults, t0, tally),
        "escalations": {
            "escalated": len(traffic.seen.escalations),
            "reminded": len(traffic.seen.reminded),
            "claimed": len({s for s, a, _, o, _ in rows if a == "escalation.claimed"}),
            "reminders_logged": sum(
                1 for _, a, _, o, _ in rows if a == "escalation.reminded" and o == "success"
            ),
            "modals_not_opened": traffic.modals_not_opened,
        },
        "sales": {
            "runs": dict(Counter(outcome for outcome, *_ in found["sales_runs"])),
            "replicas_that_ran_it": len({runner for _, runner, _ in found["sales_runs"]}),
            "stock_changes": len(traffic.stock_changes),
            **{
                name: tally["kinds"].get(kind, {}).get("distinct", 0)
                for kind, name in POSTED_KINDS.items()
                if kind.startswith("occ_sales")
            },
        },
    }
    return result


def _accounted_for(click: Click, by_subject: dict[tuple[str, str], list[tuple[str, str]]]) -> bool:
    decided = by_subject.get((click.subject, DECIDES[click.kind]), [])
    if any(actor == click.user and outcome == "success" for actor, outcome in decided):
        return True
    refused = by_subject.get((click.subject, REFUSES[click.kind]), [])
    if any(actor == click.user for actor, _ in refused):
        return True
    return click.kind == "claim" and NOT_RECORDED in (click.ephemeral or "")


def _clicks(decisions: list[Click], acked: list[Click]) -> dict[str, Any]:
    kinds = Counter(c.kind for c in decisions)
    retried = [c for c in decisions if len(c.attempts) > 1]
    return {
        "decisions": dict(kinds),
        "acknowledged": len(acked),
        "never_acknowledged": len(decisions) - len(acked),
        "clicked_again_after_an_error": len(retried),
        "errors_seen": dict(
            Counter(
                str(a.status or a.error) for c in decisions for a in c.attempts if a.status != 200
            )
        ),
        "double_clicked_cards": sum(1 for c in decisions if c.second),
        "told_something": sum(1 for c in acked if c.seen == "ephemeral"),
        "saw_nothing_within_wait": sum(1 for c in acked if not c.seen),
    }


def _doubled(rows: list[tuple[Any, ...]], tally: dict[str, Any]) -> dict[str, Any]:
    per_draft = Counter(s for s, a, _, o, _ in rows if a in DRAFT_DECISIONS and o == "success")
    claims = Counter(s for s, a, _, o, _ in rows if a == "escalation.claimed" and o == "success")
    sent = Counter(s for s, a, _, o, _ in rows if a == "reply.sent" and o == "success")
    posts = {
        name: {
            "posted": tally["kinds"].get(kind, {}).get("posts", 0),
            "posted_twice": tally["kinds"].get(kind, {}).get("posted_twice_count", 0),
            "shown_twice": tally["kinds"].get(kind, {}).get("shown_twice_count", 0),
        }
        for kind, name in POSTED_KINDS.items()
    }
    counts = {
        "drafts decided twice": sum(1 for n in per_draft.values() if n > 1),
        "escalations claimed twice": sum(1 for n in claims.values() if n > 1),
        "replies logged as sent twice": sum(1 for n in sent.values() if n > 1),
        "replies the customer got twice": len(tally["conversations_replied_twice"]),
        "private notes written twice": tally["private_notes_twice"],
        **{f"{name} posted twice": p["posted_twice"] for name, p in posts.items()},
    }
    return {"count": sum(counts.values()), "by_kind": counts, "posts": posts}


def _customers(
    traffic: Traffic, drafts: list[tuple[Any, ...]], tally: dict[str, Any]
) -> dict[str, Any]:
    delivered = {w.conversation for w in traffic.webhooks if w.delivered}
    drafted = {conversation for _, conversation, *_ in drafts}
    carded = {d for d in traffic.seen.cards}
    approved = {conversation for _, conversation, state, *_ in drafts if state == "approved"}
    replied = {int(c) for c in tally["replies"]}
    first_try = sum(1 for w in traffic.webhooks if w.attempts and _ok(w.attempts[0][1]))
    return {
        "messages": len(traffic.webhooks),
        "webhooks_delivered_first_time": first_try,
        "webhooks_delivered_after_retries": len(delivered) - first_try,
        "webhooks_never_delivered": len(traffic.webhooks) - len(delivered),
        "messages_without_a_draft": len(delivered - drafted),
        "cards": len(carded),
        "approved": len(approved),
        "approved_without_a_reply": len(approved - replied),
    }


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


async def _latency(
    traffic: Traffic,
    faults: Faults,
    by_subject: dict[tuple[str, str], list[tuple[str, str]]],
    t0: float,
) -> dict[str, Any]:
    """Click → card shows the reply sent, for each Approve that won, from its first try."""
    won = [
        c
        for c in traffic.clicks
        if c.kind == "approve"
        and any(
            actor == c.user and o == "success"
            for actor, o in by_subject.get((c.subject, "draft.approved"), [])
        )
    ]
    times = await traffic.standins.card_times([(c.channel, c.ts) for c in won])
    split: dict[str, list[float]] = {"outside faults": [], "during faults": []}
    by_kind: dict[str, list[float]] = {}
    never = []
    outside: list[tuple[float, float]] = []  # (seconds into the run, ms) to explain the tail
    for click in won:
        shown = times["card_sent_at"].get(f"{click.channel}/{click.ts}")
        if shown is None:
            never.append(click.subject)
            continue
        kinds, waited = faults.kinds_at(click.first_sent), (shown - click.first_sent) * 1000
        split["during faults" if kinds else "outside faults"].append(waited)
        if not kinds:
            outside.append((round(click.first_sent - t0, 1), round(waited)))
        for kind in kinds:
            by_kind.setdefault(kind, []).append(waited)
    return {
        "approvals": len(won),
        "card_never_shown_sent": len(never),
        "card_never_shown_sent_drafts": never[:20],
        **{key: _dist(values) for key, values in split.items()},
        "by_fault": {kind: _dist(values) for kind, values in sorted(by_kind.items())},
        "slowest_outside_faults": sorted(outside, key=lambda c: -c[1])[:3],
    }


def _dist(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"clicks": 0}
    return {
        "clicks": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


def _incidents(
    rows: list[tuple[Any, ...]], faults: Faults, t0: float, tally: dict[str, Any]
) -> dict[str, Any]:
    """Each fault with the incidents of its dependency raised while it was on (or within
    `INCIDENT_MARGIN_SECONDS` after); every other incident, with when."""
    raised = sorted(
        (float(at), action, subject)
        for subject, action, _, _, at in rows
        if action in ("reliability.alert", "reliability.recovered")
    )
    matched: set[int] = set()
    per_fault = []
    for fault in faults.injected:
        end = (fault.ended or fault.started) + INCIDENT_MARGIN_SECONDS
        dependency = DEPENDENCY.get(fault.kind)
        mine = [
            i
            for i, (at, _, subject) in enumerate(raised)
            if subject == dependency and fault.started - 1 <= at <= end and i not in matched
        ]
        matched.update(mine)
        per_fault.append(
            fault.as_dict(t0)
            | {
                "expected": dependency or "none",
                "alerts": sum(1 for i in mine if raised[i][1] == "reliability.alert"),
                "recoveries": sum(1 for i in mine if raised[i][1] == "reliability.recovered"),
            }
        )
    other = [
        {"at_s": round(at - t0, 1), "action": action, "subject": subject}
        for i, (at, action, subject) in enumerate(raised)
        if i not in matched
    ]
    return {
        "faults": per_fault,
        "alerts": sum(1 for _, a, _ in raised if a == "reliability.alert"),
        "recoveries": sum(1 for _, a, _ in raised if a == "reliability.recovered"),
        "other": other,
        "reliability_channel_messages": len(tally["reliability_messages"]),
    }
