"""No module in bot/ over 500 lines (a layer rule of issue 19, "A store entity in one module").

A module that outgrows the limit is split along what it holds (the store: one module per
entity, with what several share in `bot.store.columns`, `codec`, `deliveries`, `posts`).
"""

from __future__ import annotations

from pathlib import Path

BOT = Path(__file__).parents[2] / "bot"
LIMIT = 500


def lengths() -> dict[str, int]:
    return {
        path.relative_to(BOT.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(BOT.rglob("*.py"))
    }


def test_no_module_in_bot_is_over_500_lines() -> None:
    too_long = {name: length for name, length in lengths().items() if length > LIMIT}
    assert too_long == {}, f"over {LIMIT} lines: split them along what they hold"
