"""The soak: N `occ-bot serve` replicas behind a load balancer, on one PostgreSQL, against the
stand-ins, under mixed traffic for a while, with faults injected meanwhile; then what was
lost or doubled, how long operators waited, and the reliability incidents raised.

    .venv/bin/python -m bench.soak [--minutes 10] [--replicas 3] [--balancer haproxy]

Prints a Markdown report, writes `bench/results/soak.json` and the processes' logs to
`bench/results/logs/soak/`. Method: bench/README.md ("The soak"). `tests/reliability/
test_soak.py` runs a short one (2 replicas, one kill) through `run_soak`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.common import INTAKE_TOKEN, SIGNING_SECRET
from bench.pg_server import PostgresServer
from bench.procs import REPO, child_env, machine_cpu
from bench.soak_cluster import Balancer, HAProxyBalancer, PythonBalancer, Replicas
from bench.soak_control import SoakStandins, start_soak_standins
from bench.soak_faults import FaultPlan, Faults
from bench.soak_report import markdown
from bench.soak_traffic import MANAGER, Traffic, TrafficPlan
from bench.soak_verdict import verdict
from bot.demo.standins.shopify import DEFAULT_TOKEN as SHOPIFY_TOKEN
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN

RESULTS = REPO / "bench" / "results"
REPLIES_POLL_SECONDS = 5.0


@dataclass
class SoakConfig:
    seconds: float = 600.0
    replicas: int = 3
    balancer: str = "haproxy"  # or "python" (bench/tcp_balancer.py)
    settle_seconds: float = 420.0  # > a reply's 5-minute lease held by a killed replica
    postgres_url: str | None = None  # None: a server of its own, which it restarts once
    traffic: TrafficPlan = field(default_factory=TrafficPlan)
    faults: FaultPlan = field(default_factory=FaultPlan)
    env: dict[str, str] = field(
        default_factory=lambda: {
            "OCC_JOB_TICK_SECONDS": "2",
            "OCC_SLA_MINUTES_URGENT": "0.5",  # Urgent escalations fall due 30 s later
            "OCC_SALES_PULSE_MINUTES": "1",
            "OCC_SLACK_POST_LEASE_SECONDS": "15",  # a killed replica's post waits this long
            "OCC_DRAFT_QUIET_SECONDS": "0",
        }
    )


def replica_env(standins: SoakStandins, database_url: str, config: SoakConfig, spool: Path):
    urls = standins.urls
    return child_env(
        {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{urls['slack']}/api/",
            "DATABASE_URL": database_url,
            "CHATWOOT_URL": urls["chatwoot"],
            "CHATWOOT_API_TOKEN": urls["chatwoot_token"],
            "CHATWOOT_ACCOUNT_ID": str(urls["chatwoot_account"]),
            "SHOPIFY_SHOP": urls["shopify"],
            "SHOPIFY_ADMIN_TOKEN": SHOPIFY_TOKEN,
            "OCC_INTAKE_TOKEN": INTAKE_TOKEN,
            "OCC_OPERATORS": "",
            "OCC_MANAGERS": MANAGER,
            "OCC_SPOOL_DIR": str(spool),  # one host: a dead replica's spool is adopted
            "OCC_SLACK_POSTS_PER_SECOND": "1000",  # the stand-in enforces no posting limit
            "OCC_SLACK_POST_BURST": "1000",
            **config.env,
        }
    )


def _balancer(config: SoakConfig, work: Path, logs: Path) -> Balancer:
    if config.balancer == "haproxy":
        return HAProxyBalancer(work, logs)
    if config.balancer == "python":
        return PythonBalancer()
    raise ValueError(f"unknown balancer {config.balancer!r}: haproxy or python")


async def run_soak(config: SoakConfig, work: Path, logs: Path) -> dict[str, Any]:
    """Run one soak; what `bench.soak_verdict.verdict` found, with the setting and the load."""
    logs.mkdir(parents=True, exist_ok=True)
    postgres = PostgresServer() if config.postgres_url is None else None
    standins: SoakStandins | None = None
    replicas: Replicas | None = None
    balancer = _balancer(config, work, logs)
    try:
        if postgres is not None:
            await asyncio.to_thread(postgres.create)
        database_url = config.postgres_url or (postgres.url if postgres else "")
        standins = await start_soak_standins(logs, work)
        spool = work / "spool"
        env = replica_env(standins, database_url, config, spool)
        replicas = Replicas(config.replicas, env, work, logs)
        await replicas.start_all()
        url = await balancer.start(replicas.ports)
        cut = asyncio.Event()
        traffic = Traffic(url, standins, config.traffic, cut)
        faults = Faults(config.faults, replicas, standins, postgres, cut)
        load_before, cpu_before = os.getloadavg(), machine_cpu()
        t0 = time.time()
        generate_until = t0 + config.seconds
        settle_until = generate_until + config.settle_seconds
        async with asyncio.TaskGroup() as group:  # one failing stops the other
            group.create_task(traffic.run(generate_until, settle_until))
            group.create_task(faults.run(t0, config.seconds))
        await _wait_replies(database_url, standins, settle_until)
        settled = time.time()
        found = await verdict(database_url, traffic, faults, t0)
        busy, total = (a - b for a, b in zip(machine_cpu(), cpu_before, strict=True))
        found["run"] = {
            "seconds_of_traffic": config.seconds,
            "settled_after_s": round(settled - generate_until, 1),
            "replicas": config.replicas,
            "balancer": balancer.name,
            "postgres": f"own server, PostgreSQL {postgres.version}" if postgres else "given",
            "operators": config.traffic.operators,
            "messages_per_second": config.traffic.messages_per_second,
            "restarts": {r.slot: r.starts - 1 for r in replicas.replicas},
            "failed_starts": {r.slot: r.failed_starts for r in replicas.replicas},
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "machine_busy_pct": round(busy / total * 100) if total else None,
            "cpus": os.cpu_count(),
            "plan": {"traffic": asdict(config.traffic), "faults": asdict(config.faults)},
            "env": config.env,
        }
    finally:
        exits = replicas.stop_all() if replicas is not None else {}
        await balancer.stop()
        if standins is not None:
            await standins.stop()
        if postgres is not None:
            await asyncio.to_thread(postgres.destroy)
    found["run"]["exit_codes_on_sigterm"] = exits
    return found


async def _wait_replies(database_url: str, standins: SoakStandins, until: float) -> None:
    """Until every approved draft's reply is in Chatwoot (or `until`): a reply whose sender
    was killed waits out its lease."""
    while time.time() < until:
        approved = await asyncio.to_thread(_approved_conversations, database_url)
        replied = {int(c) for c in (await standins.tally())["replies"]}
        if approved <= replied:
            return
        await asyncio.sleep(REPLIES_POLL_SECONDS)


def _approved_conversations(database_url: str) -> set[int]:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        rows = conn.execute("select conversation_id from drafts where state = 'approved'")
        return {int(r[0]) for r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic (default 10)")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--balancer", choices=["haproxy", "python"], default="haproxy")
    parser.add_argument("--operators", type=int, default=6)
    parser.add_argument("--rate", type=float, default=2.0, help="customer messages a second")
    parser.add_argument("--kill-every", type=float, default=120.0, help="seconds")
    parser.add_argument("--postgres-down", type=float, default=10.0, help="seconds")
    parser.add_argument("--chatwoot-cut", type=float, default=30.0, help="seconds (0: none)")
    parser.add_argument("--settle", type=float, default=420.0, help="at most, seconds")
    args = parser.parse_args(argv)
    config = SoakConfig(
        seconds=args.minutes * 60,
        replicas=args.replicas,
        balancer=args.balancer,
        settle_seconds=args.settle,
        traffic=TrafficPlan(operators=args.operators, messages_per_second=args.rate),
        faults=FaultPlan(
            kill_every=args.kill_every,
            postgres_down=args.postgres_down,
            chatwoot_cut=args.chatwoot_cut,
        ),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = RESULTS / "logs" / "soak"
    shutil.rmtree(logs, ignore_errors=True)  # each start appends to its replica's log
    with tempfile.TemporaryDirectory(prefix="occ-soak-") as folder:
        result = asyncio.run(run_soak(config, Path(folder), logs))
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2, default=str))
    print(markdown(result))
    bad = result["lost"]["count"] + result["doubled"]["count"]
    print(f"soak done: {bad} lost or doubled", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
