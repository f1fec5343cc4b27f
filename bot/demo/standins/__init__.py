"""Local stand-ins for Slack's Web API and Chatwoot, served on 127.0.0.1.

The end-to-end tests and ``occ-bot demo`` share them: the bot talks to them over HTTP exactly as
it talks to the real services, and they record what they were asked.
"""

from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.server import Standin, StandinServer, wait_for
from bot.demo.standins.slack import Call, SlackStandin, SlackUser

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
