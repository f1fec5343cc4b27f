"""Pure approval-queue rules taken from the source documents (seeds/000, seeds/003).

- Confidence bands: High 90-100 %, Medium 70-89 %, Low under 70 %.
- Risk flags are computed from the customer's message and the draft's numbers, whatever risk
  the drafter declared; the draft's own text never raises a flag.
- "ALWAYS escalate": high value (> $100 by default), policy exceptions, threats (legal, bank,
  BBB, social media), technical/system issues, B2B/wholesale, and a request for a manager.
  Approving such a draft is reserved for managers. Repeat contact and an angry tone are shown
  to the operator but do not force escalation alone (demo 2's frustrated customer is an Edit).

No I/O, no clock: callers pass ``now`` and settings in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from bot.domain import Band, DraftInput, EscalationType, Risk, RiskFlag, RiskKind, Urgency

RETURN_WINDOW_DAYS = 30
QUOTE_MAX_CHARS = 60
MAX_QUOTES = 3

ALWAYS_ESCALATE: frozenset[RiskKind] = frozenset(
    {
        RiskKind.HIGH_VALUE,
        RiskKind.THREAT,
        RiskKind.POLICY_EXCEPTION,
        RiskKind.TECHNICAL,
        RiskKind.B2B,
        RiskKind.MANAGER_REQUESTED,
    }
)

TYPE_OF_KIND: Mapping[RiskKind, EscalationType] = MappingProxyType(
    {
        RiskKind.HIGH_VALUE: EscalationType.HIGH_VALUE,
        RiskKind.THREAT: EscalationType.LEGAL_THREAT,
        RiskKind.POLICY_EXCEPTION: EscalationType.POLICY_EXCEPTION,
        RiskKind.TECHNICAL: EscalationType.TECHNICAL,
        RiskKind.B2B: EscalationType.B2B,
        RiskKind.MANAGER_REQUESTED: EscalationType.OTHER,
    }
)

_RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)

_I = re.IGNORECASE

# Money: "$1,350", "$450.00", "$2.1K", "USD 90", "90 USD", "500 dollars", "US$75".
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY = re.compile(
    rf"(?:US)?\$\s?(?P<a>{_NUM})(?:\s?(?P<ak>[kK])\b)?"
    rf"|\bUSD\s?(?P<b>{_NUM})\b"
    rf"|\b(?P<c>{_NUM})\s?(?:USD|dollars?|bucks)\b",
    _I,
)

# Words that put money at stake: disputes, losses, failed purchases, returns.
_DISPUTE = re.compile(
    r"\b(?:refund\w*|money back|reimburs\w*|compensat\w*|charge ?backs?|charged|over-?charg\w*"
    r"|unauthori[sz]ed|billed|disput\w*)\b",
    _I,
)
_AT_STAKE = re.compile(
    r"\b(?:lost|missing|stolen|damaged|defective|never (?:arrived|showed up|came|received)"
    r"|(?:hasn't|has not|didn't|did not|haven't|have not) (?:arrived|come|shown up|received)"
    r"|cart|check ?out|return\w*)\b",
    _I,
)

_THREAT = re.compile(
    r"\bcharge ?backs?\b"
    r"|\bdisput\w*\s+(?:it|this|that|the (?:charges?|transaction|payment)"
    r"|with (?:my|the) (?:bank|credit card(?: company)?|card issuer))"
    r"|\bfile (?:a|an) (?:dispute|claim with my bank)"
    r"|\b(?:call|calling|contact|contacting) my (?:bank|credit card company)\b"
    r"|\bbetter business bureau\b|\bBBB\b"
    r"|\b(?:lawyers?|attorneys?|legal action|lawsuit|small claims|suing|sue (?:you|your))\b"
    r"|\b(?:take|taking) (?:you|this) to court\b"
    r"|\b(?:consumer protection|attorney general)\b"
    r"|\bsocial media\b"
    r"|\bpost(?:ing|ed)?\s+(?:about (?:this|it|you)\s+)?(?:everywhere|online|all over)"
    r"|\b(?:bad|negative|terrible|1-star|one-star|one star|1 star) reviews?\b"
    r"|\breviews? everywhere\b|\btell everyone\b",
    _I,
)

_TIME_SPAN = re.compile(
    r"(?P<pre>\b(?:more than|over|past|beyond|after)\s+)?"
    r"\b(?P<n>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"\s+(?P<unit>days?|weeks?|months?|years?)\b",
    _I,
)
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_RETURN_CONTEXT = re.compile(
    r"\b(?:return\w*|exchang\w*|send (?:it|this|them) back)\b",
    _I,
)
_EXCEPTION_ASK = re.compile(
    r"\bexceptions?\b"
    r"|\beven though it'?s been[^.!?\n]{0,30}"
    r"|\b(?:past|outside|after|beyond|missed) (?:the|your|my) (?:\d+-day )?return"
    r" (?:window|period|deadline)",
    _I,
)

_TECHNICAL = re.compile(
    r"\berror(?:\s+code)?\s*[:#]?\s*5\d\d\b"
    r"|\b5\d\d\s+(?:internal\s+)?(?:server\s+)?error\b"
    r"|\b(?:internal )?server error\b"
    r"|\bcheck ?out(?: page)?\s+(?:is\s+|was\s+|keeps\s+)?(?:down|broken|not working|failing"
    r"|fails|crash\w*|won't (?:load|work))"
    r"|\b(?:site|website|app|page)\s+(?:is\s+|was\s+|keeps\s+)?(?:down|broken|not loading"
    r"|won't load|crash\w*|not working)"
    r"|\b(?:can't|cannot|can not|couldn't|unable to|won't let me)\s+(?:complete|finish|place"
    r"|submit)\s+(?:my\s+|the\s+|an?\s+)?(?:purchase|order|checkout|payment)",
    _I,
)
_BILLING_BUG = re.compile(
    r"\b(?:charged|billed)\s+(?:me\s+)?(?:twice|two times|three times|four times"
    r"|multiple times|several times|more than once|\d+\s*(?:x|×|times)(?!\w))"
    r"|\b(?:double|triple|duplicate)[- ]?(?:charged|charges?|billed|billing)\b",
    _I,
)

_B2B = re.compile(
    r"\bwholesale\b|\bbulk (?:orders?|pricing|purchases?|discounts?|buy\w*)\b|\bB2B\b"
    r"|\bresell\w*\b|\bdistributors?\b|\bnet[- ]?(?:30|60|90)\b|\bpurchase orders?\b",
    _I,
)

_BOSS = r"(?:supervisor|manager|boss|someone in charge)"
_MANAGER = re.compile(
    rf"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:a|an|the|your)\s+(?:\w+\s+)?{_BOSS}"
    rf"|\b(?:want|need|demand|request|get|put|transfer|connect|escalate)\s+(?:me\s+)?"
    rf"(?:to\s+|through to\s+|with\s+)?(?:a|an|the|your)\s+(?:\w+\s+)?{_BOSS}"
    rf"|\b{_BOSS}\s+(?:now|please|immediately|asap)\b"
    rf"|\b{_BOSS}\s+I can (?:talk|speak)"
    r"|\bescalate (?:this|me|my (?:case|ticket|issue|complaint))\b",
    _I,
)

_REPEAT = re.compile(
    r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th)\s+time\b[^.!?\n]{0,25}?"
    r"\b(?:ask|contact|writ|email|call|messag|reach|request|chat|follow)\w*"
    r"|\b(?:contacted|asked|emailed|called|written|messaged|reached out to)\s+(?:you\s+)?"
    r"(?:twice|two times|three times|several times|multiple times|many times|\d+ times)"
    r"|\bagain and again\b|\bover and over\b"
    r"|\bstill (?:no|haven't (?:gotten|received) (?:an?|any)) (?:answer|reply|response|help)"
    r"|\bstill (?:haven't|have not) heard back\b"
    r"|\bhow many times\b"
    r"|\balready (?:contacted|asked|emailed|called|written|messaged)\b",
    _I,
)

_ANGRY_WORDS = re.compile(
    r"\b(?:unacceptable|ridiculous|frustrat\w*|furious|livid|angry|outrage\w*|disgust\w*"
    r"|terrible|horrible|awful|worst|unprofessional|incompetent|pathetic|scam\w*|fed up"
    r"|sick of|are you kidding|are you serious|zero help|waste of (?:time|money))\b",
    _I,
)
# "?!" reads as outrage; plain "!" does not (excited customers use it too, exercise 2).
_INTERROBANG = re.compile(r"[\w']+\s*(?:\?!|!\?)[?!]*")
_CAPS_RUN = re.compile(r"\b[A-Z]{2}[A-Z']*(?:[ ,]+[A-Z][A-Z']*\b)*")
_CAPS_WORD = re.compile(r"[A-Z][A-Z']*")
_ACRONYMS = frozenset(
    {
        "USA",
        "USPS",
        "UPS",
        "DHL",
        "FEDEX",
        "SKU",
        "BBB",
        "API",
        "URL",
        "FAQ",
        "CEO",
        "ASAP",
        "PDF",
        "XXL",
        "USD",
        "EUR",
        "GBP",
        "CAD",
        "LLC",
        "INC",
        "SMS",
        "VIP",
        "RMA",
        "DOA",
    }
)
_MIN_SHOUTED_WORDS = 2


def confidence_band(confidence: float) -> Band:
    """High at 0.90 and above, Medium at 0.70 and above, Low below (no rounding up)."""
    if math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
        raise ValueError(f"confidence must be within 0..1, got {confidence!r}")
    if confidence >= 0.90:
        return Band.HIGH
    if confidence >= 0.70:
        return Band.MEDIUM
    return Band.LOW


# A draft the rules send to a manager is never "approve as-is" material (Low band), and any
# other risk flag means a person must read it closely (never the High band).
MANAGER_CEILING = 0.69
FLAGGED_CEILING = 0.89


def calibrated(confidence: float, flags: tuple[RiskFlag, ...]) -> float:
    """The drafter's confidence, capped by what the risk rules found in the message."""
    if requires_manager(flags):
        return min(confidence, MANAGER_CEILING)
    if flags:
        return min(confidence, FLAGGED_CEILING)
    return confidence


