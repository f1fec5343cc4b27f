"""Check Block Kit JSON the way Slack would: slack_sdk's own models, then the limits they skip.

slack_sdk validates lengths of section/header/button texts, fields count, block ids, view
title/submit/close, private_metadata and block count, but keeps select and radio options as
plain dicts and never checks the 12,000-character message total, context texts, empty texts
or an input's initial_value against its max_length. Those are checked here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View

MESSAGE_BLOCKS_MAX = 50
MODAL_BLOCKS_MAX = 100
MESSAGE_TEXT_BUDGET = 12_000
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_TEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75


def assert_valid_message(blocks: Sequence[Mapping[str, Any]]) -> None:
    """Raise AssertionError (or slack_sdk's SlackObjectFormationError) if Slack would refuse."""
    assert 0 < len(blocks) <= MESSAGE_BLOCKS_MAX, f"{len(blocks)} blocks"
    for block in blocks:
        _assert_block(block)
    total = text_total(blocks)
    assert total <= MESSAGE_TEXT_BUDGET, f"message holds {total} characters of text"


def assert_valid_modal(view: Mapping[str, Any]) -> None:
    assert view["type"] == "modal"
    parsed = View(**view)
    parsed.to_dict()  # runs the view's validators and every nested block's
    assert 0 < len(view["blocks"]) <= MODAL_BLOCKS_MAX
    for block in view["blocks"]:
        _assert_block(block)
    assert len(view.get("private_metadata", "")) <= 3000
    for key in ("title", "submit", "close"):
        assert 1 <= len(view[key]["text"]) <= 24, key


def text_objects(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from text_objects(item)
    elif isinstance(node, Mapping):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
            return
        for value in node.values():
            yield from text_objects(value)


def text_total(blocks: Sequence[Mapping[str, Any]]) -> int:
    return sum(len(obj["text"]) for obj in text_objects(list(blocks)))


def all_text(blocks: Sequence[Mapping[str, Any]]) -> str:
    """Every string anywhere in the blocks, joined: what a reader or Slack's parser could see."""
    return json.dumps(list(blocks), ensure_ascii=False)


def _assert_block(block: Mapping[str, Any]) -> None:
    parsed = Block.parse(dict(block))
    assert parsed is not None, f"slack_sdk does not know block {block.get('type')!r}"
    # to_dict() runs every validator, nested ones included; a key slack_sdk dropped means a
    # misspelt or unsupported attribute, which Slack would refuse too.
    assert _plain_json(parsed.to_dict()) == _plain_json(block)
    for obj in text_objects(block):
        assert obj["text"], f"empty text in {block.get('type')} block"
    kind = block["type"]
    if kind == "section":
        if "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        for field in block.get("fields", []):
            assert len(field["text"]) <= FIELD_TEXT_MAX
    elif kind == "header":
        assert len(block["text"]["text"]) <= HEADER_TEXT_MAX
    elif kind == "context":
        assert len(block["elements"]) <= 10
        for element in block["elements"]:
            assert len(element["text"]) <= CONTEXT_TEXT_MAX
    elif kind == "actions":
        assert len(block["elements"]) <= 25
        for element in block["elements"]:
            assert len(element["text"]["text"]) <= BUTTON_TEXT_MAX
            assert len(element.get("value", "")) <= 2000
    elif kind == "input":
        _assert_input_element(block["element"])


def _assert_input_element(element: Mapping[str, Any]) -> None:
    options = element.get("options")
    if options is not None:
        assert 0 < len(options) <= (10 if element["type"] == "radio_buttons" else 100)
        for option in Option.parse_all(options) or []:
            option.to_dict()
        for option in options:
            assert len(option["text"]["text"]) <= OPTION_TEXT_MAX
        initial = element.get("initial_option")
        if initial is not None:
            assert initial in options, "initial_option must equal one of the options"
    if element["type"] == "plain_text_input":
        limit = element.get("max_length", 3000)
        assert 1 <= limit <= 3000
        assert len(element.get("initial_value", "")) <= limit


def _plain_json(value: Any) -> Any:
    return json.loads(json.dumps(value))
