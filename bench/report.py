"""The Markdown report: measured numbers, the targets beside them, and the caveats."""

from __future__ import annotations

import statistics
from typing import Any

from bench.cx_scan import markdown as cx_scan_markdown
from bench.drafting import markdown as drafting_markdown
from bench.pulse import markdown as pulse_markdown
from bench.sales_pulse import markdown as sales_markdown
from bench.startup import BOLT, OCC_NEW, OCC_RESTART
from bench.startup import markdown as startup_markdown
from bench.stats import markdown as stats_markdown

OCC = "occ-bot"
OCC_BASELINE = "occ-bot (baseline tree)"
BOLT_PBR = "bare Bolt (process_before_response=True)"
BOLT_DEFAULT = "bare Bolt (default)"


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("✅" if ok else "❌")


def _cpu_pct(runs: list[dict[str, Any]], key: str) -> str:
    return f"{statistics.median(r[key] / r['seconds'] * 100 for r in runs):.0f} %"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) rows; met is None when it could not be measured."""
    ack = results.get("ack", {})
    occ1 = ack.get(OCC, {}).get("1")
    occ50, base50 = ack.get(OCC, {}).get("50"), ack.get(BOLT_PBR, {}).get("50")
    pg = results.get("e2e", {}).get("postgresql") or {}
    missing = "not measured"
    rows: list[tuple[str, str, str, bool | None]] = []
    name, goal = "occ-bot ack p50, 1 connection", "< 3 ms"
    if occ1:
        rows.append((name, f"{occ1['p50_ms']:.2f} ms", goal, occ1["p50_ms"] < 3))
    else:
        rows.append((name, missing, goal, None))
    name, goal = "occ-bot req/s at 50 connections vs bare Bolt (pbr=True)", "≥ 80 %"
    name99, goal99 = "occ-bot ack p99 at 50 connections vs bare Bolt (pbr=True)", "≤ 1.5×"
    if occ50 and base50:
        share = occ50["rps"] / base50["rps"]
        measured = f"{occ50['rps']:.0f} vs {base50['rps']:.0f} = {share:.0%}"
        rows.append((name, measured, goal, share >= 0.8))
        ratio = occ50["p99_ms"] / base50["p99_ms"]
        measured = f"{occ50['p99_ms']:.1f} vs {base50['p99_ms']:.1f} ms = {ratio:.2f}×"
        rows.append((name99, measured, goal99, ratio <= 1.5))
    else:
        rows += [(name, missing, goal, None), (name99, missing, goal99, None)]
    name, goal = "end-to-end approvals/s on PostgreSQL", "≥ 100"
    if "approvals_per_s" in pg:
        rows.append((name, f"{pg['approvals_per_s']:.0f}", goal, pg["approvals_per_s"] >= 100))
    else:
        rows.append((name, missing, goal, None))
    rows += _startup_targets(results.get("startup", {}))
    timings = (results.get("stats") or {}).get("timings", {})
    for name, key in (
        ("`/occ stats` p50, team, last 30 days, 1M-row log", "team, last 30 days"),
        ("Home tab numbers p50, 1M-row log", "Home tab numbers (six reads at once)"),
    ):
        if key in timings:
            p50 = timings[key]["p50"]
            rows.append((name, f"{p50:.1f} ms", "< 200 ms", p50 < 200))
        else:
            rows.append((name, missing, "< 200 ms", None))
    name, goal = "`/occ pulse` answer p99, from the snapshot of a 100,000-order shop", "< 300 ms"
    answer = (results.get("pulse") or {}).get("answer_ms")
    if answer:
        rows.append((name, f"{answer['p99']:.1f} ms", goal, answer["p99"] < 300))
    else:
        rows.append((name, missing, goal, None))
    name, goal = "Chatwoot webhook answer p99 (the source documents' API budget)", "≤ 300 ms"
    webhook = (results.get("drafting") or {}).get("webhook", {}).get("webhook_ms")
    if webhook:
        rows.append((name, f"{webhook['p99']:.1f} ms", goal, webhook["p99"] <= 300))
    else:
        rows.append((name, missing, goal, None))
    rows.append(_cx_scan_target(results))
    return rows


def _cx_scan_target(results: dict[str, Any]) -> tuple[str, str, str, bool | None]:
    found = results.get("cx_scan") or {}
    goal = "0, within one scan period (5 min)"
    if "runs" not in found:
        return ("CX scan: breaches missed in a big inbox", "not measured", goal, None)
    name = f"CX scan: breaches missed among {found['conversations']:,} open conversations"
    now = found["runs"]["now"]
    missed = max(r["missed"] for r in now)
    seconds = max(r["seconds"] for r in now)
    before = statistics.median(r["missed"] for r in found["runs"]["before"])
    measured = (
        f"{missed} of {found['breaches']}, all carded in {seconds:.1f} s "
        f"(before: {before:.0f} missed)"
    )
    return (name, measured, goal, missed == 0 and seconds < 300)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    cfg = results["config"]
    out = [
        f"## occ-bot benchmark ({results['finished_at']}, run took "
        f"{results['elapsed_seconds']:.0f} s)",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"slack-bolt {m['slack_bolt']}, uvicorn {m['uvicorn']} ({m.get('serving', '?')}), "
        f"{m['wrk']}. Everything on 127.0.0.1; wrk, the server under "
        "test and the stand-ins share the same CPUs.",
        "",
        "### Targets",
        "",
        "| target | measured | goal | |",
        "| --- | --- | --- | --- |",
    ]
    out += [f"| {t} | {v} | {g} | {_mark(ok)} |" for t, v, g, ok in targets(results)]
    out += _ack_section(results)
    out += _e2e_section(results)
    out += _latency_section(results)
    out += _reminders_section(results)
    out += _sales_section(results)
    out += _drafting_section(results)
    out += _stats_section(results)
    out += _pulse_section(results)
    out += _cx_scan_section(results)
    start = results.get("startup", {})
    if "error" in start:
        out += ["", f"### 4. Start-up and idle memory: not measured ({start['error']})"]
    elif start:
        out += ["", *startup_markdown(start, cfg["runs"])]
    return "\n".join(out) + "\n"


def _startup_targets(start: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Idle RSS and exec → /healthz, after a restart and on a new database, beside bare Bolt."""
    bolt = start.get(BOLT)
    rows: list[tuple[str, str, str, bool | None]] = []
    for key, when in ((OCC_RESTART, "restart, database up to date"), (OCC_NEW, "new database")):
        occ = start.get(key)
        for measure, field, unit, goal, limit in (
            ("idle RSS", "idle_rss_mb", "MB", "≤ 80 MB", 80.0),
            ("exec → first /healthz 200", "healthz_seconds", "s", "≤ 0.6 s", 0.6),
        ):
            name = f"occ-bot {measure} ({when})"
            if not (occ and bolt):
                rows.append((name, "not measured", goal, None))
                continue
            shown = "{:.0f} MB" if unit == "MB" else "{:.2f} s"
            measured = (
                f"{shown.format(occ[field])} (bare Bolt {shown.format(bolt[field])}, "
                f"{occ[field] / bolt[field]:.2f}×"
            )
            if field == "healthz_seconds" and "cpu_seconds" in occ:
                measured += (
                    f"; CPU {occ['cpu_seconds']:.2f} vs {bolt['cpu_seconds']:.2f} s, "
                    f"{occ['cpu_seconds'] / bolt['cpu_seconds']:.2f}×"
                )
            measured += ")"
            rows.append((name, measured, goal, occ[field] <= limit))
    return rows


