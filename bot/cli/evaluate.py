"""`occ-bot eval`: how good the configured drafter's drafts are, by the numbers that matter.

Over the scenario packet (the training guide's demos and exercises, each with the decision
the training expects), each customer message is drafted as the bot would draft it, and:

- **retrieval hit rate**: the first article the drafter cites is one the scenario cites
  (scenarios that cite none are left out);
- **agreement**: the decision the bot's own rules point to for the draft (escalate when the
  risk rules require a manager, approve as-is in the High confidence band, otherwise edit)
  is the one the training expects;
- **abstention rate**: drafts the drafter declined to write (for agreement, an abstention
  is the operator writing the reply: "edit");
- **calibration**, by confidence band: on the packet, how often the expected decision is
  "approve as-is"; over past decisions in the decision log (when there are any), how often
  operators sent the draft unedited (``draft.approved`` against ``draft.edited``).

Over a **held-out set of past decisions** (the newest fifth of the decided drafts), each
customer message is drafted again, learning only from the decisions before it, and scored
the same way against what the operator did: agreement, abstention, and by the new draft's
band, how often the operator sent the draft unedited.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from typing import Any, TextIO

from bot.config import Settings
from bot.domain import Band, DecisionKind, DraftInput
from bot.drafting.base import Drafter, Proposal
from bot.drafting.context import NO_CONTEXT, DraftingContext, OrderLookup
from bot.drafting.examples import learned
from bot.rules.risk import calibrated, confidence_band, requires_manager, risk_flags
from bot.scenarios import Scenario, load_packet
from bot.store import Store

BANDS = (Band.HIGH, Band.MEDIUM, Band.LOW)
# The newest share of past decisions (of at most the pool) the drafter is scored on.
HELD_OUT_SHARE = 0.2
HELD_OUT_POOL = 1000
SENT = {"draft.approved": "unedited", "draft.edited": "edited"}


@dataclass(frozen=True)
class Drafted:
    key: str
    expected: str
    predicted: str
    band: str
    confidence: float
    cited: str | None  # the first article the drafter cites
    expected_articles: tuple[str, ...]
    abstained: bool = False

    @property
    def hit(self) -> bool | None:
        if not self.expected_articles:
            return None
        return self.cited is not None and _same(self.cited, self.expected_articles)


async def evaluate(settings: Settings, drafter: Drafter, store: Store | None) -> dict[str, Any]:
    rows = [await _draft(settings, drafter, scenario) for scenario in load_packet()]
    judged = [row for row in rows if row.hit is not None]
    report: dict[str, Any] = {
        "drafter": getattr(drafter, "agent", type(drafter).__name__),
        "scenarios": len(rows),
        "retrieval_hit_rate": _share(sum(bool(r.hit) for r in judged), len(judged)),
        "retrieval_judged": len(judged),
        "agreement": _share(sum(r.predicted == r.expected for r in rows), len(rows)),
        "abstention_rate": _share(sum(r.abstained for r in rows), len(rows)),
        "calibration": _packet_calibration(rows),
        "past_decisions": await _past_calibration(store) if store is not None else {},
        "held_out": await _held_out(settings, drafter, store) if store is not None else {},
        "rows": [asdict(r) | {"hit": r.hit} for r in rows],
    }
    return report


async def _draft(settings: Settings, drafter: Drafter, scenario: Scenario) -> Drafted:
    data = scenario.draft
    predicted, band, confidence, proposal = await _predict(settings, drafter, data, NO_CONTEXT)
    return Drafted(
        key=scenario.key,
        expected=scenario.expected.decision.value,
        predicted=predicted.value,
        band=band.value,
        confidence=confidence,
        cited=proposal.kb_sources[0].title if proposal.kb_sources else None,
        expected_articles=tuple(source.title for source in data.kb_sources),
        abstained=proposal.abstained is not None,
    )


async def _predict(
    settings: Settings, drafter: Drafter, data: DraftInput, context: DraftingContext
) -> tuple[DecisionKind, Band, float, Proposal]:
    """Draft the message; the decision the bot's rules point to, the band and confidence."""
    name = data.customer.name if data.customer else None
    proposal = await drafter.draft(
        customer_name=name, message=data.customer_message, context=context
    )
    drafted = replace(data, draft=proposal.text, confidence=proposal.confidence)
    flags = risk_flags(drafted, high_value_usd=settings.high_value_usd)
    confidence = calibrated(proposal.confidence, flags)  # as the bot stores it
    band = confidence_band(confidence)
    if requires_manager(flags):
        predicted = DecisionKind.ESCALATE
    elif band is Band.HIGH and proposal.abstained is None:
        predicted = DecisionKind.APPROVE
    else:  # an abstention too: the operator writes the reply
        predicted = DecisionKind.EDIT
    return predicted, band, confidence, proposal


