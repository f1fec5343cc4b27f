"""The `occ-bot` command line: `main` parses the command; each command lives in its module
(check, digest, evaluate, export, jobs, redact)."""

from bot.cli.main import main

__all__ = ["main"]
