"""The Slack Request URL: checks a request before Bolt sees it, then dispatches it to Bolt.

Bolt and slack_sdk fail with an exception (so a 500 and a traceback) on requests nobody
signed, before or while checking the signature:

- slack_bolt/adapter/starlette/async_handler.py `to_async_bolt_request`: `body.decode("utf-8")`
  raises UnicodeDecodeError on a body that is not UTF-8;
- slack_bolt/request/async_request.py `AsyncBoltRequest.__init__` parses the body (request/
  internals.py `parse_body`: `json.loads`, JSONDecodeError, ValueError for 4,300-digit numbers,
  RecursionError) and builds the context (`build_async_context`: `.get` and `in` on whatever
  the JSON held, AttributeError and TypeError), all before verification and outside the
  try of `async_dispatch`;
- slack_sdk/signature/__init__.py `SignatureVerifier.is_valid`: `int(timestamp)` raises
  ValueError on a timestamp that is not a number (or has over 4,300 digits), and
  `hmac.compare_digest` TypeError on a signature with non-ASCII characters; Bolt's
  middleware/request_verification calls it with the header as sent;
- Bolt reads the last of repeated headers, Starlette the first.

So this guard answers those itself, with one warning line and no traceback, in this order:

413  body larger than MAX_BODY_BYTES (read no further);
400  X-Slack-Signature or X-Slack-Request-Timestamp sent more than once, or a timestamp
     that is not 1 to 20 ASCII digits: malformed before the signature can be judged;
401  signature or timestamp missing, timestamp more than 5 minutes off, or the signature
     (HMAC-SHA256 over the raw bytes) does not match;
400  signed, but the body is not UTF-8, does not parse the way Bolt parses it, is not a JSON
     object, or fails `payload.check` (a field Bolt or a listener reads is missing or
     mistyped);
200  signed and well formed but of a payload type nothing here handles (not dispatched), or
     dispatched and not handled by any listener (Bolt says 404): Slack expects every
     request acknowledged.

An unsigned `ssl_check=1` is answered 200, as Bolt's SslCheck does before verifying.
Everything else goes to Bolt, which verifies the signature again and runs the listeners.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.handlers import payload
from bot.services import Clock
from bot.web.body import MAX_BODY_BYTES, BodyTooLarge, InvalidJson, loads, parse_form, read_body

log = logging.getLogger("occ.web.slack")

SIGNATURE_MAX_AGE = 300  # seconds, as slack_sdk's SignatureVerifier
_TIMESTAMP = re.compile(r"[0-9]{1,20}")
_UNHANDLED = BoltResponse(status=404, body={"error": "unhandled request"}).body
SLACK_RESPONSE_HOSTS = ("https://hooks.slack.com/",)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackGuard:
    """Serves POST /slack/events for `bolt`."""

    def __init__(
        self, bolt: AsyncApp, signing_secret: str | None, api_url: str, clock: Clock
    ) -> None:
        self.bolt = bolt
        self.clock = clock
        self.secret = signing_secret.encode() if signing_secret else None
        # /occ answers through the command's response_url: Slack's, or (with SLACK_API_URL
        # pointing at a stand-in) that host's.
        origin = urlsplit(api_url)
        self.response_hosts = (*SLACK_RESPONSE_HOSTS, f"{origin.scheme}://{origin.netloc}/")

    async def handle(self, request: Request) -> Response:
        try:
            bolt_request = await self.admit(request)
        except Refused as refusal:
            client = request.client.host if request.client else "?"
            log.warning(
                "Slack request from %s refused %d: %s", client, refusal.status, refusal.reason[:200]
            )
            return JSONResponse({"error": refusal.reason}, refusal.status)
        if bolt_request is None:
            return Response(status_code=200)
        response = await self.bolt.async_dispatch(bolt_request)
        if response.status == 404 and response.body == _UNHANDLED:
            return Response(status_code=200)  # Bolt has logged "Unhandled request"
        return to_starlette_response(response)

    async def admit(self, request: Request) -> AsyncBoltRequest | None:
        """The request for Bolt; None when it is only to be acknowledged; else Refused."""
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge as error:
            raise Refused(413, str(error)) from None
        if _is_ssl_check(raw):
            return None
        self.verify(request, raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body: not UTF-8") from None
        try:
            body = _parse_like_bolt(text, _content_type_like_bolt(request))
            payload.check(body, response_url_ok=self.response_url_ok)
        except (InvalidJson, payload.InvalidPayload) as error:
            raise Refused(400, str(error)) from None
        if not payload.dispatched(body):
            log.info("Slack payload of type %r acknowledged, not dispatched", body.get("type"))
            return None
        try:  # Bolt builds its context; payload.check covered what it reads
            return AsyncBoltRequest(
                # Bolt takes an already parsed body only in its "socket_mode", which changes
                # nothing else for us: the signature is checked above (Bolt's own check is
                # off), and no listener is lazy. So the body is not parsed a second time.
                body=body,
                query=request.query_params,  # type: ignore[arg-type]
                headers=request.headers,  # type: ignore[arg-type]
                mode="socket_mode",
            )
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as error:
            raise Refused(400, f"Bolt cannot read it ({type(error).__name__}: {error})") from None

    def verify(self, request: Request, raw: bytes) -> None:
        timestamps = request.headers.getlist("x-slack-request-timestamp")
        signatures = request.headers.getlist("x-slack-signature")
        if len(timestamps) > 1 or len(signatures) > 1:
            raise Refused(400, "X-Slack-Signature or X-Slack-Request-Timestamp sent twice")
        timestamp = timestamps[0] if timestamps else ""
        signature = signatures[0] if signatures else ""
        if not timestamp or not signature:
            raise Refused(401, "unsigned: X-Slack-Signature and X-Slack-Request-Timestamp needed")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(400, "X-Slack-Request-Timestamp: not a Unix time in seconds")
        if self.secret is None:
            raise Refused(401, "no SLACK_SIGNING_SECRET to check the signature with")
        if abs(self.clock().timestamp() - int(timestamp)) > SIGNATURE_MAX_AGE:
            raise Refused(401, "X-Slack-Request-Timestamp: more than 5 minutes off")
        base = b"v0:" + timestamp.encode() + b":" + raw
        expected = b"v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature.encode("latin-1")):
            raise Refused(401, "X-Slack-Signature: does not match")

    def response_url_ok(self, url: str) -> bool:
        return url.startswith(self.response_hosts)


def _is_ssl_check(raw: bytes) -> bool:
    if b"ssl_check" not in raw[:2000]:
        return False
    try:
        fields = dict(parse_form(raw.decode("utf-8")))
    except UnicodeDecodeError:
        return False
    return fields.get("ssl_check") == "1"


def _content_type_like_bolt(request: Request) -> str | None:
    """The media type as slack_bolt/request/internals.py `extract_content_type` reads it:
    from the last Content-Type header."""
    sent = request.headers.getlist("content-type")
    return sent[-1].split(";")[0] if sent and sent[-1] else None


def _parse_like_bolt(text: str, content_type: str | None) -> Any:
    """The body as slack_bolt/request/internals.py `parse_body` reads it, strictly."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return loads(text)
    if "payload" in text:
        value = dict(parse_form(text)).get("payload")
        return {} if value is None else loads(value)
    return dict(parse_form(text))