async def _held_out(settings: Settings, drafter: Drafter, store: Store) -> dict[str, Any]:
    """The newest decisions, held out: each message drafted again, learning only from the
    decisions before it, and compared with what the operator did."""
    decided = await store.decided_drafts(HELD_OUT_POOL)  # newest first
    if not decided:
        return {}
    held = decided[: max(1, round(len(decided) * HELD_OUT_SHARE))]
    older = decided[len(held) :]
    agree = abstained = 0
    bands: dict[str, Counter[str]] = defaultdict(Counter)
    for draft in held:
        assert draft.decision is not None
        examples, avoid = learned(draft.input.customer_message, older)
        context = DraftingContext(
            order=draft.input.order_facts,
            order_lookup=OrderLookup.FOUND if draft.input.order_facts else OrderLookup.UNAVAILABLE,
            examples=examples,
            avoid=avoid,
        )
        predicted, band, _, proposal = await _predict(settings, drafter, draft.input, context)
        agree += predicted is draft.decision.kind
        abstained += proposal.abstained is not None
        if draft.decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
            bands[band.value]["sent"] += 1
            bands[band.value]["unedited"] += draft.decision.kind is DecisionKind.APPROVE
    return {
        "decisions": len(held),
        "agreement": _share(agree, len(held)),
        "abstention_rate": _share(abstained, len(held)),
        "calibration": {
            band.value: {
                "sent": bands[band.value]["sent"],
                "unedited": _share(bands[band.value]["unedited"], bands[band.value]["sent"]),
            }
            for band in BANDS
            if bands[band.value]["sent"]
        },
    }


def _packet_calibration(rows: list[Drafted]) -> dict[str, dict[str, Any]]:
    table = {}
    for band in BANDS:
        inside = [r for r in rows if r.band == band.value]
        approve = sum(r.expected == DecisionKind.APPROVE.value for r in inside)
        table[band.value] = {
            "drafts": len(inside),
            "expected_approve": _share(approve, len(inside)),
        }
    return table


async def _past_calibration(store: Store) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in await store.entries():
        kind = SENT.get(str(entry.action))
        band = entry.payload.get("band") if isinstance(entry.payload, dict) else None
        if kind is None or band is None or entry.scope.value != "cx":
            continue
        counts[band][kind] += 1
    table = {}
    for band in BANDS:
        seen = counts.get(band.value, Counter())
        sent = seen["unedited"] + seen["edited"]
        if sent:
            table[band.value] = {"sent": sent, "unedited": _share(seen["unedited"], sent)}
    return table


def write_report(report: dict[str, Any], out: TextIO, *, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out.write(f"drafter: {report['drafter']}, {report['scenarios']} scenarios\n")
    out.write(
        f"retrieval hit rate {_pct(report['retrieval_hit_rate'])} "
        f"(of {report['retrieval_judged']} that cite an article), agreement with the expected "
        f"decision {_pct(report['agreement'])}, abstention rate "
        f"{_pct(report['abstention_rate'])}\n\n"
    )
    out.write(f"{'band':<8}{'drafts':>8}{'expected approve':>18}")
    past = report["past_decisions"]
    out.write(f"{'sent':>8}{'sent unedited':>15}\n" if past else "\n")
    for band, row in report["calibration"].items():
        out.write(f"{band:<8}{row['drafts']:>8}{_pct(row['expected_approve']):>18}")
        if past:
            seen = past.get(band, {"sent": 0, "unedited": None})
            out.write(f"{seen['sent']:>8}{_pct(seen['unedited']):>15}")
        out.write("\n")
    held = report.get("held_out")
    if held:
        out.write(
            f"\nheld-out past decisions: {held['decisions']}, agreement with the operator "
            f"{_pct(held['agreement'])}, abstention rate {_pct(held['abstention_rate'])}\n"
        )
        for band, row in held["calibration"].items():
            out.write(f"  {band:<8} sent {row['sent']:>5}, unedited {_pct(row['unedited'])}\n")


def _same(title: str, expected: tuple[str, ...]) -> bool:
    """An article title matches the scenario's when one contains the other, ignoring case
    and a trailing word like "Policy" or "Guide" (the packet and the KB name them a little
    differently)."""
    found = _core(title)
    return any(found in _core(e) or _core(e) in found for e in expected)


def _core(title: str) -> str:
    words = [w for w in title.lower().split() if w not in {"policy", "guide", "faq"}]
    return " ".join(words)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
