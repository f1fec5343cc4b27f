"""Block Kit's limits as the Slack stand-in enforces them: block counts, text lengths, and
Slack's error strings with their JSON pointers (see fixtures/real/SOURCES.md, "Block Kit
limits"); and image blocks' Slack files, which must be files the message's readers can see
(docs/real-services.md, 18)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
# A message whose blocks hold more than this much text is refused with
# ``msg_blocks_too_long``: Slack does not document the exact limit, it was seen from about
# 13,000 (slackapi/bolt-js#2509), so the stand-in errs on the strict side.
MESSAGE_BLOCKS_TEXT_MAX = 12_000
# A slack_file's id, as Slack checks it ("input must match regex pattern: ^[F][A-Z0-9]{8,}$",
# slackapi/python-slack-sdk#1521).
SLACK_FILE_ID = re.compile(r"^[F][A-Z0-9]{8,}$")


def block_errors(blocks: list[Any], *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Slack-style error strings for blocks that break Block Kit's limits; empty when valid."""
    errors = _items(blocks, max_blocks, pointer)
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"{pointer}/{i}")
    return errors


def view_errors(view: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for key in ("title", "submit", "close"):
        errors += _text_object(
            view.get(key),
            24,
            f"/view/{key}",
            required=key == "title" and view.get("type") == "modal",
        )
    errors += _length(view.get("private_metadata"), 3000, "/view/private_metadata")
    errors += _length(view.get("callback_id"), 255, "/view/callback_id")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return [*errors, "must be an array [json-pointer:/view/blocks]"]
    return errors + block_errors(blocks, max_blocks=VIEW_BLOCKS_MAX, pointer="/view/blocks")


def text_length(value: Any) -> int:
    """Characters of text in text objects and markdown blocks, however deeply nested."""
    if isinstance(value, list):
        return sum(text_length(v) for v in value)
    if not isinstance(value, dict):
        return 0
    return sum(
        len(v) if k == "text" and isinstance(v, str) else text_length(v) for k, v in value.items()
    )


def _block_errors(block: Any, p: str) -> list[str]:
    if not isinstance(block, dict) or not block.get("type"):
        return [f"missing required field: type [json-pointer:{p}]"]
    kind = block["type"]
    errors = _length(block.get("block_id"), 255, f"{p}/block_id")
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            errors.append(f"must provide either text or fields [json-pointer:{p}]")
        errors += _text_object(block.get("text"), 3000, f"{p}/text")
        fields = block.get("fields") or []
        errors += _items(fields, 10, f"{p}/fields")
        for i, field in enumerate(fields):
            errors += _text_object(field, 2000, f"{p}/fields/{i}", required=True)
        if block.get("accessory") is not None:
            errors += _element_errors(block["accessory"], f"{p}/accessory")
    elif kind == "header":
        errors += _text_object(block.get("text"), 150, f"{p}/text", required=True)
    elif kind in ("actions", "context"):
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements") or []
        errors += _items(elements, limit, f"{p}/elements")
        if kind == "actions":
            for i, element in enumerate(elements):
                errors += _element_errors(element, f"{p}/elements/{i}")
    elif kind == "input":
        errors += _text_object(block.get("label"), 2000, f"{p}/label", required=True)
        errors += _text_object(block.get("hint"), 2000, f"{p}/hint")
        errors += _element_errors(block.get("element"), f"{p}/element")
    elif kind == "markdown":
        errors += _length(block.get("text"), 12_000, f"{p}/text")
    elif kind == "image":
        errors += _image_errors(block, p)
    return errors


def _image_errors(block: dict[str, Any], p: str) -> list[str]:
    """docs.slack.dev/reference/block-kit/blocks/image-block and .../slack-file-object: alt
    text, and either a public ``image_url`` or a ``slack_file`` naming its file by ``url`` or
    ``id`` (both: refused)."""
    errors = _length(block.get("alt_text"), 2000, f"{p}/alt_text")
    if not block.get("alt_text"):
        errors.append(f"missing required field: alt_text [json-pointer:{p}]")
    errors += _text_object(block.get("title"), 2000, f"{p}/title")
    errors += _length(block.get("image_url"), 3000, f"{p}/image_url")
    found = block.get("slack_file")
    if (block.get("image_url") is None) == (found is None):
        errors.append(f"must provide either image_url or slack_file [json-pointer:{p}]")
    elif found is not None:
        if not isinstance(found, dict) or ("url" in found) == ("id" in found):
            errors.append(f"must provide either url or id [json-pointer:{p}/slack_file]")
        elif "id" in found and not SLACK_FILE_ID.fullmatch(str(found["id"])):
            errors.append(
                f"input must match regex pattern: {SLACK_FILE_ID.pattern} "
                f"[json-pointer:{p}/slack_file/id]"
            )
    return errors


def slack_file_errors(blocks: list[Any], files: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Image blocks naming a Slack file nobody but its uploader can see: one that is not
    known, not uploaded, or shared in no conversation (a file the bot uploaded without a
    channel is private to the bot: slackapi/python-slack-sdk#1658, java-slack-sdk#1349)."""
    errors = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") != "image":
            continue
        found = block.get("slack_file")
        if not isinstance(found, dict):
            continue
        named = found.get("id") or next((f for f in files if f in str(found.get("url"))), None)
        file = files.get(str(named))
        if file is None or not file.get("completed") or not file.get("channel"):
            errors.append(f"invalid slack file [json-pointer:/blocks/{i}/slack_file]")
    return errors


def _element_errors(element: Any, p: str) -> list[str]:
    if not isinstance(element, dict) or not element.get("type"):
        return [f"missing required field: type [json-pointer:{p}]"]
    errors = _length(element.get("action_id"), 255, f"{p}/action_id")
    errors += _text_object(element.get("placeholder"), 150, f"{p}/placeholder")
    if element["type"] == "button":
        errors += _text_object(element.get("text"), 75, f"{p}/text", required=True)
        errors += _length(element.get("value"), 2000, f"{p}/value")
        errors += _length(element.get("url"), 3000, f"{p}/url")
    options = element.get("options") or []
    errors += _items(options, 100, f"{p}/options")
    errors += _items(element.get("option_groups") or [], 100, f"{p}/option_groups")
    for i, option in enumerate(options):
        errors += _text_object(option.get("text"), 75, f"{p}/options/{i}/text", required=True)
        errors += _length(option.get("value"), 150, f"{p}/options/{i}/value")
    return errors


def _text_object(obj: Any, limit: int, p: str, *, required: bool = False) -> list[str]:
    if obj is None:
        return [f"missing required field: text [json-pointer:{p}]"] if required else []
    text = obj.get("text") if isinstance(obj, dict) else None
    if not isinstance(text, str):
        return [f"must be a text object [json-pointer:{p}]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{p}/text]"]
    return _length(text, limit, f"{p}/text")


def _length(value: Any, limit: int, p: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{p}]"]
    return []


def _items(value: Any, limit: int, p: str) -> list[str]:
    if isinstance(value, list) and len(value) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{p}]"]
    return []
