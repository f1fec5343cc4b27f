"""Reading the few fields the handlers need out of Slack's payloads, and checking them first.

`check` runs (in bot/web/slack_guard.py) on every signed payload before Bolt sees it. It
checks the type of every field that Bolt's own request parsing, listener matching and
unhandled-request logging index into, and every field our listeners read, so that a payload
that would make either raise is answered 400 instead of 500. The readers below assume what
`check` guarantees, and raise `InvalidPayload` (answered 400 by the app's error handler)
rather than KeyError or TypeError if they ever meet a payload that skipped it.

Only the payload types in `DISPATCHED` reach Bolt; the guard acknowledges any other type
without dispatching it. A listener for another type (a shortcut, say) needs its type added
there and its fields checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# Payload `type`s passed on to Bolt; slash commands (no `type`, a `command`) are too.
DISPATCHED = frozenset({"url_verification", "event_callback", "block_actions", "view_submission"})

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
_IDENTIFIERS = ("enterprise", "team", "user", "channel")


class InvalidPayload(ValueError):
    """A signed Slack payload lacks a field Bolt or a listener reads, or has it mistyped."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def user_id(body: Mapping[str, Any]) -> str:
    return _user_id(_object(body, "user").get("id"), "user.id")


def action_value(body: Mapping[str, Any]) -> str:
    return _first_action(body).get("value") or ""


def channel_id(body: Mapping[str, Any]) -> str | None:
    container = _mapping(body, "container") or {}
    channel = _optional_str(container.get("channel_id"), "container.channel_id")
    if not channel:
        channel = _optional_str((_mapping(body, "channel") or {}).get("id"), "channel.id")
    return channel or None


def state_value(view: Mapping[str, Any], input_id: str) -> str | None:
    """The submitted value of an input whose block_id and action_id are both `input_id`."""
    state = _mapping(view, "state", where="view") or {}
    values = _mapping(state, "values", where="view.state") or {}
    block = _mapping(values, input_id, where="view.state.values") or {}
    element = block.get(input_id)
    if element is None:
        return None
    return _element_value(element, f"view.state.values.{input_id}.{input_id}")


def check(body: object, *, response_url_ok: Callable[[str], bool]) -> None:
    """Raise InvalidPayload unless Bolt and our listeners can read `body` without failing.

    `response_url_ok` says whether a slash command's response_url may be answered to (the
    /occ listener posts its answer there).
    """
    if not isinstance(body, Mapping):
        raise InvalidPayload("body", "must be an object")
    _envelope(body)
    kind = body.get("type")
    if "command" in body:
        _command(body, response_url_ok)
    elif kind == "block_actions":
        _block_actions(body)
    elif kind == "view_submission":
        _view_submission(body)
    elif kind == "event_callback":
        _event_callback(body)
    elif kind == "url_verification":
        _str(body.get("challenge"), "challenge")
    elif not isinstance(kind, str) or not kind:
        raise InvalidPayload("type", "is required (a string), or a slash command's `command`")


def dispatched(body: Mapping[str, Any]) -> bool:
    """Whether Bolt gets this (checked) payload; the guard acknowledges the others."""
    return "command" in body or body.get("type") in DISPATCHED


# -- what Bolt reads from any payload ------------------------------------------------------


def _envelope(body: Mapping[str, Any]) -> None:
    _optional_str(body.get("type"), "type")
    _identifiers(body, "")
    for name in ("message", "previous_message"):  # Bolt looks for ids in these when objects
        if isinstance(body.get(name), Mapping):
            _identifiers(body[name], name)
    event = _mapping(body, "event")
    if event is not None:
        _identifiers(event, "event")
        for name in ("message", "previous_message", "item", "assistant_thread"):
            if isinstance(event.get(name), Mapping):
                _identifiers(event[name], f"event.{name}")
    view = _mapping(body, "view")
    if view is not None:
        _optional_str(view.get("callback_id"), "view.callback_id")
        _optional_str(view.get("type"), "view.type")
    _optional_str(body.get("response_url"), "response_url")
    response_urls = body.get("response_urls")
    if response_urls is not None:
        for index, item in enumerate(_list_of_objects(response_urls, "response_urls")):
            _optional_str(item.get("response_url"), f"response_urls[{index}].response_url")


