"""Reading the few fields the handlers need out of Slack's interaction payloads."""

from __future__ import annotations

from typing import Any


def user_id(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def action_value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def channel_id(body: dict[str, Any]) -> str | None:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return str(channel) if channel else None


def state_value(view: dict[str, Any], input_id: str) -> str | None:
    """The submitted value of an input whose block_id and action_id are both `input_id`."""
    element = view.get("state", {}).get("values", {}).get(input_id, {}).get(input_id, {})
    if "selected_option" in element:
        option = element["selected_option"]
        return option.get("value") if option else None
    value = element.get("value")
    return value if isinstance(value, str) else None
