"""Click → card updated, as an operator sees it: Approve clicked, until the card shows it sent.

Operators click one card at a time: each sends a signed Approve click on one of its own
drafts, waits until the Slack stand-in has received the `chat.update` that shows that card
sent (the final state, not the "sending" one; the stand-in wakes the wait, no polling), and
clicks its next draft straight away. First 1 operator, then 20 operators at once (so at most
20 clicks in flight, each on a distinct draft), on the `occ-bot serve` process.

Latency = the stand-in's receipt time of the card's first `chat.update` showing it sent −
the client's clock just before the click went out: the same two clocks as the end-to-end
"click→card shows sent" column (`bench/e2e.py`). Also kept: the time to the card's first
`chat.update` (the decision shown, reply still sending) and the click's acknowledgement.
Each operator approves one draft first, unmeasured (its users.info, the pools).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import profile
from bench.common import operator
from bench.e2e import Click, clicker, percentile, send_click
from bench.occ import OccBot, click_request, draft_payload
from bench.procs import cpu_of_command, machine_cpu
from bench.standins_client import Standins

OPERATOR_LEVELS = (1, 20)
CARD_WAIT_SECONDS = 30.0  # per click; a card not sent by then fails the run
DRAIN_SECONDS = 60.0
LEVEL_STRIDE = 5_000  # conversation ids per operator level within a run (> clicks + warm-up)


async def _operate(url: str, standins: Standins, clicks: list[Click], operators: int) -> None:
    """Click `clicks` as `operators` operators, each waiting for its card before its next
    click; click i belongs to operator i mod `operators` (its `user` in the signed body)."""
    async with clicker(operators) as http:

        async def one_operator(mine: list[Click]) -> None:
            for click in mine:
                assert click.draft.card is not None
                await send_click(http, url, click)
                if click.status != 200:
                    continue  # counted as non-200; its card will not change
                card = (click.draft.card.channel, click.draft.card.ts)
                if await standins.wait_cards_sent([card], CARD_WAIT_SECONDS, session=http):
                    raise RuntimeError(
                        f"card of {click.draft.id} not shown sent within {CARD_WAIT_SECONDS} s"
                    )

        await asyncio.gather(*(one_operator(clicks[k::operators]) for k in range(operators)))


def _clicks(drafts: list[Any], operators: int) -> list[Click]:
    users = [operator(k + 1)[0] for k in range(operators)]
    return [Click(d, *click_request(d, users[i % operators])) for i, d in enumerate(drafts)]


def _dist(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
        "mean_ms": round(statistics.fmean(values), 1),
    }


async def one_setting(
    occ: OccBot,
    standins: Standins,
    template: dict[str, Any],
    *,
    operators: int,
    clicks: int,
    first_conversation: int,
    tag: str,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """`clicks` approvals by `operators` operators; per-click times and the summary. With
    `profile_to`, py-spy samples occ-bot during the measured clicks."""
    payloads = [
        draft_payload(template, first_conversation + i, tag) for i in range(operators + clicks)
    ]
    drafts = await occ.posted_drafts(payloads)
    warm, measured = _clicks(drafts[:operators], operators), _clicks(drafts[operators:], operators)
    await occ.wait_drained(DRAIN_SECONDS)
    await _operate(occ.events_url, standins, warm, operators)
    await occ.wait_drained(DRAIN_SECONDS)
    sampling = profile.record(occ.child.pid, profile_to) if profile_to else contextlib.nullcontext()
    async with sampling:
        cpu = occ.child.cpu_seconds(), standins.child.cpu_seconds(), cpu_of_command("postgres")
        machine, client = machine_cpu(), time.process_time()
        started = time.time()
        await _operate(occ.events_url, standins, measured, operators)
        done = time.time()
    server_cpu = occ.child.cpu_seconds() - cpu[0]
    standins_cpu = standins.child.cpu_seconds() - cpu[1]
    postgres_cpu = cpu_of_command("postgres") - cpu[2]
    client_cpu = time.process_time() - client
    busy, total = (now - then for now, then in zip(machine_cpu(), machine, strict=True))
    cards = [(c.draft.card.channel, c.draft.card.ts) for c in measured if c.draft.card]
    times = await standins.card_times(cards)
    state = await standins.status([c.draft.input.conversation_id for c in measured], cards)
    acked = [c for c in measured if c.status == 200]
    to_sent, to_first = [], []
    for click in acked:
        assert click.draft.card is not None
        key = f"{click.draft.card.channel}/{click.draft.card.ts}"
        to_sent.append((times["card_sent_at"][key] - click.sent_at) * 1000)
        to_first.append((times["first_update_at"][key] - click.sent_at) * 1000)
    if not to_sent:
        raise RuntimeError(f"no click acknowledged with 200 ({tag})")
    window = done - started
    result = {
        "operators": operators,
        "clicks": clicks,
        "seconds": round(window, 3),
        "approvals_per_s": round(len(acked) / window, 1),
        "non_200_acks": clicks - len(acked),
        "duplicate_replies": state["sent_messages"] - state["replies_sent"],
        "click_to_card_sent": _dist(to_sent),
        "click_to_first_update": _dist(to_first),
        "ack": _dist([c.ack_ms for c in measured]),
        "server_cpu_ms_per_approval": round(server_cpu / clicks * 1000, 2),
        "standins_cpu_ms_per_approval": round(standins_cpu / clicks * 1000, 2),
        "postgres_cpu_ms_per_approval": round(postgres_cpu / clicks * 1000, 2),
        "client_cpu_ms_per_approval": round(client_cpu / clicks * 1000, 2),
        "server_cpu_pct": round(server_cpu / window * 100),
        "standins_cpu_pct": round(standins_cpu / window * 100),
        "postgres_cpu_pct": round(postgres_cpu / window * 100),
        "client_cpu_pct": round(client_cpu / window * 100),
        "machine_busy_pct": round(busy / total * 100) if total else 0,
        "profile_file": str(profile_to) if profile_to else None,
        "samples_ms": {
            "click_to_card_sent": [round(x, 2) for x in to_sent],
            "click_to_first_update": [round(x, 2) for x in to_first],
            "ack": [round(c.ack_ms, 2) for c in measured],
        },
    }
    sent = result["click_to_card_sent"]
    print(
        f"  latency {tag:<16} {operators:>2} operator(s): click→card sent p50 "
        f"{sent['p50_ms']:.0f} ms p99 {sent['p99_ms']:.0f} ms "
        f"({clicks} clicks in {window:.2f} s, {result['approvals_per_s']:.0f}/s)",
        file=sys.stderr,
        flush=True,
    )
    return result


async def measure(
    occ: OccBot,
    standins: Standins,
    template: dict[str, Any],
    *,
    runs: int,
    clicks: int,
    first_conversation: int,
    tag: str,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Each run does every operator level in turn; percentiles pool the clicks of all runs.
    With `profile_dir`, each run's busiest level is sampled with py-spy (its stacks kept there,
    their breakdown in the level's summary)."""
    per_level: dict[int, list[dict[str, Any]]] = {n: [] for n in OPERATOR_LEVELS}
    for run in range(runs):
        for index, operators in enumerate(OPERATOR_LEVELS):
            per_level[operators].append(
                await one_setting(
                    occ,
                    standins,
                    template,
                    operators=operators,
                    clicks=clicks,
                    first_conversation=first_conversation
                    + run * len(OPERATOR_LEVELS) * LEVEL_STRIDE
                    + index * LEVEL_STRIDE,
                    tag=f"{tag}-{operators}op-{run + 1}",
                    profile_to=_profile_file(profile_dir, tag, operators, run),
                )
            )
    found = {str(n): summary(results) for n, results in per_level.items()}
    busiest = str(OPERATOR_LEVELS[-1])
    files = [Path(f) for r in per_level[OPERATOR_LEVELS[-1]] if (f := r.get("profile_file"))]
    files = [f for f in files if f.exists()]
    if files:
        found[busiest]["profile"] = profile.breakdown(files) | {"files": [str(f) for f in files]}
    return found