def money_amounts(text: str) -> list[float]:
    """Dollar amounts written in ``text`` ($1,350 / $450.00 / 500 dollars / USD 90), in order."""
    return [value for _, value in _money_matches(text)]


def risk_flags(draft: DraftInput, *, high_value_usd: float) -> tuple[RiskFlag, ...]:
    """Risk flags from the customer's message and the draft's numbers, in RiskKind order.

    Args:
        draft: the incoming draft; only ``customer_message``, ``amount_usd`` and ``order``
            are read, never the drafted reply or its declared risk.
        high_value_usd: money at stake strictly above this raises HIGH_VALUE.
    """
    message = _normalize(draft.customer_message)
    found = {
        RiskKind.HIGH_VALUE: _high_value(draft, message, high_value_usd),
        RiskKind.THREAT: _quoted("threat", _THREAT, message),
        RiskKind.POLICY_EXCEPTION: _policy_exception(message),
        RiskKind.TECHNICAL: _technical(message),
        RiskKind.B2B: _quoted("B2B/wholesale", _B2B, message),
        RiskKind.MANAGER_REQUESTED: _quoted("asks for a manager", _MANAGER, message),
        RiskKind.REPEAT_CONTACT: _quoted("repeat contact", _REPEAT, message),
        RiskKind.ANGRY_TONE: _angry_tone(message),
    }
    return tuple(RiskFlag(kind, reason) for kind, reason in found.items() if reason)


