"""The soak's result as Markdown: the goals first, then each part of the verdict."""

from __future__ import annotations

from typing import Any

FAULT_NAMES = {
    "kill": "a replica killed and restarting",
    "postgres": "the PostgreSQL restart",
    "chatwoot": "the Chatwoot cut",
}


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _latency_row(name: str, dist: dict[str, Any]) -> str:
    if not dist.get("clicks"):
        return f"| {name} | 0 | — | — | — |"
    return (
        f"| {name} | {dist['clicks']} | {dist['p50_ms']:.0f} ms | {dist['p99_ms']:.0f} ms "
        f"| {dist['max_ms']:.0f} ms |"
    )


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def markdown(result: dict[str, Any]) -> str:
    run, lost, doubled = result["run"], result["lost"], result["doubled"]
    clicks, customers, latency = result["clicks"], result["customers"], result["latency"]
    incidents = result["incidents"]
    lines = [
        f"## Soak: {run['replicas']} replicas behind {run['balancer']}, "
        f"{_duration(run['seconds_of_traffic'])} of traffic",
        "",
        f"{run['postgres']}; {run['operators']} operators, {run['messages_per_second']:g} "
        f"customer messages/s; settled {run['settled_after_s']} s after traffic stopped. "
        f"Load average {run['load_average_before']} before, {run['load_average_after']} after; "
        f"machine {run['machine_busy_pct']} % busy over {run['cpus']} CPUs. Restarts per "
        f"replica: {run['restarts']} (of which exited at start, restarted again: "
        f"{run['failed_starts']}); exit codes on SIGTERM at the end: "
        f"{run['exit_codes_on_sigterm']}.",
        "",
        "| goal | measured | |",
        "| --- | --- | --- |",
        f"| decisions lost: 0 | {lost['count']} of {clicks['acknowledged']} acknowledged "
        f"| {_mark(lost['count'] == 0)} |",
        f"| duplicate replies, reminders, alerts (and anything doubled): 0 | {doubled['count']} "
        f"| {_mark(doubled['count'] == 0)} |",
        "",
        "### Click → card shows the reply sent (Approve, from the first try)",
        "",
        "| when | clicks | p50 | p99 | max |",
        "| --- | --- | --- | --- | --- |",
        _latency_row("outside faults", latency["outside faults"]),
        _latency_row("during faults (+10 s after each)", latency["during faults"]),
        *(
            _latency_row(f"… during {FAULT_NAMES.get(kind, kind)}", dist)
            for kind, dist in latency["by_fault"].items()
        ),
        "",
        f"Approvals that won: {latency['approvals']}; their card never shown sent: "
        f"{latency['card_never_shown_sent']} {latency['card_never_shown_sent_drafts']}; "
        f"slowest outside faults (s into the run, ms): {latency['slowest_outside_faults']}.",
        "",
        "### Faults injected and the reliability incidents raised",
        "",
        "| fault | at | lasted | incident expected | alerts | recoveries |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for fault in incidents["faults"]:
        lasted = f"{fault['lasted_s']} s" if fault["lasted_s"] is not None else "—"
        lines.append(
            f"| {fault['kind']} ({fault['detail']}) | {fault['at_s']} s | {lasted} "
            f"| {fault['expected']} | {fault['alerts']} | {fault['recoveries']} |"
        )
    lines += [
        "",
        f"Alerts {incidents['alerts']}, recoveries {incidents['recoveries']}; "
        f"messages in the reliability channel {incidents['reliability_channel_messages']}; "
        f"others: {incidents['other'] or 'none'}.",
        "",
        "### Decisions",
        "",
        f"- clicks: {clicks['decisions']}; acknowledged {clicks['acknowledged']}, never "
        f"acknowledged after 5 tries {clicks['never_acknowledged']}; clicked again after an "
        f"error {clicks['clicked_again_after_an_error']} (errors seen: {clicks['errors_seen']});"
        f" second operator on the same card {clicks['double_clicked_cards']}; told something "
        f"privately {clicks['told_something']}; card unchanged within the wait "
        f"{clicks['saw_nothing_within_wait']}.",
        f"- lost: {lost['count']}" + (f" (e.g. {lost['examples'][:3]})" if lost["count"] else ""),
        "- doubled: " + ", ".join(f"{name} {n}" for name, n in doubled["by_kind"].items()) + ".",
        "",
        "### Customers, escalations, Sales Pulse",
        "",
        f"- customer messages {customers['messages']}: webhook delivered first time "
        f"{customers['webhooks_delivered_first_time']}, after retries "
        f"{customers['webhooks_delivered_after_retries']}, never "
        f"{customers['webhooks_never_delivered']}; without a draft at the end "
        f"{customers['messages_without_a_draft']}; cards {customers['cards']}; approved "
        f"{customers['approved']}, of which without a reply in Chatwoot at the end "
        f"{customers['approved_without_a_reply']}.",
        "- escalations: " + ", ".join(f"{k} {v}" for k, v in result["escalations"].items()) + ".",
        "- Sales Pulse: " + ", ".join(f"{k} {v}" for k, v in result["sales"].items()) + ".",
        "- posts: "
        + "; ".join(
            f"{name} {p['posted']} (posted twice {p['posted_twice']}, shown twice "
            f"{p['shown_twice']})"
            for name, p in doubled["posts"].items()
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"