def _profile_file(directory: Path | None, tag: str, operators: int, run: int) -> Path | None:
    if directory is None or operators != OPERATOR_LEVELS[-1]:
        return None
    return directory / f"profile-latency-{tag}-{operators}op-{run + 1}.txt"


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles over every click of every run; throughput and CPU as medians of the runs."""

    def pooled(key: str) -> dict[str, float]:
        return _dist([x for r in runs for x in r["samples_ms"][key]])

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    return {
        "operators": runs[0]["operators"],
        "clicks": sum(r["clicks"] for r in runs),
        "click_to_card_sent": pooled("click_to_card_sent"),
        "click_to_first_update": pooled("click_to_first_update"),
        "ack": pooled("ack"),
        "approvals_per_s": median("approvals_per_s"),
        "server_cpu_ms_per_approval": median("server_cpu_ms_per_approval"),
        "standins_cpu_ms_per_approval": median("standins_cpu_ms_per_approval"),
        "postgres_cpu_ms_per_approval": median("postgres_cpu_ms_per_approval"),
        "client_cpu_ms_per_approval": median("client_cpu_ms_per_approval"),
        "server_cpu_pct": median("server_cpu_pct"),
        "standins_cpu_pct": median("standins_cpu_pct"),
        "postgres_cpu_pct": median("postgres_cpu_pct"),
        "client_cpu_pct": median("client_cpu_pct"),
        "machine_busy_pct": median("machine_busy_pct"),
        "non_200_acks": sum(r["non_200_acks"] for r in runs),
        "duplicate_replies": sum(r["duplicate_replies"] for r in runs),
        "runs": runs,
    }
