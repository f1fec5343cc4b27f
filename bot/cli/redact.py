"""Saying where a dependency is without saying its secrets: passwords in URLs (``user:pass@``,
``?password=…``) and every secret setting's value are replaced by ``***``."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings

HIDDEN = "***"
_SECRET_KEY = re.compile(r"pass|secret|token|key|auth", re.IGNORECASE)
_USERINFO = re.compile(r"(?<=://)([^/@:\s]+):([^/@\s]+)@")
_SECRET_PARAM = re.compile(
    r"((?:password|passwd|sslpassword|secret|token|api_key|apikey|key)=)[^&\s]+", re.IGNORECASE
)


def redact_url(url: str | None) -> str:
    """The URL with its password and any secret-looking query values hidden."""
    if not url:
        return ""
    if url.startswith("sqlite"):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{HIDDEN}@{netloc.rpartition('@')[2]}"
    query = urlencode(
        [
            (name, HIDDEN if _SECRET_KEY.search(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def scrub(text: str, settings: Settings) -> str:
    """``text`` (a probe's answer, an error message) with no secret left in it."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            text = text.replace(value.get_secret_value(), HIDDEN)
    for url in (settings.database_url, settings.chatwoot_url, settings.supabase_url):
        if url:
            password = urlsplit(url).password
            if password and len(password) >= 4:
                text = text.replace(password, HIDDEN)
    text = _USERINFO.sub(rf"\1:{HIDDEN}@", text)
    return _SECRET_PARAM.sub(rf"\1{HIDDEN}", text)


def sqlite_file(url: str | None) -> Path | None:
    """The file a ``sqlite:///path`` URL names; None for other databases and in-memory."""
    parsed = make_url(url) if url else None
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database) if parsed.database not in (None, "", ":memory:") else None
