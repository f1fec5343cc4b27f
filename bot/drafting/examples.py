"""Learning from operators: their decisions on similar past messages become the drafter's
examples (what they sent, their own edits first) and mistakes to avoid (what they rejected,
and why); their sent replies also become chat fine-tuning data.

Similarity is the cosine of the two messages' sets of content words: cheap enough to run
over the recent decisions for every draft, and good enough to find "same question" messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.domain import RESOLVED_REASONS, DecisionKind, Draft
from bot.drafting.context import Avoid, Example

# The decisions each draft looks through, newest first.
RECENT_DECISIONS = 200
EXAMPLES = 3
AVOID = 2
MIN_SIMILARITY = 0.3
# An operator's own wording counts for more than a draft they let through.
EDITED_WEIGHT = 1.25

_WORD = re.compile(r"[a-z0-9']{3,}")
# fmt: off
_STOPWORDS = frozenset((
    "the", "and", "for", "you", "your", "are", "was", "were", "this", "that", "with", "have",
    "has", "had", "but", "not", "can", "could", "would", "should", "will", "just", "from",
    "they", "them", "their", "there", "what", "when", "where", "which", "who", "why", "how",
    "all", "any", "our", "out", "get", "got", "its", "it's", "i'm", "i've", "don't", "didn't",
    "please", "thanks", "thank", "hello", "hey", "also", "some",
))
# fmt: on


def content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def learned(
    message: str, decided: Sequence[Draft]
) -> tuple[tuple[Example, ...], tuple[Avoid, ...]]:
    """The examples and the mistakes to avoid for a message, from decided drafts."""
    words = content_words(message)
    examples: list[tuple[float, Example]] = []
    avoid: list[tuple[float, Avoid]] = []
    for draft in decided:
        decision = draft.decision
        if decision is None:
            continue
        score = similarity(words, content_words(draft.input.customer_message))
        if score < MIN_SIMILARITY:
            continue
        if decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
            example = sent_example(draft)
            if example is not None:
                examples.append((score * (EDITED_WEIGHT if example.edited else 1), example))
        elif decision.kind is DecisionKind.REJECT and decision.reason not in RESOLVED_REASONS:
            reason = decision.reason.value.replace("_", " ") if decision.reason else "rejected"
            if decision.notes:
                reason += f": {decision.notes}"
            avoid.append((score, Avoid(draft.input.customer_message, draft.input.draft, reason)))
    examples.sort(key=lambda pair: -pair[0])
    avoid.sort(key=lambda pair: -pair[0])
    return (
        tuple(example for _, example in examples[:EXAMPLES]),
        tuple(item for _, item in avoid[:AVOID]),
    )


def sent_example(draft: Draft) -> Example | None:
    """What the operator sent for an approved or edited draft."""
    decision = draft.decision
    if decision is None or decision.kind not in (DecisionKind.APPROVE, DecisionKind.EDIT):
        return None
    final = decision.final_text if decision.final_text is not None else draft.input.draft
    edited = decision.kind is DecisionKind.EDIT and final.strip() != draft.input.draft.strip()
    return Example(draft.input.customer_message, final, edited)
