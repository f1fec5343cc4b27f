"""HTTP routes: Slack's Request URL, draft intake, the Chatwoot webhook and /healthz."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.draft_body import InvalidDraft, parse_draft
from bot.flows import chatwoot_work
from bot.flows.drafting import accept, message_key
from bot.flows.intake import receive
from bot.flows.outbox import undelivered
from bot.integrations.chatwoot_webhook import (
    AssignedInChatwoot,
    IncomingMessage,
    WorkInChatwoot,
    parse_delivery_failure,
    parse_incoming,
    parse_work_in_chatwoot,
    verify_signature,
)
from bot.services import Services
from bot.store.errors import first_line
from bot.web.body import BodyTooLarge, InvalidJson, loads, read_body
from bot.web.slack_guard import SlackGuard

log = logging.getLogger("occ.web")

SIGNATURE_MAX_AGE = 300  # seconds, as Slack's
MAX_ID = 2**63  # ids are stored as 64-bit integers


def routes(services: Services, bolt: AsyncApp | None) -> list[Route]:
    settings = services.settings
    secret = settings.slack_signing_secret
    slack = (
        SlackGuard(
            bolt,
            secret.get_secret_value() if secret else None,
            settings.slack_api_url,
            services.clock,
        )
        if bolt is not None
        else None
    )

    async def slack_events(request: Request) -> Response:
        if slack is None:
            return JSONResponse({"error": "Slack is in Socket Mode or not configured"}, 404)
        return await slack.handle(request)

    async def post_draft(request: Request) -> Response:
        if not _bearer_ok(request, services):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401)
        body = await _json_body(request, "/drafts")
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
        """Answer as soon as the message is stored (Chatwoot does not resend a 2xx); it is
        drafted in the background."""
        if not _webhook_token_ok(request.query_params.get("token"), services):
            return JSONResponse({"error": "missing or wrong token"}, 401)
        try:
            raw = await read_body(request)
        except BodyTooLarge as error:
            return _refuse(request, "/webhooks/chatwoot", 413, str(error))
        if not _chatwoot_signature_ok(request, raw, services):
            return JSONResponse({"error": "bad or stale X-Chatwoot-Signature"}, 401)
        body = _parse_json(request, "/webhooks/chatwoot", raw)
        if isinstance(body, Response):
            return body
        try:
            incoming = parse_incoming(body)
            if incoming is not None:
                _check_ids(incoming)
        except ValueError as error:
            return _refuse(request, "/webhooks/chatwoot", 400, str(error))
        if incoming is None:
            failure = parse_delivery_failure(body)
            if failure is not None:  # a reply of ours the channel did not deliver
                services.background.spawn(undelivered(services, failure), name="undelivered")
                return JSONResponse({"undelivered": failure.message_id}, 200)
            work = parse_work_in_chatwoot(body)
            if work is not None:  # answered, resolved or assigned in Chatwoot: its cards say so
                return _seen_in_chatwoot(request, work, services)
            return JSONResponse({"ignored": "not an incoming customer message"}, 200)
        if not _our_account(incoming.account_id, services):
            return _other_account(incoming.account_id)
        created = await accept(services, incoming)
        body = {"message": message_key(incoming.message_id), "duplicate": not created}
        return JSONResponse(body, 202 if created else 200)

    async def healthz(request: Request) -> Response:
        try:
            await asyncio.wait_for(services.store.ping(), timeout=2.0)
            degraded = await services.incidents.degraded(services.store)
        except Exception as error:  # any failure here means "cannot serve", said as 503
            # which dependency and since when, nothing more: the route needs no credentials,
            # and a driver's error names the host, the port, the database and the user
            log.warning("/healthz: the database does not answer: %s", first_line(error))
            since = services.database_down[0] if services.database_down else services.clock()
            return JSONResponse(
                {"status": "unavailable", "degraded": {"database": since.isoformat()}}, 503
            )
        return JSONResponse(
            {
                "status": "ok",
                "degraded": degraded | services.workspace.degraded(),
                "channels": services.workspace.fixes(),  # each one the bot cannot work in
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
    """``POST /drafts``'s bearer: OCC_INTAKE_TOKEN, never the webhook's token."""
    return _matches(given, services.settings.intake_token)


def _webhook_token_ok(given: str | None, services: Services) -> bool:
    """The webhook's ``?token=``: CHATWOOT_WEBHOOK_TOKEN once set (OCC_INTAKE_TOKEN is then
    refused there); until then OCC_INTAKE_TOKEN, with a warning at start."""
    settings = services.settings
    return _matches(given, settings.chatwoot_webhook_token or settings.intake_token)


def _matches(given: str | None, expected: SecretStr | None) -> bool:
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def _bearer_ok(request: Request, services: Services) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _token_ok(token.strip(), services)


def _chatwoot_signature_ok(request: Request, raw: bytes, services: Services) -> bool:
    """With CHATWOOT_WEBHOOK_SECRET set, only signed deliveries from the last 5 minutes pass."""
    secret = services.settings.chatwoot_webhook_secret
    if secret is None:
        return True
    timestamp = request.headers.get("x-chatwoot-timestamp", "")
    signature = request.headers.get("x-chatwoot-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20):
        return False
    fresh = abs(services.clock().timestamp() - int(timestamp)) <= SIGNATURE_MAX_AGE
    return fresh and verify_signature(secret.get_secret_value(), timestamp, raw, signature)


def _seen_in_chatwoot(request: Request, work: WorkInChatwoot, services: Services) -> Response:
    """Hand what people did in Chatwoot to its flow, in the background, and say so."""
    if not _our_account(work.account_id, services):
        return _other_account(work.account_id)
    if not _ids_fit(work, "conversation_id", "agent_id"):
        return _refuse(request, "/webhooks/chatwoot", 400, "an id is not a 64-bit integer")
    seen = chatwoot_work.seen_in_chatwoot(services, work)
    services.background.spawn(seen, name="seen-in-chatwoot")
    said = "assigned" if isinstance(work, AssignedInChatwoot) else "done"
    return JSONResponse({f"{said}_in_chatwoot": work.conversation_id}, 200)


def _our_account(account_id: int | None, services: Services) -> bool:
    """Whether a delivery is from CHATWOOT_ACCOUNT_ID (or cannot say, or none is set)."""
    ours = services.settings.chatwoot_account_id
    return not ours or account_id is None or str(account_id) == ours


def _other_account(account_id: int | None) -> Response:
    log.warning("webhook from Chatwoot account %s ignored", account_id)
    return JSONResponse({"ignored": f"account {account_id} is not CHATWOOT_ACCOUNT_ID"}, 200)


def _check_ids(incoming: IncomingMessage) -> None:
    for name in ("conversation_id", "message_id", "account_id"):
        if not _ids_fit(incoming, name):
            value = getattr(incoming, name)
            raise ValueError(f"{name}: must be a 64-bit integer (got {str(value)[:30]})")


def _ids_fit(parsed: object, *names: str) -> bool:
    """Whether the ids ``parsed`` has under ``names`` fit the database's 64-bit columns."""
    values = (getattr(parsed, name, None) for name in names)
    return all(value is None or 0 <= value < MAX_ID for value in values)


async def _json_body(request: Request, route: str) -> Any:
    try:
        raw = await read_body(request)
    except BodyTooLarge as error:
        return _refuse(request, route, 413, str(error))
    return _parse_json(request, route, raw)


def _parse_json(request: Request, route: str, raw: bytes) -> Any:
    try:
        return loads(raw)
    except InvalidJson as error:
        return _refuse(request, route, 400, str(error))


def _refuse(request: Request, route: str, status: int, reason: str) -> Response:
    client = request.client.host if request.client else "?"
    log.warning("%s from %s refused %d: %s", route, client, status, reason[:200])
    return JSONResponse({"error": reason}, status)


def create_web_app(services: Services, bolt: AsyncApp | None, lifespan: Any = None) -> Starlette:
    return Starlette(routes=routes(services, bolt), lifespan=lifespan)
