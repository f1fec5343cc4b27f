"""The Slack stand-in's ``conversations.*`` methods: a thread's replies and a channel's history
(paged, membership checked), the channel list, a channel's info, joining it, and opening DMs."""

from __future__ import annotations

from typing import Any

from bot.demo.standins.slack.arguments import required
from bot.demo.standins.slack.model import SlackError
from bot.demo.standins.slack.workspace import Workspace


class Conversations(Workspace):
    """conversations.replies, .history, .list, .info, .join and .open."""

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The parent and its replies, oldest first (metadata only with include_all_metadata)."""
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)
        ts = str(required(args, "ts", "thread_not_found"))
        parent = self._messages.get((channel, ts))
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [
            m for (c, _), m in self._messages.items() if c == channel and m.get("thread_ts") == ts
        ]
        return self._page([parent, *replies], args)

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages, newest first, after ``oldest`` if given."""
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)
        oldest = float(args.get("oldest") or 0)
        found = [
            m
            for (c, ts), m in self._messages.items()
            if c == channel and not m.get("thread_ts") and float(ts) > oldest
        ]
        return self._page(sorted(found, key=lambda m: float(m["ts"]), reverse=True), args)

    def _page(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        """One page (``limit``, default 100) and the cursor to the next, as Slack pages."""
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        page = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in messages[start : start + limit]
        ]
        more = start + limit < len(messages)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channels of ``types`` the bot can see (public ones, and private ones it is in),
        paged as Slack pages them."""
        types = set(str(args.get("types") or "public_channel").split(","))
        skip_archived = str(args.get("exclude_archived")).lower() in ("true", "1")
        channels = [
            room.as_slack()
            for room in sorted(self._rooms.values(), key=lambda r: r.name)
            if ("private_channel" if room.private else "public_channel") in types
            and (room.bot_member or not room.private)
            and not (skip_archived and room.archived)
        ]
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        more = start + limit < len(channels)
        return {
            "channels": channels[start : start + limit],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=False)
        return {"channel": self._room(channel).as_slack()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        """Join a public channel; a private one needs an invitation, an archived one none."""
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        room = self._room(channel)
        if room.private:  # joined only by invitation (docs/real-services.md)
            raise SlackError("method_not_supported_for_channel_type")
        if room.archived:
            raise SlackError("is_archived")
        answer: dict[str, Any] = {}
        if room.bot_member:
            answer = {
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        room.bot_member = True
        return {"channel": room.as_slack(), **answer}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {
                "no_op": True,
                "already_open": True,
                "channel": {"id": self._resolve_channel(str(args["channel"]))},
            }
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        unknown = [u for u in users if u not in self._users]
        if unknown:
            raise SlackError("user_not_found")
        if len(users) == 1:
            return {
                "no_op": True,
                "already_open": True,
                "channel": {"id": self._dm_channel(users[0])},
            }
        key = ",".join(sorted(users))
        if key not in self._dms:
            self._dms[key] = self._new_id("G")
        return {"channel": {"id": self._dms[key]}}
