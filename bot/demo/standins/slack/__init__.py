"""A local Slack Web API that the real ``slack_sdk`` clients talk to, for tests and the demo.

Point ``AsyncWebClient(token=..., base_url=standin.url + "/api/")`` at it. It answers the
methods the bot uses with the shapes of Slack's documented examples, keeps what was posted
(messages by channel and ts, ephemerals, modals), records every call, and can be told to fail
the next call of a method (a 429 with Retry-After, or an ``ok: false`` error).

It checks what Slack checks cheaply: the token, required arguments, and the Block Kit limits
(block counts and text lengths). Errors have Slack's form::

    {"ok": false, "error": "invalid_blocks", "errors": ["must be less than 3001 characters
     [json-pointer:/blocks/1/text/text]"], "response_metadata": {"messages": ["[ERROR] ..."]}}

``{url}/hooks/<name>`` stands in for interaction ``response_url``\\ s (see
:meth:`SlackStandin.response_url`).

Layout: `standin` is the server (`SlackStandin`: routing, the token check, recorded calls);
the Web API methods by area are `chat`, `conversations`, `views`, `files` and `identity`
(``auth.test``, ``users.info``), all acting on the `workspace` (members, channels, the bot's
membership, messages). `arguments` reads and checks a call's arguments, `blocks` holds Block
Kit's limits, `faults` what a test can make Slack do (failures, holds, delays, refused posts,
the posting rate limit), and `model` the records and the error.
"""

from bot.demo.standins.slack.model import Call, SlackUser
from bot.demo.standins.slack.standin import DEFAULT_TOKEN, SlackStandin

__all__ = ["DEFAULT_TOKEN", "Call", "SlackStandin", "SlackUser"]
