"""`occ-bot` commands: serve, demo, check, jobs, migrate, export, eval, digest."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings, describe_error

log = logging.getLogger("occ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("OCC_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # a line per request, per index build, per migration and per Alembic plugin otherwise
    for chatty in ("httpx", "bm25s", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ValidationError as error:  # a bad setting: say which, without a traceback
        print(f"occ-bot: configuration error: {describe_error(error)}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="occ-bot",
        description=__doc__,
        epilog="Every command, setting, route, button and decision-log action is described in "
        "docs/interface.md; setting up a workspace in README.md.",
    )
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser(
        "serve", help="run the bot (HTTP mode, or Socket Mode with an app token)"
    )
    serve.add_argument("--port", type=int, default=None, help="default $PORT, else 3000")
    serve.add_argument("--host", default="0.0.0.0")
    serve.set_defaults(run=_serve)

    demo = sub.add_parser("demo", help="rehearse the whole product offline on embedded defaults")
    demo.add_argument(
        "--out", type=Path, default=None, help="also write the charts and the digest here"
    )
    demo.set_defaults(run=_demo)

    check = sub.add_parser("check", help="check configuration and each configured dependency")
    check.add_argument("--json", action="store_true", help="print only JSON")
    check.set_defaults(run=_check)

    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_sub.add_parser("list", help="list the jobs").set_defaults(run=_jobs_list)
    run = jobs_sub.add_parser("run", help="run one job once, now")
    run.add_argument("name")
    run.set_defaults(run=_jobs_run)

    sub.add_parser("migrate", help="apply the schema to DATABASE_URL").set_defaults(run=_migrate)

    digest = sub.add_parser("digest", help="build the weekly digest now and post it")
    digest.add_argument(
        "--out", type=Path, default=None, help="write its Markdown and charts here; post nothing"
    )
    digest.set_defaults(run=_digest)

    export = sub.add_parser("export", help="write the decision log as NDJSON, oldest first")
    export.add_argument("--since", type=_iso, default=None)
    export.add_argument("--until", type=_iso, default=None)
    export.add_argument(
        "--examples",
        action="store_true",
        help="write operators' sent replies as chat fine-tuning JSONL instead",
    )
    export.set_defaults(run=_export)

    evaluate = sub.add_parser(
        "eval", help="score the configured drafter on the scenario packet and past decisions"
    )
    evaluate.add_argument("--json", action="store_true", help="print only the JSON report")
    evaluate.set_defaults(run=_eval)
    return parser


def _iso(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. Z or +00:00): {value!r}")
    return parsed


def _serve(args: argparse.Namespace) -> int:
    # Importing the server makes long-lived objects only (modules, classes): the collections
    # the allocations trigger meanwhile find no garbage and cost a tenth of the import time.
    # Freezing them afterwards keeps every later collection off them, the first one included
    # (it would otherwise walk all of them once, about 50 ms, before serving).
    gc.disable()
    try:
        from bot.runtime.eventloop import run_event_loop
        from bot.serve import serve
    finally:
        gc.freeze()
        gc.enable()
    settings = Settings()
    port = args.port or int(os.environ.get("PORT") or settings.port)
    return run_event_loop(serve(settings, host=args.host, port=port))


def _demo(args: argparse.Namespace) -> int:
    from bot.demo.rehearsal import run_demo

    if "OCC_LOG_LEVEL" not in os.environ:
        logging.getLogger().setLevel(logging.WARNING)  # the rehearsal speaks on stdout

    return asyncio.run(run_demo(sys.stdout, args.out))


def _check(args: argparse.Namespace) -> int:
    from bot.cli.check import run_check

    return asyncio.run(run_check(None, as_json=args.json, out=sys.stdout))


def _jobs_list(args: argparse.Namespace) -> int:
    from bot.cli.jobs import list_jobs

    return asyncio.run(list_jobs(Settings(), sys.stdout))


def _jobs_run(args: argparse.Namespace) -> int:
    from bot.cli.jobs import run_job

    return asyncio.run(run_job(Settings(), args.name, sys.stdout, sys.stderr))


def _digest(args: argparse.Namespace) -> int:
    from bot.cli.digest import digest_now

    return asyncio.run(digest_now(Settings(), args.out, sys.stdout, sys.stderr))


def _migrate(args: argparse.Namespace) -> int:
    async def migrate() -> int:
        from bot.services import store_for

        store = store_for(Settings())
        try:
            applied = await store.migrate()
        finally:
            await store.close()
        print("applied: " + ", ".join(applied) if applied else "schema is up to date")
        return 0

    return asyncio.run(migrate())


def _export(args: argparse.Namespace) -> int:
    async def export() -> int:
        from bot.cli.export import write_examples, write_ndjson
        from bot.services import knowledge_base, store_for

        if args.examples and (args.since or args.until):
            print(
                "export: --since and --until apply to the decision log, not --examples",
                file=sys.stderr,
            )
            return 2
        settings = Settings()
        store = store_for(settings)
        try:
            await store.migrate()
            if args.examples:
                kb = knowledge_base(settings)
                count = await write_examples(store, kb, sys.stdout)
            else:
                count = await write_ndjson(store, sys.stdout, since=args.since, until=args.until)
        finally:
            await store.close()
        print(f"exported {count} {'examples' if args.examples else 'rows'}", file=sys.stderr)
        return 0

    return asyncio.run(export())


def _eval(args: argparse.Namespace) -> int:
    async def evaluate() -> int:
        from bot.cli.evaluate import evaluate as score
        from bot.cli.evaluate import write_report
        from bot.services import build_drafters, store_for

        settings = Settings()
        drafter, _ = build_drafters(settings)
        store = store_for(settings)
        try:
            await store.migrate()
            report = await score(settings, drafter, store)
        finally:
            await store.close()
            close = getattr(drafter, "aclose", None)
            if close is not None:
                await close()
        write_report(report, sys.stdout, as_json=args.json)
        return 0

    return asyncio.run(evaluate())
