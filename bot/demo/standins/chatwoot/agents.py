"""The Chatwoot stand-in's agents: the token owner's profile, the agents list, and an agent as
Chatwoot shows it (as an assignee, as a message's sender)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.demo.standins.chatwoot.model import ChatwootAgent, Conversation


class Agents:
    """``/api/v1/profile`` and ``/agents`` (set up by `ChatwootStandin`)."""

    account_id: int
    agents: list[ChatwootAgent]

    async def _profile(self, request: Request, body: Any) -> Response:
        owner = self.agents[0]
        return JSONResponse(
            {
                "id": owner.id,
                "name": owner.name,
                "available_name": owner.name,
                "display_name": owner.name,
                "email": owner.email,
                "account_id": self.account_id,
                "role": owner.role,
                "confirmed": owner.confirmed,
                "avatar_url": "",
                "accounts": [
                    {
                        "id": self.account_id,
                        "name": "OCC Stand-in",
                        "status": "active",
                        "role": owner.role,
                        "availability_status": owner.availability_status,
                        "auto_offline": True,
                    }
                ],
            }
        )

    async def _agents(self, request: Request, body: Any) -> Response:
        return JSONResponse([self._agent_json(agent) for agent in self.agents])

    def _assignee_json(self, conversation: Conversation) -> dict[str, Any] | None:
        agent = next((a for a in self.agents if a.id == conversation.assignee_id), None)
        return self._agent_json(agent) if agent else None

    def _agent_json(self, agent: ChatwootAgent) -> dict[str, Any]:
        return {
            "id": agent.id,
            "account_id": self.account_id,
            "availability_status": agent.availability_status,
            "auto_offline": True,
            "confirmed": agent.confirmed,
            "email": agent.email,
            "provider": "email",
            "available_name": agent.name,
            "name": agent.name,
            "role": agent.role,
            "thumbnail": "",
        }

    @staticmethod
    def _sender_json(agent: ChatwootAgent) -> dict[str, Any]:
        return {
            "id": agent.id,
            "name": agent.name,
            "available_name": agent.name,
            "avatar_url": "",
            "type": "user",
            "availability_status": agent.availability_status,
            "thumbnail": "",
        }
