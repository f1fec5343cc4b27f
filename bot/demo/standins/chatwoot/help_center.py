"""The Chatwoot stand-in's Help Center: a portal's articles, seeded and edited by a test, and
listed as Chatwoot's ArticlesController#index lists them."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

ARTICLES_PAGE = 25  # Kaminari's default page, as Article.search pages the Help Center


class HelpCenter:
    """``/portals/{slug}/articles`` (set up by `ChatwootStandin`)."""

    account_id: int
    portals: dict[str, list[dict[str, Any]]]  # Help Center: slug -> articles

    def add_article(
        self, portal: str, title: str, content: str, *, status: str = "published"
    ) -> dict[str, Any]:
        """A Help Center article in a portal (created if new), shaped as Chatwoot lists it."""
        articles = self.portals.setdefault(portal, [])
        article = {
            "id": 9000 + sum(len(a) for a in self.portals.values()),
            "category_id": 1,
            "title": title,
            "content": content,
            "description": None,
            "status": status,
            "account_id": self.account_id,
            "updated_at": int(time.time()),
            "views": 0,
            "associated_articles": [],
        }
        articles.append(article)
        return article

    def edit_article(self, portal: str, article_id: int, **changes: Any) -> None:
        """Change an article (its content, its status) as an agent would in the portal."""
        [article] = [a for a in self.portals[portal] if a["id"] == article_id]
        article.update(changes, updated_at=article["updated_at"] + 1)

    async def _help_center_articles(self, request: Request, body: Any) -> Response:
        """A portal's articles as Chatwoot's ArticlesController#index lists them: filtered by
        ``status``, ``ARTICLES_PAGE`` a page; an unknown portal slug is a 404."""
        portal = request.path_params["portal"]
        if portal not in self.portals:
            return JSONResponse({"error": "Resource could not be found"}, status_code=404)
        status = request.query_params.get("status")
        page = request.query_params.get("page", "1")
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        listed = [a for a in self.portals[portal] if status is None or a["status"] == status]
        start = (number - 1) * ARTICLES_PAGE
        return JSONResponse(
            {
                "payload": listed[start : start + ARTICLES_PAGE],
                "meta": {"current_page": str(number), "articles_count": len(listed)},
            }
        )
