"""Who is who to the Slack stand-in: ``auth.test`` (the token's bot and team) and
``users.info`` (a member)."""

from __future__ import annotations

from typing import Any

from bot.demo.standins.slack.model import SlackError
from bot.demo.standins.slack.workspace import Workspace


class Identity(Workspace):
    """auth.test and users.info."""

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self._workspace_url,
            "team": self.team,
            "user": self._users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        real_name = user.real_name or user.name
        return {
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "deleted": False,
                "real_name": real_name,
                "tz": user.tz,
                "is_admin": user.is_admin,
                "is_owner": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "profile": {
                    "real_name": real_name,
                    "real_name_normalized": real_name,
                    "display_name": user.name,
                    "display_name_normalized": user.name,
                    "email": user.email,
                    "team": self.team_id,
                },
            }
        }
