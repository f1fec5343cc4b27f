"""Baseline process: a bare Bolt AsyncApp whose one listener only acks `draft_approve`.

Served exactly as occ-bot serves Slack: Starlette + Bolt's AsyncSlackRequestHandler under
uvicorn (same config as `occ-bot serve`), with the same signing secret. Its Web API client
points at the Slack stand-in, so Bolt's one-time `auth.test` costs what it costs occ-bot.

    python -m bench.bare_bolt --port N --slack-api-url URL --token T [--process-before-response]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.common import HOST, SIGNING_SECRET
from bot.runtime.eventloop import run_event_loop

if TYPE_CHECKING:
    from bench.procs import Child


def build(slack_api_url: str, *, token: str, process_before_response: bool) -> Starlette:
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=process_before_response,
    )

    @bolt.action("draft_approve")
    async def approve(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def start_bare_bolt(
    slack_api_url: str, *, process_before_response: bool, name: str, log_dir: Path, cwd: Path
) -> tuple[Child, str, float]:
    """Start this module as a child on a free port; (child, base URL, seconds to healthy)."""
    # Imported here: the child imports only what a bare Bolt app needs (the start-up phase
    # compares its imports and memory with occ-bot's).
    from bench.procs import PYTHON, child_env, free_port, spawn, wait_healthy
    from bot.demo.standins.slack import DEFAULT_TOKEN

    port = free_port()
    argv = [PYTHON, "-m", "bench.bare_bolt", "--port", str(port), "--slack-api-url", slack_api_url]
    argv += ["--token", DEFAULT_TOKEN]
    if process_before_response:
        argv.append("--process-before-response")
    child = spawn(name, argv, child_env({}), log_dir=log_dir, cwd=cwd)
    url = f"http://{HOST}:{port}"
    try:
        ready = await wait_healthy(child, f"{url}/healthz")
    except BaseException:
        child.stop()
        raise
    return child, url, ready


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.bare_bolt")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", required=True)
    parser.add_argument("--token", required=True, help="the Slack stand-in's bot token")
    parser.add_argument("--process-before-response", action="store_true")
    args = parser.parse_args()
    app = build(
        args.slack_api_url, token=args.token, process_before_response=args.process_before_response
    )
    # The same server settings as bot/serve.py.
    server = uvicorn.Server(
        uvicorn.Config(app, host=HOST, port=args.port, log_level="info", access_log=False)
    )
    run_event_loop(server.serve())  # the same loop as occ-bot serve


if __name__ == "__main__":
    main()
