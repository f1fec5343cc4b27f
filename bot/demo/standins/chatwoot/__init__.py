"""A local Chatwoot (Application API) for tests and the demo, with switchable outages.

It answers what the bot uses, in Chatwoot's own shapes (its jbuilder views):

- ``POST/GET /api/v1/accounts/{a}/conversations/{c}/messages``: create a message (the message
  object) / the latest 20 messages, or 20 ``before`` an id (``{"meta": ..., "payload": [...]}``)
- ``GET /api/v1/accounts/{a}/conversations?status=&assignee_type=&sort_by=&page=``: as
  Chatwoot's ConversationFinder lists them (`conversation_list`): ``sort_by`` as Chatwoot
  sorts (most recently active first by default; ``waiting_since_asc``: the longest wait
  first, nobody waiting last), ``CONVERSATION_RESULTS_PER_PAGE`` (25) a page, each with its
  last message, ``meta.sender`` and ``waiting_since`` (set by a customer's message, cleared by
  an agent's or an agent bot's public reply), under
  ``{"data": {"meta": {mine,assigned,unassigned,all}_count, "payload": [...]}}``
- ``GET /api/v1/accounts/{a}/portals/{slug}/articles?status=&page=``: a Help Center portal's
  articles, 25 a page (``{"payload": [...], "meta": {"current_page", "articles_count"}}``)
- ``GET /api/v1/accounts/{a}/agents``: the agents list
- ``POST /api/v1/accounts/{a}/conversations/{c}/assignments``: the assigned agent, or ``null``
  when the id is no agent of the account (Chatwoot then leaves the conversation unassigned)
- ``GET /api/v1/profile``: the token owner

Layout: `standin` is the server (`ChatwootStandin`: routes, the token and account check,
outages, recorded requests); `conversations` holds conversations, messages and assignments
(`conversation_list` how the list is filtered, counted, sorted and paged),
`agents` the profile and agents, `help_center` the portals' articles, `webhooks` the
webhooks a test delivers, and `model` the records.
"""

from bot.demo.standins.chatwoot.model import ChatwootAgent
from bot.demo.standins.chatwoot.standin import DEFAULT_TOKEN, ChatwootStandin

__all__ = ["DEFAULT_TOKEN", "ChatwootAgent", "ChatwootStandin"]
