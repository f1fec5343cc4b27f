"""The Slack stand-in's ``chat.*`` methods: post, update, delete, ephemeral messages and
permalinks, and what a test reads of the messages posted."""

from __future__ import annotations

from typing import Any

from bot.demo.standins.slack.arguments import message_content, message_metadata, required
from bot.demo.standins.slack.model import SlackError
from bot.demo.standins.slack.workspace import Workspace


class Chat(Workspace):
    """chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink."""

    _refused: dict[str, str]  # channel id -> the error posting there answers
    _ephemerals: list[dict[str, Any]]
    _files: dict[str, dict[str, Any]]  # uploads (`Files`): what image blocks may show

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A posted message as it is now (after any chat.update)."""
        return self._messages.get((self._resolve_channel(channel), ts))

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted in a channel, thread replies included, in posting order."""
        channel_id = self._resolve_channel(channel)
        return [m for (c, _), m in self._messages.items() if c == channel_id]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies in a message's thread, oldest first."""
        return [m for m in self.messages_in(channel) if m.get("thread_ts") == thread_ts]

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages shown (to ``user`` only, if given), oldest first."""
        return [e for e in self._ephemerals if user is None or e["user"] == user]

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        if channel in self._refused:
            raise SlackError(self._refused[channel])
        self._check_access(channel, member=False)
        if channel in self._rooms and self._rooms[channel].archived:
            raise SlackError("is_archived")
        content = message_content(args, self._files)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": content.get("text", ""),
            "ts": ts,
            "username": self._users[self.bot_user_id].name,
            "bot_id": self.bot_id,
            "user": self.bot_user_id,
            "app_id": self.app_id,
            "team": self.team_id,
            **{k: v for k, v in content.items() if k != "text"},
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        metadata = message_metadata(args.get("metadata"))
        if metadata is not None:
            message["metadata"] = metadata
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": dict(message)}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        ts = str(required(args, "ts", "message_not_found"))
        if self._messages.pop((channel, ts), None) is None:
            raise SlackError("message_not_found")
        return {"channel": channel, "ts": ts}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        ts = str(required(args, "ts", "message_not_found"))
        stored = self._messages.get((channel, ts))
        if stored is None:
            raise SlackError("message_not_found")
        content = message_content(args, self._files)
        # Slack keeps the fields an update leaves out; an empty blocks list removes the blocks.
        stored.update(content)
        stored["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": stored["text"], "message": dict(stored)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)  # even with chat:write.public
        user = str(required(args, "user", "user_not_in_channel"))
        # The recipient "should be in the channel" (docs/real-services.md, 5): the app's DM
        # with one person holds no one else.
        owner = next((u for u, dm in self._dms.items() if dm == channel and "," not in u), None)
        if owner is not None and owner != user:
            raise SlackError("user_not_in_channel")
        content = message_content(args, self._files)
        ts = self._next_ts()
        self._ephemerals.append({"channel": channel, "user": user, "message_ts": ts, **content})
        return {"message_ts": ts}

    def _get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(required(args, "channel", "channel_not_found"))
        ts = str(required(args, "message_ts", "message_not_found"))
        if (channel, ts) not in self._messages:
            raise SlackError("message_not_found")
        link = f"{self._workspace_url}archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}
