"""Names and secrets shared by the benchmark's processes (all loopback, all throw-away)."""

from __future__ import annotations

SIGNING_SECRET = "bench-signing-secret-0123456789ab"
INTAKE_TOKEN = "bench-intake-token"
OPERATOR = "U0BENCHOP1"
OPERATOR_NAME, OPERATOR_EMAIL = "Bea Benchmark", "bea@example.com"
HOST = "127.0.0.1"
APPROVALS_CHANNEL = "#occ-approvals"
