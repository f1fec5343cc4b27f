"""The Slack stand-in's file uploads, in Slack's flow: ``files.getUploadURLExternal``, POST the
bytes to the URL it gave, ``files.completeUploadExternal`` to share them in a channel."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.demo.standins.slack.arguments import invalid_arguments, required
from bot.demo.standins.slack.model import SlackError
from bot.demo.standins.slack.workspace import Workspace

# files.completeUploadExternal's channel_id must be a conversation ID, never a #name.
CONVERSATION_ID = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")


class Files(Workspace):
    """files.getUploadURLExternal, the upload itself, and files.completeUploadExternal."""

    url: str  # the server's root URL (`Standin.url`)
    _files: dict[str, dict[str, Any]]

    def files(self) -> list[dict[str, Any]]:
        """Uploaded files: ``filename``, ``title``, ``content`` (bytes), and where they were
        shared (``channel``, ``thread_ts``), oldest first."""
        return [dict(f) for f in self._files.values() if f.get("completed")]

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = required(args, "filename", "invalid_arguments")
        length = int(required(args, "length", "invalid_arguments"))
        file_id = self._new_id("F")
        self._files[file_id] = {"id": file_id, "filename": filename, "length": length}
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: Request) -> Response:
        found = self._files.get(request.path_params["file_id"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        content = await request.body()
        if len(content) != found["length"]:
            return PlainTextResponse("length mismatch", status_code=400)
        found["content"] = content
        return PlainTextResponse(f"OK - {len(content)}")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise invalid_arguments(["missing required field: files"])
        channel = args.get("channel_id")
        if channel:
            if not CONVERSATION_ID.fullmatch(str(channel)):  # docs/real-services.md
                raise invalid_arguments(
                    [
                        "[ERROR] failed to match all allowed schemas [json-pointer:/channel_id]",
                        f"[ERROR] does not match pattern {CONVERSATION_ID.pattern} "
                        "[json-pointer:/channel_id]",
                    ]
                )
            self._check_access(str(channel), member=True)
        done = []
        for item in files:
            found = self._files.get(str(item.get("id")))
            if found is None or "content" not in found:
                raise SlackError("file_not_found")
            channel = args.get("channel_id")
            found.update(
                completed=True,
                title=item.get("title") or found["filename"],
                channel=self._resolve_channel(channel) if channel else None,
                thread_ts=args.get("thread_ts"),
            )
            done.append({"id": found["id"], "title": found["title"], "name": found["filename"]})
        channel = args.get("channel_id")
        if channel:  # Slack shares the files in a message of their own
            message = {
                "type": "message",
                "text": args.get("initial_comment") or "",
                "ts": self._next_ts(),
                "user": self.bot_user_id,
                "files": done,
                "upload": True,
            }
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self._messages[(self._resolve_channel(channel), message["ts"])] = message
        return {"files": done}
