"""HTTP routes: Slack's Request URL, draft intake, the Chatwoot webhook and /healthz."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.flows.intake import draft_from_chatwoot, receive
from bot.integrations.chatwoot_webhook import parse_incoming, verify_signature
from bot.services import Services
from bot.web.draft_body import InvalidDraft, parse_draft

log = logging.getLogger("occ.web")

MAX_BODY_BYTES = 1_000_000
SIGNATURE_MAX_AGE = 300  # seconds, as Slack's


def routes(services: Services, bolt: AsyncApp | None) -> list[Route]:
    slack = AsyncSlackRequestHandler(bolt) if bolt is not None else None

    async def slack_events(request: Request) -> Response:
        if slack is None:
            return JSONResponse({"error": "Slack is in Socket Mode or not configured"}, 404)
        return await slack.handle(request)

    async def post_draft(request: Request) -> Response:
        if not _bearer_ok(request, services):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401)
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            data = parse_draft(body)
        except InvalidDraft as error:
            return JSONResponse({"error": str(error), "field": error.field}, 400)
        draft, created = await receive(services, data)
        if not created:
            return JSONResponse({"id": draft.id, "duplicate": True}, 200)
        return JSONResponse({"id": draft.id}, 202)

    async def chatwoot_webhook(request: Request) -> Response:
        """Answer only once the draft is stored: Chatwoot does not resend a 2xx."""
        if not _token_ok(request.query_params.get("token"), services):
            return JSONResponse({"error": "missing or wrong token"}, 401)
        if not await _chatwoot_signature_ok(request, services):
            return JSONResponse({"error": "bad or stale X-Chatwoot-Signature"}, 401)
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            incoming = parse_incoming(body)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, 400)
        if incoming is None:
            return JSONResponse({"ignored": "not an incoming customer message"}, 200)
        account = services.settings.chatwoot_account_id
        if account and incoming.account_id is not None and str(incoming.account_id) != account:
            log.warning("webhook from Chatwoot account %s ignored", incoming.account_id)
            return JSONResponse(
                {"ignored": f"account {incoming.account_id} is not CHATWOOT_ACCOUNT_ID"}, 200
            )
        draft, created = await draft_from_chatwoot(services, incoming)
        return JSONResponse({"id": draft.id, "duplicate": not created}, 202 if created else 200)

    async def healthz(request: Request) -> Response:
        try:
            await asyncio.wait_for(services.store.ping(), timeout=2.0)
        except Exception as error:  # any failure here means "cannot serve", said as 503
            return JSONResponse({"status": "unavailable", "database": str(error)[:200]}, 503)
        return JSONResponse(
            {
                "status": "ok",
                "degraded": services.health.snapshot(),
                "background_tasks": services.background.pending,
            }
        )

    return [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/drafts", post_draft, methods=["POST"]),
        Route("/webhooks/chatwoot", chatwoot_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def _token_ok(given: str | None, services: Services) -> bool:
    expected = services.settings.intake_token
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def _bearer_ok(request: Request, services: Services) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _token_ok(token.strip(), services)


async def _chatwoot_signature_ok(request: Request, services: Services) -> bool:
    """With CHATWOOT_WEBHOOK_SECRET set, only signed deliveries from the last 5 minutes pass."""
    secret = services.settings.chatwoot_webhook_secret
    if secret is None:
        return True
    timestamp = request.headers.get("x-chatwoot-timestamp", "")
    signature = request.headers.get("x-chatwoot-signature", "")
    try:
        fresh = abs(time.time() - int(timestamp)) <= SIGNATURE_MAX_AGE
    except ValueError:
        return False
    body = await request.body()
    return fresh and verify_signature(secret.get_secret_value(), timestamp, body, signature)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return JSONResponse({"error": f"body: larger than {MAX_BODY_BYTES} bytes"}, 413)
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JSONResponse({"error": "body: not valid JSON"}, 400)


def create_web_app(services: Services, bolt: AsyncApp | None, lifespan: Any = None) -> Starlette:
    return Starlette(routes=routes(services, bolt), lifespan=lifespan)
