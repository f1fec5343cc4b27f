"""Local stand-ins for Slack's Web API and Chatwoot, served on 127.0.0.1.

The end-to-end tests and ``occ-bot demo`` share them: the bot talks to them over HTTP exactly as
it talks to the real services, and they record what they were asked.
"""

from bot.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.standins.server import Standin, StandinServer, wait_for
from bot.standins.slack import Call, SlackStandin, SlackUser

__all__ = [
    "Call",
    "ChatwootAgent",
    "ChatwootStandin",
    "SlackStandin",
    "SlackUser",
    "Standin",
    "StandinServer",
    "wait_for",
]
