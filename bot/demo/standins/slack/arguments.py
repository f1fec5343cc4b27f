"""A Web API call's arguments as the Slack stand-in reads and checks them: query string, JSON
or form body and token; required arguments, message content, metadata and views, refused in
Slack's error forms."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from bot.demo.standins.slack.blocks import (
    MESSAGE_BLOCKS_MAX,
    MESSAGE_BLOCKS_TEXT_MAX,
    block_errors,
    slack_file_errors,
    text_length,
    view_errors,
)
from bot.demo.standins.slack.model import SlackError

MESSAGE_TEXT_MAX = 40_000  # Slack truncates longer text
JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files")


async def read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """Arguments from the query string and a JSON or form body, and the token."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body:
        if "json" in request.headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(parsed, dict):
                raise SlackError("invalid_json")
            args.update(parsed)
        else:
            args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key in JSON_ARGS:  # form-encoded calls send these as JSON strings
        if isinstance(args.get(key), str) and args[key]:
            with contextlib.suppress(ValueError):  # left a string, then refused by validation
                args[key] = json.loads(args[key])
    token = args.pop("token", None)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    return args, token


def required(args: dict[str, Any], key: str, error: str) -> Any:
    value = args.get(key)
    if value is None or value == "":
        raise SlackError(error)
    return value


def invalid_arguments(messages: list[str]) -> SlackError:
    return SlackError("invalid_arguments", extra={"response_metadata": {"messages": messages}})


def invalid_blocks(errors: list[str]) -> SlackError:
    return SlackError(
        "invalid_blocks",
        extra={
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        },
    )


def message_metadata(value: Any) -> dict[str, Any] | None:
    """``metadata`` as chat.postMessage takes it: a JSON object (or its text) with an
    ``event_type`` and an ``event_payload`` object."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_metadata_format") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def message_content(
    args: dict[str, Any], files: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """text / blocks / attachments of a message, checked as Slack checks them (with the
    uploaded ``files``, the Slack files its image blocks name)."""
    content: dict[str, Any] = {}
    if args.get("text") is not None:
        content["text"] = str(args["text"])[:MESSAGE_TEXT_MAX]
    blocks = args.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        errors = block_errors(blocks, max_blocks=MESSAGE_BLOCKS_MAX)
        errors = errors or slack_file_errors(blocks, files or {})
        if errors:
            raise invalid_blocks(errors)
        if text_length(blocks) > MESSAGE_BLOCKS_TEXT_MAX:
            raise SlackError("msg_blocks_too_long")
        content["blocks"] = blocks
    if args.get("attachments") is not None:
        content["attachments"] = args["attachments"]
    if not content.get("text") and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    return content


def view_arg(args: dict[str, Any], expected_type: str) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise invalid_arguments(["[ERROR] missing required field: view"])
    if view.get("type") != expected_type:
        raise invalid_arguments([f"[ERROR] must be '{expected_type}' [json-pointer:/view/type]"])
    errors = view_errors(view)
    if errors:
        raise invalid_arguments([f"[ERROR] {e}" for e in errors])
    return view