def requires_manager(flags: Iterable[RiskFlag]) -> bool:
    """True when any flag is on the ALWAYS-escalate list (approving is for managers)."""
    return any(flag.kind in ALWAYS_ESCALATE for flag in flags)


def overall_risk(declared: Risk, flags: Iterable[RiskFlag]) -> Risk:
    """The higher of the declared risk and the flags' (HIGH if forcing, MEDIUM if advisory)."""
    kinds = {flag.kind for flag in flags}
    if kinds & ALWAYS_ESCALATE:
        computed = Risk.HIGH
    elif kinds:
        computed = Risk.MEDIUM
    else:
        computed = Risk.LOW
    return max(declared, computed, key=_RISK_ORDER.index)


def suggested_escalation_type(flags: Iterable[RiskFlag]) -> EscalationType:
    """The type pre-selected in the Escalate modal.

    A threat makes it a manager's money or legal case first (demo 3: "High-Value Issue +
    Legal/Regulatory Threat" although a billing bug is involved); otherwise a technical fault
    goes to engineering (exercise 7), then exceptions, B2B and plain high value.
    """
    kinds = {flag.kind for flag in flags}
    if RiskKind.THREAT in kinds:
        if RiskKind.HIGH_VALUE in kinds:
            return EscalationType.HIGH_VALUE
        return EscalationType.LEGAL_THREAT
    for kind in (
        RiskKind.TECHNICAL,
        RiskKind.POLICY_EXCEPTION,
        RiskKind.B2B,
        RiskKind.HIGH_VALUE,
    ):
        if kind in kinds:
            return TYPE_OF_KIND[kind]
    return EscalationType.OTHER


def suggested_urgency(flags: Iterable[RiskFlag]) -> Urgency:
    """URGENT for a threat, high value with anger or repeat contact, or several forcing flags;
    HIGH for one forcing flag; NORMAL otherwise."""
    kinds = {flag.kind for flag in flags}
    forcing = kinds & ALWAYS_ESCALATE
    upset = kinds & {RiskKind.ANGRY_TONE, RiskKind.REPEAT_CONTACT}
    if RiskKind.THREAT in kinds or len(forcing) >= 2:
        return Urgency.URGENT
    if RiskKind.HIGH_VALUE in kinds and upset:
        return Urgency.URGENT
    if forcing:
        return Urgency.HIGH
    return Urgency.NORMAL