def _sales_section(results: dict[str, Any]) -> list[str]:
    found = results.get("sales_pulse")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 6. Sales Pulse: not measured ({found['error']})"]
    return ["", *sales_markdown(found)]


def _cx_scan_section(results: dict[str, Any]) -> list[str]:
    found = results.get("cx_scan")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 11. CX scan: not measured ({found['error']})"]
    return ["", *cx_scan_markdown(found)]


def _pulse_section(results: dict[str, Any]) -> list[str]:
    found = results.get("pulse")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 10. `/occ pulse`: not measured ({found['error']})"]
    return ["", *pulse_markdown(found)]


def _drafting_section(results: dict[str, Any]) -> list[str]:
    found = results.get("drafting")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 7. Drafting off the webhook's path: not measured ({found['error']})"]
    return ["", *drafting_markdown(found)]


def _stats_section(results: dict[str, Any]) -> list[str]:
    found = results.get("stats")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 8. The team's numbers: not measured ({found['error']})"]
    return ["", *stats_markdown(found)]


def _reminders_section(results: dict[str, Any]) -> list[str]:
    found = results.get("reminders")
    if not found:
        return []
    if "error" in found:
        return ["", f"### 5. Reminders falling due at once: not measured ({found['error']})"]
    first = next(iter(found.values()))
    out = [
        "",
        f"### 5. {first['reminders']} reminders falling due within 2 s, all in one channel "
        f"(PostgreSQL; Slack stand-in limit {first['limit_per_second']:g} posts/s per channel, "
        f"burst {first['burst']})",
        "",
        "| replicas | posted (duplicates) | took | bound | took / bound | lateness p50 / p99 / max "
        "| pairs out of due order | 429s | retry rows | reliability alerts | occ-bot CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in found.values():
        out.append(
            f"| {row['replicas']} | {row['posted']} ({row['duplicates']}) "
            f"| {row['took_seconds']:.1f} s | {row['bound_seconds']:.1f} s "
            f"| {row['took_vs_bound']} | {row['lateness_p50_s']:.1f} / "
            f"{row['lateness_p99_s']:.1f} / {row['lateness_max_s']:.1f} s "
            f"| {row['out_of_due_order'] * 100:.1f} % | {row['slack_429s']} "
            f"| {row['retry_rows']} | {_alerts(row)} | {row.get('occ_bot_cpu_seconds', '–')} s |"
        )
    return out


def _alerts(row: dict[str, Any]) -> str:
    """How many reliability alerts, and about what (``reminders``, ``scheduler``, ``slack``)."""
    subjects = row.get("reliability_alert_subjects") or []
    return f"{row['reliability_alerts']} ({', '.join(subjects)})" if subjects else "0"


def _profile(row: dict[str, Any]) -> list[str]:
    """Where occ-bot's CPU went during the profiled PostgreSQL end-to-end runs (--profile)."""
    found = row.get("profile")
    if not found:
        return []
    per_approval = row["server_cpu_ms_per_approval"]

    def ms(pct: float) -> str:
        return f"{pct:.1f} % | {pct / 100 * per_approval:.2f} ms"

    out = [
        "",
        f"**Profile** (py-spy, {found['samples']} on-CPU samples of occ-bot's event loop during "
        f"the PostgreSQL runs above, which it slowed down; ms = share × the "
        f"{per_approval:.1f} ms of CPU per approval measured in those runs). "
        "Stacks: `python -m bench.profile bench/results/profile-e2e-postgresql-*.txt`.",
        "",
        "| approval step (innermost on the stack) | share | CPU per approval |",
        "| --- | --- | --- |",
    ]
    out += [f"| {name} | {ms(pct)} |" for name, pct in found["by_approval_step_pct"].items()]
    out += ["", "| package (self time) | share | CPU per approval |", "| --- | --- | --- |"]
    packages = found["self_by_package_pct"].items()
    out += [f"| {name} | {ms(pct)} |" for name, pct in packages if pct >= 0.5]
    out += ["", "| activity (inclusive) | share | CPU per approval |", "| --- | --- | --- |"]
    out += [f"| {name} | {ms(pct)} |" for name, pct in found["inclusive_by_activity_pct"].items()]
    return out


def _latency_section(results: dict[str, Any]) -> list[str]:
    """Section 3: click → card updated, as operators see it."""
    found = results.get("latency")
    if not found:
        return []
    cfg = results["config"]
    title = (
        "### 3. Click → card updated, as operators see it (PostgreSQL, "
        f"{cfg['latency_clicks']} clicks per level per run, {cfg['runs']} run(s) pooled)"
    )
    row = found.get("postgresql", found)
    if "error" in row:
        return ["", f"{title}: not measured ({row['error']})"]
    out = [
        "",
        title,
        "",
        "| operators clicking | clicks | click→card shows sent p50 / p99 (max) | "
        "click→first card update p50 / p99 | click ack p50 / p99 | approvals/s | "
        "occ-bot CPU per approval | stand-ins / postgres / client CPU per approval | "
        "CPU occ-bot / stand-ins / postgres / client | "
        "machine busy | non-200 acks | duplicate replies |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in sorted(row, key=int):
        r = row[level]
        sent, first, ack = r["click_to_card_sent"], r["click_to_first_update"], r["ack"]
        out.append(
            f"| {r['operators']} | {r['clicks']} | "
            f"{sent['p50_ms']:.0f} / {sent['p99_ms']:.0f} ms ({sent['max_ms']:.0f}) | "
            f"{first['p50_ms']:.0f} / {first['p99_ms']:.0f} ms | "
            f"{ack['p50_ms']:.1f} / {ack['p99_ms']:.1f} ms | "
            f"{r['approvals_per_s']:.0f} | {r['server_cpu_ms_per_approval']:.2f} ms | "
            f"{_per_approval(r)} | "
            f"{r['server_cpu_pct']:.0f} % / {r['standins_cpu_pct']:.0f} % / "
            f"{r['postgres_cpu_pct']:.0f} % / {r['client_cpu_pct']:.0f} % | "
            f"{r['machine_busy_pct']:.0f} % | {r['non_200_acks']} | {r['duplicate_replies']} |"
        )
    out += [
        "",
        "Each operator clicks Approve on one of its own drafts, waits until the Slack stand-in "
        "has received the `chat.update` showing that card sent (not the “sending” one), then "
        "clicks its next draft at once: 1 operator, then 20 at once (at most 20 clicks in "
        "flight, each on a distinct draft). Latency: from the client's clock just before the "
        "click to the stand-in's receipt of that `chat.update` (the same clocks as section 2's "
        "click→card column); first card update = the card's first `chat.update` after the "
        "click (the one showing it sent, unless the reply took over a second and the card "
        "said “sending” first). Percentiles pool every click of every run; approvals/s, CPU: "
        "median of the runs. Each operator's first approval is a warm-up, not counted. "
        "Stand-ins answer at once on loopback: real Slack and Chatwoot round trips (4 per "
        "approval: assign, reply and private note in Chatwoot, one `chat.update`; 5 when the "
        "card says “sending” first) add to these.",
    ]
    return out


def _per_approval(r: dict[str, Any]) -> str:
    keys = ("standins", "postgres", "client")
    if any(f"{k}_cpu_ms_per_approval" not in r for k in keys):
        return "—"  # results from before these were kept
    return " / ".join(f"{r[f'{k}_cpu_ms_per_approval']:.2f}" for k in keys) + " ms"


def _ack_section(results: dict[str, Any]) -> list[str]:
    """Section 1: acknowledgement latency under wrk."""
    if "ack" not in results:
        return []
    cfg = results["config"]
    out: list[str] = []
    out += [
        "",
        f"### 1. Acknowledgement of Approve clicks (wrk, {cfg['seconds']} s per run, "
        f"median of {cfg['runs']} runs)",
        "",
        "| app | connections | p50 | p99 | req/s | server CPU | wrk CPU | stand-ins CPU | "
        "failed requests |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in ("1", "50"):
        for name in (OCC_BASELINE, OCC, BOLT_PBR, BOLT_DEFAULT):
            row = results.get("ack", {}).get(name, {}).get(level)
            if not row:
                continue
            runs = row["runs"]
            out.append(
                f"| {name} | {level} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | "
                f"{row['rps']:.0f} | {_cpu_pct(runs, 'server_cpu_seconds')} | "
                f"{_cpu_pct(runs, 'wrk_cpu_seconds')} | {_cpu_pct(runs, 'helper_cpu_seconds')} | "
                f"{row['failed_requests']} |"
            )
    drain = results.get("ack", {}).get("occ_bot_drain")
    if drain:
        last = results["ack"][OCC]["50"]["runs"][-1]["extra"]
        out += [
            "",
            "CPU columns: CPU time during the wrk run as a share of one core (100 % = one core "
            "busy; wrk is far from being the bottleneck). Each occ-bot run clicks Approve on a "
            "fresh card: the first click wins, every later one is refused — the realistic hot "
            "path for repeated clicks. Each user's refused clicks on the card become one "
            "`draft.refused` row counting them and one `chat.postEphemeral`, once they stop "
            "clicking (at most 3 s after the first); once the card is known decided, a click "
            "is refused as it is acknowledged, with no database read. occ-bot is restarted "
            "(and warmed up) before each run; the table below measures the run right after "
            f"a burst instead. Drain after the last {results['config']['seconds']} s run at "
            f"50 connections: of {last['refusals_pending'] + last['refusals_logged'] + 1} "
            f"clicks acknowledged, {last['refusals_pending']} refused clicks were not counted "
            "in a `draft.refused` row yet when wrk stopped; all were "
            f"{drain['drain_seconds']:.1f} s later "
            f"(occ-bot CPU {drain['server_cpu_with_drain']:.1f} s in all); /healthz answered 503 "
            f"{drain['healthz_503_while_draining']} times while draining (its database ping "
            f"queues behind the backlog); RSS {drain['rss_after_drain_mb']:.0f} MB after, "
            f"peak {drain['peak_rss_mb']:.0f} MB.",
        ]
    out += _after_a_burst(results.get("ack", {}).get("after_a_burst"), cfg)
    if "error" in results.get("ack", {}):
        out += ["", f"Not measured: {results['ack']['error']}"]
    return out


def _after_a_burst(found: dict[str, Any] | None, cfg: dict[str, Any]) -> list[str]:
    """Section 1's second table: acks at 1 connection while a burst's refusals drain."""
    if not found:
        return []
    out = [
        "",
        f"Acks at 1 connection right after a {cfg['seconds']} s run at 50 connections on "
        "another card, whose refusals may still be being worked through (median of "
        f"{cfg['runs']} runs, interleaved; no restart between the two runs):",
        "",
        "| app | p50 | p99 | req/s | server CPU | clicks in the burst | background work pending "
        "before / after the measured run | failed requests |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def shown(value: float | None) -> str:
        return "?" if value is None else f"{value:.0f}"

    for name in (OCC_BASELINE, OCC, BOLT_PBR):
        row = found.get(name)
        if not row:
            continue
        label = f"{name}: {found['baseline_tree']}" if name == OCC_BASELINE else name
        pending = f"{shown(row['pending_before'])} / {shown(row['pending_after'])}"
        if name == BOLT_PBR:
            pending = "—"
        out.append(
            f"| {label} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {row['rps']:.0f} | "
            f"{_cpu_pct(row['runs'], 'server_cpu_seconds')} | {shown(row['burst_requests'])} | "
            f"{pending} | "
            f"{row['failed_requests']} |"
        )
    out += [
        "",
        "Pending: occ-bot's background work from /healthz (`?`: /healthz did not answer "
        "within 2 s, or answered 503).",
    ]
    return out


def _e2e_section(results: dict[str, Any]) -> list[str]:
    """Section 2: end-to-end approvals per second (and the profile, if taken)."""
    if "e2e" not in results:
        return []
    cfg = results["config"]
    out: list[str] = []
    e2e = results.get("e2e", {})
    if "error" in e2e:
        e2e = {"sqlite": e2e}
    out += [
        "",
        f"### 2. End to end: {cfg['drafts']} distinct drafts approved, {cfg['in_flight']} clicks "
        f"in flight (median of {cfg['runs']} runs, against the `occ-bot serve` process)",
        "",
        "| database | approvals/s | all done in | approved→`reply.sent` p50 / p99 | "
        "click→card shows sent p50 / p99 | click ack p50 / p99 | occ-bot CPU per approval | "
        "CPU occ-bot / stand-ins / postgres / client | machine busy | non-200 acks | "
        "duplicate replies |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("sqlite", "postgresql"):
        row = e2e.get(name)
        if not row:
            continue
        if "error" in row:
            out.append(f"| {name} | not measured: {row['error']} | | | | | | | | | |")
            continue
        out.append(
            f"| {name} | {row['approvals_per_s']:.0f} | {row['seconds']:.2f} s | "
            f"{row['approved_to_sent_p50_ms']:.0f} / {row['approved_to_sent_p99_ms']:.0f} ms | "
            f"{row['click_to_card_sent_p50_ms']:.0f} / {row['click_to_card_sent_p99_ms']:.0f} ms | "
            f"{row['ack_p50_ms']:.1f} / {row['ack_p99_ms']:.1f} ms | "
            f"{row['server_cpu_ms_per_approval']:.1f} ms | "
            f"{row['server_cpu_pct']:.0f} % / {row['standins_cpu_pct']:.0f} % / "
            f"{row['postgres_cpu_pct']:.0f} % / {row['client_cpu_pct']:.0f} % | "
            f"{row['machine_busy_pct']:.0f} % | "
            f"{row['non_200_acks']} | "
            f"{row['duplicate_replies']} |"
        )
    out += [
        "",
        "Done = the reply is in the Chatwoot stand-in, `reply.sent` is in the decision log and "
        "the card's `chat.update` shows it sent; the clock runs from the first click to the "
        "last such `chat.update`. Latencies: approved→sent from the decision log's "
        "`created_at`; click→card from the client's send time to the stand-in's receipt. "
        "CPU: over the window from first click to completion, per process as a share of one "
        "core (client = this benchmark's own process), and for the whole machine as a share "
        "of all its cores: more than the parts add up to means something else was running. "
        "Each "
        "approval is 1 `chat.update` (2 when the reply takes over a second) and 3 Chatwoot "
        "calls (assign, reply, private note; the "
        "agents list is cached), answered by in-memory stand-ins on loopback: real Slack and "
        "Chatwoot latency would add to click→sent, not to occ-bot's CPU per approval.",
    ]
    out += _profile(e2e.get("postgresql") or {})
    return out
