"""Names and secrets shared by the benchmark's processes (all loopback, all throw-away)."""

from __future__ import annotations

SIGNING_SECRET = "bench-signing-secret-0123456789ab"
INTAKE_TOKEN = "bench-intake-token"
OPERATOR = "U0BENCHOP1"
OPERATOR_NAME, OPERATOR_EMAIL = "Bea Benchmark", "bea@example.com"
HOST = "127.0.0.1"
APPROVALS_CHANNEL = "#occ-approvals"
MAX_OPERATORS = 20  # Slack users (each with a Chatwoot agent) the stand-ins know


def operator(n: int) -> tuple[str, str, str]:
    """Operator `n` (1-based): (Slack user id, real name, email); operator 1 is OPERATOR."""
    if not 1 <= n <= MAX_OPERATORS:
        raise ValueError(f"operators are numbered 1..{MAX_OPERATORS}")
    if n == 1:
        return OPERATOR, OPERATOR_NAME, OPERATOR_EMAIL
    return f"U0BENCHOP{n}", f"Operator {n} Benchmark", f"op{n}@example.com"
