"""A local Chatwoot (Application API) for tests and the demo, with switchable outages.

It answers what the bot uses, in Chatwoot's own shapes (its jbuilder views):

- ``POST/GET /api/v1/accounts/{a}/conversations/{c}/messages``: create a message (the message
  object) / the latest 20 messages, or 20 ``before`` an id (``{"meta": ..., "payload": [...]}``)
- ``GET /api/v1/accounts/{a}/conversations?status=&page=``: 25 conversations a page, most
  recently active first, each with its last message, ``meta.sender`` and ``waiting_since``
  (set by a customer's message, cleared by an agent's public reply), under
  ``{"data": {"meta": {…_count}, "payload": [...]}}``
- ``GET /api/v1/accounts/{a}/portals/{slug}/articles?status=&page=``: a Help Center portal's
  articles, 25 a page (``{"payload": [...], "meta": {"current_page", "articles_count"}}``)
- ``GET /api/v1/accounts/{a}/agents``: the agents list
- ``POST /api/v1/accounts/{a}/conversations/{c}/assignments``: the assigned agent, or ``null``
  when the id is no agent of the account (Chatwoot then leaves the conversation unassigned)
- ``GET /api/v1/profile``: the token owner

Layout: `standin` is the server (`ChatwootStandin`: routes, the token and account check,
outages, recorded requests); `conversations` holds conversations, messages and assignments,
`agents` the profile and agents, `help_center` the portals' articles, `webhooks` the
webhooks a test delivers, and `model` the records.
"""

from bot.demo.standins.chatwoot.model import ChatwootAgent
from bot.demo.standins.chatwoot.standin import DEFAULT_TOKEN, ChatwootStandin

__all__ = ["DEFAULT_TOKEN", "ChatwootAgent", "ChatwootStandin"]