def _identifiers(data: Mapping[str, Any], where: str) -> None:
    """Bolt reads enterprise, team, user and channel as a string or an object with an `id`,
    and recurses into `authorizations[0]`."""
    prefix = f"{where}." if where else ""
    for name in _IDENTIFIERS:
        value = data.get(name)
        if isinstance(value, Mapping):
            _optional_str(value.get("id"), f"{prefix}{name}.id")
        elif value is not None and not isinstance(value, str):
            raise InvalidPayload(f"{prefix}{name}", "must be an object or a string")
    authorizations = data.get("authorizations")
    if authorizations is not None:
        field = f"{prefix}authorizations"
        for index, item in enumerate(_list_of_objects(authorizations, field)):
            _identifiers(item, f"{field}[{index}]")


# -- what our listeners read, by payload type ----------------------------------------------


def _command(body: Mapping[str, Any], response_url_ok: Callable[[str], bool]) -> None:
    command = _str(body.get("command"), "command")
    if not command.startswith("/"):
        raise InvalidPayload("command", "must start with /")
    _user_id(body.get("user_id"), "user_id")
    for name in ("text", "channel_id", "trigger_id", "team_id"):
        _optional_str(body.get(name), name)
    response_url = _str(body.get("response_url"), "response_url")
    if not response_url_ok(response_url):
        raise InvalidPayload("response_url", "is not a Slack response URL")


def _block_actions(body: Mapping[str, Any]) -> None:
    user_id(body)
    action = _first_action(body)
    _str(action.get("action_id"), "actions[0].action_id")
    _optional_str(action.get("block_id"), "actions[0].block_id")
    _str(body.get("trigger_id"), "trigger_id")
    channel_id(body)


def _view_submission(body: Mapping[str, Any]) -> None:
    user_id(body)
    view = _object(body, "view")
    _str(view.get("callback_id"), "view.callback_id")
    if _str(view.get("type"), "view.type") == "workflow_step":  # Bolt then reads workflow_step
        _object(body, "workflow_step")
    if not isinstance(view.get("private_metadata"), str):  # the draft id, read as is
        raise InvalidPayload("view.private_metadata", "must be a string")
    state = _mapping(view, "state", where="view") or {}
    values = _mapping(state, "values", where="view.state") or {}
    for block_id, block in values.items():
        if not isinstance(block, Mapping):
            raise InvalidPayload(f"view.state.values.{block_id}", "must be an object")
        for action_id, element in block.items():
            _element_value(element, f"view.state.values.{block_id}.{action_id}")


def _event_callback(body: Mapping[str, Any]) -> None:
    event = _object(body, "event")
    kind = _str(event.get("type"), "event.type")
    _mapping(event, "function", where="event")  # Bolt's log of an unhandled function event
    if kind == "app_home_opened":
        _user_id(event.get("user"), "event.user")
        _optional_str(event.get("tab"), "event.tab")


# -- typed access --------------------------------------------------------------------------


def _element_value(element: object, field: str) -> str | None:
    if not isinstance(element, Mapping):
        raise InvalidPayload(field, "must be an object")
    if "selected_option" in element:
        option = element["selected_option"]
        if option is None:
            return None
        if not isinstance(option, Mapping):
            raise InvalidPayload(f"{field}.selected_option", "must be an object")
        value = option.get("value")
        return value if isinstance(value, str) else None
    for key in ("value", "selected_user", "selected_date"):  # text, users_select, datepicker
        value = element.get(key)
        if value is not None:
            return value if isinstance(value, str) else None
    return None


def _list_of_objects(value: object, field: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise InvalidPayload(field, "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise InvalidPayload(f"{field}[{index}]", "must be an object")
    return value


def _first_action(body: Mapping[str, Any]) -> Mapping[str, Any]:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InvalidPayload("actions", "must be a non-empty list")
    action = actions[0]
    if not isinstance(action, Mapping):
        raise InvalidPayload("actions[0]", "must be an object")
    _optional_str(action.get("value"), "actions[0].value")
    return action


def _object(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = _mapping(parent, name)
    if value is None:
        raise InvalidPayload(name, "is required")
    return value


def _mapping(parent: Mapping[str, Any], name: str, *, where: str = "") -> Mapping[str, Any] | None:
    value = parent.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise InvalidPayload(f"{where}.{name}" if where else name, "must be an object")
    return value


def _str(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidPayload(field, "must be a non-empty string")
    return value


def _optional_str(value: object, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(field, "must be a string")
    return value


def _user_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not _SLACK_USER_ID.fullmatch(value):
        raise InvalidPayload(field, "must be a Slack user id")
    return value
