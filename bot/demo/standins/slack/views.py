"""The Slack stand-in's modals and Home tab: the trigger_ids clicks carry, ``views.open``,
``views.update`` and ``views.publish``, and the views as stored."""

from __future__ import annotations

from typing import Any

from bot.demo.standins.slack.arguments import invalid_arguments, required, view_arg
from bot.demo.standins.slack.model import SlackError
from bot.demo.standins.slack.workspace import Workspace

TRIGGER_SECONDS = 3.0  # a trigger_id opens one modal, within 3 s of the click


class Views(Workspace):
    """views.open, views.update and views.publish."""

    _views: dict[str, dict[str, Any]]
    _triggers: dict[str, float]  # issued by `trigger`: when
    _used_triggers: set[str]

    def trigger(self) -> str:
        """A trigger_id as a click's payload carries it, issued now: views.open takes it
        once, within `TRIGGER_SECONDS`."""
        self._counter += 1
        trigger = f"{int(self._clock())}{self._counter:04d}.{self.team_id}.standin{self._counter}"
        self._triggers[trigger] = self._clock()
        return trigger

    def view(self, view_id: str) -> dict[str, Any] | None:
        return self._views.get(view_id)

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A trigger works once (``exchanged_trigger_id``) and, for one the stand-in issued,
        only within 3 s (``expired_trigger_id``): the error names in Slack's views.open
        reference (docs/real-services.md)."""
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise invalid_arguments(["invalid `trigger_id`"])
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        issued = self._triggers.get(str(trigger))
        if issued is not None and self._clock() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(str(trigger))
        view = view_arg(args, "modal")
        stored = self._store_view(view, self._new_id("V"))
        return {"view": stored}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next(
                (i for i, v in self._views.items() if v["external_id"] == args["external_id"]),
                None,
            )
        if not view_id or view_id not in self._views:
            raise SlackError("not_found")
        current = self._views[view_id]
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = view_arg(args, current["type"])
        return {"view": self._store_view(view, view_id, root=current["root_view_id"])}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(required(args, "user_id", "invalid_arguments"))
        view = view_arg(args, "home")
        existing = next((i for i, v in self._views.items() if v.get("user_id") == user), None)
        return {"view": self._store_view(view, existing or self._new_id("V"), user_id=user)}

    def _store_view(
        self,
        view: dict[str, Any],
        view_id: str,
        *,
        root: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        self._counter += 1
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self._clock())}.{self._counter:08d}",
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if user_id is not None:
            stored["user_id"] = user_id
        self._views[view_id] = stored
        return dict(stored)