# --- helpers ---------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _money_matches(text: str) -> list[tuple[str, float]]:
    found = []
    for match in _MONEY.finditer(text):
        raw = match.group("a") or match.group("b") or match.group("c")
        value = float(raw.replace(",", ""))
        if match.group("ak"):
            value *= 1000
        found.append((match.group(0).strip(), value))
    return found


def _usd(value: float) -> str:
    if value == int(value):
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > QUOTE_MAX_CHARS:
        text = text[: QUOTE_MAX_CHARS - 1].rstrip() + "…"
    return f'"{text}"'


def _quotes(snippets: Iterable[str]) -> str:
    seen: list[str] = []
    for snippet in snippets:
        quoted = _quote(snippet)
        if quoted.lower() not in (s.lower() for s in seen):
            seen.append(quoted)
    return ", ".join(seen[:MAX_QUOTES])


def _quoted(label: str, pattern: re.Pattern[str], message: str) -> str | None:
    snippets = [m.group(0) for m in pattern.finditer(message)]
    return f"{label}: {_quotes(snippets)}" if snippets else None


def _high_value(draft: DraftInput, message: str, threshold: float) -> str | None:
    # (amount, preference on a tie, where it came from): the customer's own words quote best.
    candidates: list[tuple[float, int, str]] = []
    if draft.amount_usd is not None:
        candidates.append((draft.amount_usd, 0, "amount at stake on the draft"))
    dispute = _DISPUTE.search(message)
    order = draft.order
    if order is not None and order.value_usd is not None and dispute:
        name = f"order #{order.id}" if order.id else "the order"
        source = f"{name} value, with {_quote(dispute.group(0))} in the message"
        candidates.append((order.value_usd, 1, source))
    if dispute or _AT_STAKE.search(message):
        candidates.extend(
            (value, 2, f"{_quote(raw)} in the message") for raw, value in _money_matches(message)
        )
    over = [c for c in candidates if c[0] > threshold]
    if not over:
        return None
    value, _, source = max(over)
    return f"{_usd(value)} at stake (over {_usd(threshold)}): {source}"


def _span_days(match: re.Match[str]) -> int:
    raw = match.group("n").lower()
    count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
    unit = match.group("unit").lower().rstrip("s")
    return count * _UNIT_DAYS[unit]


def _policy_exception(message: str) -> str | None:
    parts: list[str] = []
    if _RETURN_CONTEXT.search(message):
        for match in _TIME_SPAN.finditer(message):
            days = _span_days(match)
            at_least = match.group("pre") and match.group("pre").strip().lower() != "after"
            if days > RETURN_WINDOW_DAYS or (at_least and days >= RETURN_WINDOW_DAYS):
                parts.append(
                    f"return after {days} days, past the {RETURN_WINDOW_DAYS}-day window "
                    f"({_quote(match.group(0))})"
                )
                break
    asks = [m.group(0) for m in _EXCEPTION_ASK.finditer(message)]
    if asks:
        parts.append(f"asks for an exception ({_quotes(asks)})")
    return "policy exception: " + "; ".join(parts) if parts else None


def _technical(message: str) -> str | None:
    parts = []
    fault = [m.group(0) for m in _TECHNICAL.finditer(message)]
    if fault:
        parts.append(f"technical: {_quotes(fault)}")
    billing = [m.group(0) for m in _BILLING_BUG.finditer(message)]
    if billing:
        parts.append(f"billing bug: {_quotes(billing)}")
    return "; ".join(parts) or None


def _angry_tone(message: str) -> str | None:
    words = sorted(
        (m.start(), m.group(0))
        for pattern in (_ANGRY_WORDS, _INTERROBANG)
        for m in pattern.finditer(message)
    )
    runs: list[str] = []
    shouted = 0
    for run in _CAPS_RUN.finditer(message):
        loud = [
            word
            for word in _CAPS_WORD.findall(run.group(0))
            if len(word.replace("'", "")) >= 3 and word not in _ACRONYMS
        ]
        if loud:
            shouted += len(loud)
            runs.append(run.group(0).strip(" ,"))
    parts = []
    if words:
        parts.append(f"angry tone: {_quotes(text for _, text in words)}")
    if shouted >= _MIN_SHOUTED_WORDS:
        parts.append(f"shouting: {_quotes(runs)}")
    return "; ".join(parts) or None
