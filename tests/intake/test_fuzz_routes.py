"""Hostile input never gets a 5xx: about 3,000 mutated real payloads sent to every route.

Seeds are the captured vendor payloads in tests/fixtures/real (a block_actions button click, a
view_submission, the slash command of Slack's request-signing test vector, an app_home_opened
event, four Chatwoot webhooks), Slack's documented url_verification challenge and a valid
draft. A seeded `random.Random` mutates them: keys dropped, types swapped, huge, empty and
hostile strings, lone surrogates, deep nesting, NaN, 5,000-digit numbers, duplicate keys,
invalid UTF-8, truncation, wrong content types, oversized bodies. Each Slack mutant is sent
signed (the test secret, a fresh timestamp) and unsigned or badly signed (no headers, wrong
secret, stale, non-numeric, 5,000-digit or non-ASCII timestamps, duplicate headers, a
non-ASCII signature). /drafts and the Chatwoot webhook get each mutant with and without
their credentials.

The status rules asserted here (bot/web/slack_guard.py says the same):

/slack/events, checked in this order:
  413  the body is larger than MAX_BODY_BYTES;
  400  X-Slack-Signature or X-Slack-Request-Timestamp is sent twice, or the timestamp is not
       1 to 20 ASCII digits: malformed before the signature can be judged;
  401  signature or timestamp missing, timestamp more than 5 minutes off, signature wrong;
  400  correctly signed, but the body is not UTF-8, does not parse, is not a JSON object, or
       lacks (or mistypes) a field Bolt or our listeners read;
  200  correctly signed and well formed, whether a listener handles it or not: Slack expects
       every request acknowledged (an unhandled action or event is acked, not 404).
  An unsigned `ssl_check=1` is answered 200, as Bolt does (it precedes verification).
/drafts: 401 without the bearer token; then 413, 400 (not JSON, or not a valid draft),
  202 (stored) or 200 (duplicate).
/webhooks/chatwoot (secret set): 401 without the token; 413; 401 without a fresh valid
  X-Chatwoot-Signature; then 400, 200 (ignored or duplicate) or 202.
/healthz: 200. Any other method on a route: 405.

Besides the statuses: nothing at ERROR, no traceback in the log, and afterwards /healthz is
200 and a draft still becomes a card that Approve sends.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from slack_bolt.async_app import AsyncBoltRequest

from bot.app import create_bolt_app
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.standins.interactions import block_action, select_value, text_value, view_submission
from bot.domain import DraftState
from tests.harness import (
    INTAKE_TOKEN,
    MANAGER,
    OPERATOR,
    SIGNING_SECRET,
    BotUnderTest,
    WallClock,
    settings_for,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"
SEED = 20_260_213
MAX_BODY = 1_000_000  # bot.web: MAX_BODY_BYTES
WEBHOOK_SECRET = "chatwoot-webhook-secret-for-fuzzing"
CONCURRENCY = 16

# How many mutants per seed family; Slack, /drafts and Chatwoot mutants are sent twice.
SLACK_MUTANTS = {"block_actions": 360, "view_submission": 260, "command": 160, "event": 130}
DRAFT_MUTANTS = 270
CHATWOOT_MUTANTS = 270
HEALTHZ_SHOTS = 60

# The url_verification challenge as Slack documents it (bolt-python's test sends the same).
URL_VERIFICATION = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}

WEIRD_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",  # a lone surrogate: valid in JSON text, not encodable as UTF-8
    "\udfff\ud800",
    "١٢٣٤",
    "²",
    "‮evil‬",
    "null",
    "None",
    "__proto__",
    "../../etc/passwd",
    "' OR 1=1 --",
    "<!channel> <@U0MANAGER1>",
    "%s%n%x",
    "{{7*7}}",
    "\r\nX-Injected: 1",
    "d_does_not_exist",
    "/occ",
    "queue",
    "https://127.0.0.1:9/hook",  # not Slack, and loopback even if answered to
    "javascript:alert(1)",
    "🙂" * 50,
]
NUMBERS = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**40,
    10**400,
    0.5,
    -0.0,
    1e308,
]


def real(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# -- mutation ----------------------------------------------------------------------------------


def garbage(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(14 if depth < 2 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return rng.choice(WEIRD_STRINGS)
    if kind == 4:
        return rng.choice("aZ<&\u00e9\u4e2d") * rng.choice([300, 3_001, 40_000])
    if kind == 5:
        return rng.choice([float("nan"), float("inf"), float("-inf")])
    if kind == 6:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 30)))
    if kind == 7:
        return []
    if kind == 8:
        return {}
    if kind == 9:
        return [garbage(rng, depth + 1) for _ in range(rng.randrange(1, 4))]
    if kind == 10:
        return {rng.choice(["id", "type", "value", ""]): garbage(rng, depth + 1)}
    nested: Any = rng.choice(["x", 1, None])
    for _ in range(rng.randrange(5, 60)):
        nested = [nested] if rng.random() < 0.5 else {"a": nested}
    return nested


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _pick(rng: random.Random, value: Any) -> tuple:
    paths = _paths(value)[1:] or [()]
    shallow = [p for p in paths if len(p) <= 3]
    return rng.choice(shallow if shallow and rng.random() < 0.7 else paths)


def _swap_type(rng: random.Random, old: Any) -> Any:
    if isinstance(old, str):
        return rng.choice([len(old), [old], {"value": old}, None, old.isdigit(), 1.5])
    if isinstance(old, bool | int | float):
        return rng.choice([str(old), [old], {"id": old}, None, "x"])
    if isinstance(old, dict):
        return rng.choice([list(old.values()), json.dumps(old)[:200], None, 0, ""])
    if isinstance(old, list):
        return rng.choice([dict(enumerate(old)), None, "", 7, old[:0]])
    return rng.choice(["null", 0, [], {}])


def mutate_tree(rng: random.Random, seed: Any) -> tuple[Any, str]:
    value = copy.deepcopy(seed)
    labels = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = _pick(rng, value)
        if not path:
            return garbage(rng), "root-replaced"
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        op = rng.randrange(5)
        if op == 0:
            del parent[key]
            labels.append("drop-key")
        elif op == 1:
            parent[key] = garbage(rng)
            labels.append("replace-value")
        elif op == 2:
            parent[key] = _swap_type(rng, parent[key])
            labels.append("swap-type")
        elif op == 3 and isinstance(parent[key], dict):
            parent[key][rng.choice(["", "__proto__", "type", "x" * 300])] = garbage(rng)
            labels.append("add-key")
        else:
            parent[key] = garbage(rng)
            labels.append("replace-value")
        if not isinstance(value, dict | list):
            break
    return value, "+".join(sorted(set(labels)))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # NaN and Infinity stay as JS-ish literals


def duplicate_key(text: str, key: str, rng: random.Random) -> str:
    """The same key twice at the top level; Python keeps the last, other parsers the first."""
    if not text.startswith("{"):
        return text
    return "{" + f'"{key}":{dumps(garbage(rng, 2))},' + text[1:]


INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xfe"]


def corrupt_bytes(rng: random.Random, body: bytes) -> tuple[bytes, str]:
    """Byte-level damage that no well-formed request survives."""
    op = rng.randrange(6)
    if op == 0:
        at = rng.randrange(len(body) + 1)
        return body[:at] + rng.choice(INVALID_UTF8) + body[at:], "invalid-utf8"
    if op == 1:
        return body[: rng.randrange(max(1, len(body)))], "truncated"
    if op == 2:
        return b"", "empty-body"
    if op == 3:
        depth = rng.choice([1_200, 30_000, 200_000])
        return b"[" * depth + b"]" * depth, "deep-nesting"
    if op == 4:
        return b'{"type":' + b"9" * rng.choice([4_400, 20_000]) + b"}", "huge-number"
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))), "random-bytes"


# -- requests ----------------------------------------------------------------------------------


@dataclass
class Shot:
    family: str
    label: str
    method: str
    path: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    allowed: frozenset[int]


def _h(name: str, value: str | bytes) -> tuple[bytes, bytes]:
    return name.encode(), value if isinstance(value, bytes) else value.encode()


def slack_signature(secret: str, timestamp: bytes, body: bytes) -> bytes:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp + b":" + body, hashlib.sha256)
    return b"v0=" + digest.hexdigest().encode()


BAD_TIMESTAMPS = [
    b"abc",
    b"1e9",
    b"12.5",
    b"-1",
    b"+1531420618",
    b"0x5b47",
    b"NaN",
    b"1_531_420_618",
    "١٥٣١٤٢٠٦١٨".encode(),
    b"\xe9\xe9",
    b"9" * 21,
    b"9" * 5_000,
]


def slack_auth(rng: random.Random, body: bytes, *, signed: bool) -> tuple[list, frozenset, str]:
    """Signing headers for one request, the statuses its auth alone allows, and a label."""
    now = str(int(time.time())).encode()
    if signed:
        return (
            [
                _h("X-Slack-Request-Timestamp", now),
                _h("X-Slack-Signature", slack_signature(SIGNING_SECRET, now, body)),
            ],
            frozenset(),
            "signed",
        )
    kind = rng.randrange(11)
    good_sig = slack_signature(SIGNING_SECRET, now, body)
    if kind == 0:
        return [], frozenset({401}), "unsigned"
    if kind == 1:
        sig = slack_signature("not-the-secret", now, body)
        return (
            [_h("X-Slack-Request-Timestamp", now), _h("X-Slack-Signature", sig)],
            frozenset({401}),
            "wrong-secret",
        )
    if kind == 2:
        old = str(int(time.time()) - rng.choice([301, 86_400, 10**9])).encode()
        headers = [
            _h("X-Slack-Request-Timestamp", old),
            _h("X-Slack-Signature", slack_signature(SIGNING_SECRET, old, body)),
        ]
        return headers, frozenset({401}), "stale-timestamp"
    if kind == 3:
        far = rng.choice([b"99999999999999999999", b"0", str(int(time.time()) + 10**6).encode()])
        headers = [
            _h("X-Slack-Request-Timestamp", far),
            _h("X-Slack-Signature", slack_signature(SIGNING_SECRET, far, body)),
        ]
        return headers, frozenset({401}), "far-timestamp"
    if kind in (4, 5):  # signed with the right secret over a timestamp that is not a number
        bad = rng.choice(BAD_TIMESTAMPS)
        headers = [
            _h("X-Slack-Request-Timestamp", bad),
            _h("X-Slack-Signature", slack_signature(SIGNING_SECRET, bad, body)),
        ]
        return headers, frozenset({400}), "non-numeric-timestamp"
    if kind == 6:
        return [_h("X-Slack-Request-Timestamp", now)], frozenset({401}), "missing-signature"
    if kind == 7:
        return [_h("X-Slack-Signature", good_sig)], frozenset({401}), "missing-timestamp"
    if kind == 8:
        sig = rng.choice([b"v0=\xe9" + good_sig[4:], b"v0=" + "é".encode() * 32, b"\xff"])
        return (
            [_h("X-Slack-Request-Timestamp", now), _h("X-Slack-Signature", sig)],
            frozenset({401}),
            "non-ascii-signature",
        )
    if kind == 9:
        headers = [
            _h("X-Slack-Request-Timestamp", now),
            _h("X-Slack-Request-Timestamp", rng.choice(BAD_TIMESTAMPS)),
            _h("X-Slack-Signature", good_sig),
        ]
        return headers, frozenset({400}), "duplicate-timestamp"
    headers = [
        _h("X-Slack-Request-Timestamp", now),
        _h("X-Slack-Signature", good_sig),
        _h("X-Slack-Signature", b"v0=" + b"0" * 64),
    ]
    return headers, frozenset({400}), "duplicate-signature"


FORM = "application/x-www-form-urlencoded"


def content_type_headers(rng: random.Random, natural: str) -> tuple[list, str]:
    if rng.random() < 0.8:
        return [_h("Content-Type", natural)], ""
    choice = rng.randrange(5)
    if choice == 0:
        return [], "+no-content-type"
    if choice == 1:
        other = "application/json" if natural == FORM else FORM
        return [_h("Content-Type", other)], "+wrong-content-type"
    if choice == 2:
        return [
            _h("Content-Type", rng.choice(["text/plain", "multipart/form-data; boundary=x"]))
        ], "+odd-content-type"
    if choice == 3:
        return [_h("Content-Type", natural + "; charset=utf-16")], "+charset"
    return [
        _h("Content-Type", natural),
        _h("Content-Type", "text/plain"),
    ], "+duplicate-content-type"


def form_of(payload: Any) -> str:
    return "payload=" + quote(dumps(payload))


def encode_slack(rng: random.Random, family: str, value: Any) -> tuple[bytes, str, str]:
    """A mutated Slack payload as a request body, its natural content type and a label."""
    if family == "command":
        pairs = value if isinstance(value, list) else []
        if isinstance(value, dict):
            return dumps(value).encode(), "application/json", "+command-as-json"
        return urlencode(pairs).encode(), FORM, ""
    if family == "event":
        text = dumps(value)
        if rng.random() < 0.1:
            return duplicate_key(text, "type", rng).encode(), "application/json", "+duplicate-key"
        return text.encode(), "application/json", ""
    text = dumps(value)
    trick = rng.randrange(12)
    if trick == 0:
        return duplicate_key(text, "type", rng).encode(), FORM, "+duplicate-key"  # raw, as JSON
    if trick == 1:
        return (
            ("payload=" + quote(duplicate_key(text, "user", rng))).encode(),
            FORM,
            "+duplicate-key",
        )
    if trick == 2:
        return (form_of(value) + "&" + form_of(garbage(rng))).encode(), FORM, "+payload-twice"
    if trick == 3:
        return (
            rng.choice([b"payload=", b"payload=%FF%FE", b"payloadx=1", b"&&&==&payload"]),
            FORM,
            "+form-tricks",
        )
    return form_of(value).encode(), FORM, ""


def command_seeds(slack_standin) -> list[list[tuple[str, str]]]:
    vector = real("slack_request_signing_test_vector.json")
    pairs = parse_qsl(vector["raw_body"], keep_blank_values=True)
    seeds = []
    for text in ("", "queue", "help", "launch-rockets"):
        seeds.append(
            [
                (k, "/occ" if k == "command" else text if k == "text" else v)
                for k, v in pairs
                if k != "response_url"
            ]
            + [("response_url", slack_standin.response_url("fuzz"))]
        )
    return seeds


def mutate_command(rng: random.Random, seed: list[tuple[str, str]]) -> tuple[Any, str]:
    pairs = list(seed)
    op = rng.randrange(6)
    if op == 0 and pairs:
        del pairs[rng.randrange(len(pairs))]
        return pairs, "drop-field"
    if op == 1:
        index = rng.randrange(len(pairs))
        weird = rng.choice(WEIRD_STRINGS[:3] + WEIRD_STRINGS[5:] + ["x" * 50_000])
        pairs[index] = (pairs[index][0], weird)
        return pairs, "weird-value"
    if op == 2:
        index = rng.randrange(len(pairs))
        pairs.append((pairs[index][0], rng.choice(WEIRD_STRINGS[5:])))
        return pairs, "duplicate-field"
    if op == 3:  # the same command as JSON, with types changed
        as_dict: dict[str, Any] = dict(pairs)
        mutated, label = mutate_tree(rng, as_dict)
        return mutated, label
    if op == 4:
        pairs.append(
            (rng.choice(["ssl_check", "payload", "type", "event"]), rng.choice(["1", "{", "x"]))
        )
        return pairs, "extra-field"
    return pairs, "reordered" if rng.random() < 0.5 else "seed"


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate check, answered 200 before any signature check (as Bolt does)."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)).get("ssl_check") == "1"
    except UnicodeDecodeError:
        return False


def slack_shots(
    rng: random.Random, seeds: dict[str, list[Any]], counts: dict[str, int]
) -> list[Shot]:
    shots = []
    for family, count in counts.items():
        for n in range(count):
            seed = rng.choice(seeds[family])
            if n < len(seeds[family]):
                value, label = seeds[family][n], "seed"
            elif family == "command":
                value, label = mutate_command(rng, seed)
            else:
                value, label = mutate_tree(rng, seed)
            body, natural, trick = encode_slack(rng, family, value)
            label += trick
            if label != "seed" and rng.random() < 0.22:
                body, damage = corrupt_bytes(rng, body)
                label = damage
            if label != "seed" and rng.random() < 0.004:
                body, label = (
                    b"payload=" + b"A" * (MAX_BODY + rng.randrange(1, 10_000)),
                    "oversized",
                )
            ctype, ctype_label = (
                content_type_headers(rng, natural)
                if label != "seed"
                else ([_h("Content-Type", natural)], "")
            )
            for signed in (True, False):
                auth, auth_allowed, auth_label = slack_auth(rng, body, signed=signed)
                if len(body) > MAX_BODY:
                    allowed = frozenset({413})
                elif is_ssl_check(body):
                    allowed = frozenset({200})
                elif not signed:
                    allowed = auth_allowed
                elif label == "seed":
                    allowed = frozenset({200})
                elif label in {
                    "invalid-utf8",
                    "empty-body",
                    "deep-nesting",
                    "huge-number",
                    "random-bytes",
                } or (label == "truncated" and family != "command"):
                    allowed = frozenset({400})
                else:
                    allowed = frozenset({200, 400})
                shots.append(
                    Shot(
                        f"slack:{family}",
                        f"{label}{ctype_label}/{auth_label}",
                        "POST",
                        "/slack/events",
                        ctype + auth,
                        body,
                        allowed,
                    )
                )
    return shots


def json_mutant(rng: random.Random, seed: Any) -> tuple[bytes, str]:
    value, label = mutate_tree(rng, seed)
    text = dumps(value)
    if rng.random() < 0.1:
        text, label = duplicate_key(text, rng.choice(list(seed)), rng), label + "+duplicate-key"
    body = text.encode()
    if rng.random() < 0.2:
        body, label = corrupt_bytes(rng, body)
    if rng.random() < 0.01:
        body, label = b'{"x":"' + b"A" * (MAX_BODY + 10) + b'"}', "oversized"
    return body, label


def draft_shots(rng: random.Random, draft_seed: dict[str, Any]) -> list[Shot]:
    shots = []
    for n in range(DRAFT_MUTANTS):
        if n == 0:
            body, label = dumps(draft_seed).encode(), "seed"
        else:
            body, label = json_mutant(rng, draft_seed)
        ctype, ctype_label = content_type_headers(rng, "application/json")
        good = [_h("Authorization", f"Bearer {INTAKE_TOKEN}")]
        bad = rng.choice(
            [
                [],
                [_h("Authorization", "Bearer wrong")],
                [_h("Authorization", "Bearer")],
                [_h("Authorization", f"Basic {INTAKE_TOKEN}")],
                [_h("Authorization", b"Bearer \xe9\xff")],
                [
                    _h("Authorization", "Bearer wrong"),
                    _h("Authorization", f"Bearer {INTAKE_TOKEN}"),
                ],
            ]
        )
        too_big = len(body) > MAX_BODY
        ok = (
            frozenset({413})
            if too_big
            else frozenset({200, 202})
            if label == "seed"
            else frozenset({400})
            if label
            in {
                "invalid-utf8",
                "truncated",
                "empty-body",
                "deep-nesting",
                "huge-number",
                "random-bytes",
            }
            else frozenset({200, 202, 400})
        )
        shots.append(
            Shot(
                "drafts",
                label + ctype_label + "/authorized",
                "POST",
                "/drafts",
                ctype + good,
                body,
                ok,
            )
        )
        shots.append(
            Shot(
                "drafts",
                label + "/unauthorized",
                "POST",
                "/drafts",
                ctype + bad,
                body,
                frozenset({401}),
            )
        )
    return shots


def chatwoot_signature(timestamp: bytes, body: bytes) -> bytes:
    digest = hmac.new(WEBHOOK_SECRET.encode(), timestamp + b"." + body, hashlib.sha256).hexdigest()
    return b"sha256=" + digest.encode()


def chatwoot_shots(rng: random.Random, seeds: list[Any]) -> list[Shot]:
    shots = []
    for n in range(CHATWOOT_MUTANTS):
        if n < len(seeds):
            body, label = dumps(seeds[n]).encode(), "seed"
        else:
            body, label = json_mutant(rng, rng.choice(seeds))
        ctype, _ = content_type_headers(rng, "application/json")
        now = str(int(time.time())).encode()
        signed = [
            _h("X-Chatwoot-Timestamp", now),
            _h("X-Chatwoot-Signature", chatwoot_signature(now, body)),
        ]
        too_big = len(body) > MAX_BODY
        ok = (
            frozenset({413})
            if too_big
            else frozenset({200, 202})
            if label == "seed"
            else frozenset({400})
            if label
            in {
                "invalid-utf8",
                "truncated",
                "empty-body",
                "deep-nesting",
                "huge-number",
                "random-bytes",
            }
            else frozenset({200, 202, 400})
        )
        path = f"/webhooks/chatwoot?token={INTAKE_TOKEN}"
        shots.append(Shot("chatwoot", label + "/signed", "POST", path, ctype + signed, body, ok))
        bad_kind = rng.randrange(7)
        if bad_kind == 0:
            bad_path, bad_headers, why = "/webhooks/chatwoot", signed, "no-token"
        elif bad_kind == 1:
            bad_path, bad_headers, why = (
                "/webhooks/chatwoot?token=wrong&token=%FF",
                signed,
                "wrong-token",
            )
        elif bad_kind == 2:
            bad_path, bad_headers, why = path, [], "unsigned"
        elif bad_kind == 3:
            old = str(int(time.time()) - 3_600).encode()
            bad_headers = [
                _h("X-Chatwoot-Timestamp", old),
                _h("X-Chatwoot-Signature", chatwoot_signature(old, body)),
            ]
            bad_path, why = path, "stale"
        elif bad_kind == 4:
            bad = rng.choice(BAD_TIMESTAMPS)
            bad_headers = [
                _h("X-Chatwoot-Timestamp", bad),
                _h("X-Chatwoot-Signature", chatwoot_signature(bad, body)),
            ]
            bad_path, why = path, "non-numeric-timestamp"
        elif bad_kind == 5:
            bad_headers = [
                _h("X-Chatwoot-Timestamp", now),
                _h("X-Chatwoot-Signature", b"sha256=\xe9" + b"0" * 63),
            ]
            bad_path, why = path, "non-ascii-signature"
        else:
            bad_path, bad_headers, why = (
                f"/webhooks/chatwoot?token={INTAKE_TOKEN}x",
                signed,
                "wrong-token",
            )
        # Without the token nothing is read; with it, an oversized body is refused before its
        # signature is checked.
        bad_ok = (
            frozenset({413})
            if too_big and why not in {"no-token", "wrong-token"}
            else frozenset({401})
        )
        shots.append(
            Shot("chatwoot", label + "/" + why, "POST", bad_path, ctype + bad_headers, body, bad_ok)
        )
    return shots


def other_shots(rng: random.Random) -> list[Shot]:
    shots = []
    for _ in range(HEALTHZ_SHOTS):
        query = rng.choice(["", "?x=1", "?%FF=%FE", "?" + "a" * 2_000, "?token=x&token=y"])
        headers = rng.choice(
            [
                [],
                [_h("X-Slack-Request-Timestamp", b"abc")],
                [_h("Content-Type", "application/json")],
                [_h("Authorization", b"\xff")],
            ]
        )
        shots.append(
            Shot("healthz", "get", "GET", "/healthz" + query, headers, b"", frozenset({200}))
        )
    for method, path in [
        ("GET", "/slack/events"),
        ("PUT", "/slack/events"),
        ("GET", "/drafts"),
        ("DELETE", "/drafts"),
        ("GET", "/webhooks/chatwoot"),
        ("POST", "/healthz"),
        ("PATCH", "/healthz"),
    ]:
        shots.append(Shot("methods", method, method, path, [], b"{}", frozenset({405})))
    return shots


def targeted_shots(seeds: dict[str, list[Any]], draft_seed: dict[str, Any]) -> list[Shot]:
    """One request per crash class found before the guard, each with its exact answer."""
    approve, submit, command = (
        seeds["block_actions"][0],
        seeds["view_submission"][0],
        seeds["command"][1],
    )
    home = seeds["event"][0]
    now = str(int(time.time())).encode()

    def signed(label: str, body: bytes | str, status: int, ctype: str = FORM) -> Shot:
        raw = body.encode() if isinstance(body, str) else body
        headers = [
            _h("Content-Type", ctype),
            _h("X-Slack-Request-Timestamp", now),
            _h("X-Slack-Signature", slack_signature(SIGNING_SECRET, now, raw)),
        ]
        return Shot("targeted", label, "POST", "/slack/events", headers, raw, frozenset({status}))

    def headers_only(label: str, timestamp: bytes, signature: bytes | None, status: int) -> Shot:
        raw = form_of(approve).encode()
        sig = slack_signature(SIGNING_SECRET, timestamp, raw) if signature is None else signature
        headers = [_h("Content-Type", FORM), _h("X-Slack-Request-Timestamp", timestamp)]
        headers.append(_h("X-Slack-Signature", sig))
        return Shot("targeted", label, "POST", "/slack/events", headers, raw, frozenset({status}))

    def without(data: dict[str, Any], *path: Any, value: Any = ...) -> dict[str, Any]:
        changed = copy.deepcopy(data)
        parent = changed
        for step in path[:-1]:
            parent = parent[step]
        if value is ...:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        return changed

    json_command = dict(command) | {"text": ["queue"]}
    draft = {"Authorization": f"Bearer {INTAKE_TOKEN}", "Content-Type": "application/json"}
    drafts = [(_h(k, v)) for k, v in draft.items()]
    big_id = real("chatwoot_webhook_message_created_incoming_contact.json")
    big_id["conversation"]["id"] = 2**70
    webhook = dumps(big_id).encode()
    webhook_signed = [
        _h("X-Chatwoot-Timestamp", now),
        _h("X-Chatwoot-Signature", chatwoot_signature(now, webhook)),
    ]

    def draft_with(**changes: str) -> bytes:
        text = dumps(draft_seed | {key: "@" + key for key in changes})
        for key, literal in changes.items():
            text = text.replace(f'"@{key}"', literal)
        return text.encode()

    return [
        headers_only("timestamp 'abc' (slack_sdk int())", b"abc", None, 400),
        headers_only("timestamp of 5,000 digits", b"9" * 5_000, None, 400),
        headers_only("non-ASCII signature (compare_digest)", now, b"v0=\xe9" + b"0" * 63, 401),
        signed("body not UTF-8", b"payload=\xff\xfe", 400),
        signed("payload not JSON", "payload=%7Bnope", 400),
        signed("JSON body a list", "[1]", 400, "application/json"),
        signed("block_actions without user", form_of(without(approve, "user")), 400),
        signed(
            "block_actions with no actions", form_of(without(approve, "actions", value=[])), 400
        ),
        signed("block_actions user as a number", form_of(without(approve, "user", value=7)), 400),
        signed(
            "view private_metadata a list",
            form_of(without(submit, "view", "private_metadata", value=[1])),
            400,
        ),
        signed(
            "view state values a string",
            form_of(without(submit, "view", "state", "values", value="x")),
            400,
        ),
        signed(
            "/occ answering to another host",
            urlencode(dict(command) | {"response_url": "https://127.0.0.1:9/"}),
            400,
        ),
        signed(
            "/occ without response_url",
            urlencode([p for p in command if p[0] != "response_url"]),
            400,
        ),
        signed("/occ as JSON, text a list", dumps(json_command), 400, "application/json"),
        signed(
            "app_home_opened without user",
            dumps(without(home, "event", "user")),
            400,
            "application/json",
        ),
        signed(
            "event a string",
            dumps(without(home, "event", value="app_home_opened")),
            400,
            "application/json",
        ),
        signed("url_verification", dumps(URL_VERIFICATION), 200, "application/json"),
        signed(
            "a shortcut: not dispatched, acknowledged",
            form_of({"type": "shortcut", "callback_id": 1}),
            200,
        ),
        signed(
            "an action nothing handles",
            form_of(without(approve, "actions", 0, "action_id", value="x")),
            200,
        ),
        Shot(
            "targeted",
            "unsigned ssl_check",
            "POST",
            "/slack/events",
            [_h("Content-Type", FORM)],
            b"ssl_check=1&token=x",
            frozenset({200}),
        ),
        Shot(
            "targeted",
            "draft confidence 1e400",
            "POST",
            "/drafts",
            drafts,
            draft_with(confidence="1e400"),
            frozenset({400}),
        ),
        Shot(
            "targeted",
            "draft confidence 10**400",
            "POST",
            "/drafts",
            drafts,
            draft_with(confidence="1" + "0" * 400),
            frozenset({400}),
        ),
        Shot(
            "targeted",
            "draft order count 2**64",
            "POST",
            "/drafts",
            drafts,
            draft_with(customer_context='{"orders": 18446744073709551616}'),
            frozenset({400}),
        ),
        Shot(
            "targeted",
            "draft lone surrogate",
            "POST",
            "/drafts",
            drafts,
            draft_with(customer_message='"\\ud800"'),
            frozenset({400}),
        ),
        Shot(
            "targeted",
            "chatwoot conversation id 2**70",
            "POST",
            f"/webhooks/chatwoot?token={INTAKE_TOKEN}",
            webhook_signed,
            webhook,
            frozenset({400}),
        ),
        Shot(
            "targeted",
            "draft nested 100,000 deep",
            "POST",
            "/drafts",
            drafts,
            b"[" * 100_000 + b"]" * 100_000,
            frozenset({400}),
        ),
    ]


# -- seeds -------------------------------------------------------------------------------------


def slack_seeds(draft_ids: list[str], standin) -> dict[str, list[Any]]:
    real_click = real("slack_block_actions_message_button_bolt_python.json")
    real_submit = real("slack_view_submission_bolt_python.json")
    real_home = real("slack_events_api_app_home_opened_home_tab_java_sdk.json")
    clicks = []
    for n, action in enumerate(ActionId):
        click = copy.deepcopy(real_click)
        click["user"]["id"] = [OPERATOR, MANAGER][n % 2]
        click["actions"][0] |= {"action_id": action.value, "value": draft_ids[n % len(draft_ids)]}
        clicks.append(click)
    clicks.append(real_click)  # no listener: acknowledged
    clicks.append(
        block_action(
            user=OPERATOR,
            action_id=ActionId.APPROVE.value,
            value=draft_ids[-1],
            channel="C0APPROVALS",
            message_ts="1700000000.000100",
        )
    )
    values = {
        CallbackId.EDIT: text_value(InputId.EDIT_TEXT, "Thanks, it ships today."),
        CallbackId.REJECT: select_value(InputId.REJECT_REASON, "wrong_tone")
        | text_value(InputId.REJECT_NOTES, "too curt"),
        CallbackId.ESCALATE: select_value(InputId.ESCALATION_TYPE, "billing")
        | select_value(InputId.ESCALATION_URGENCY, "high")
        | text_value(InputId.ESCALATION_NOTES, "needs a manager"),
    }
    submits = []
    for n, (callback, state) in enumerate(values.items()):
        submit = copy.deepcopy(real_submit)
        submit["user"]["id"] = OPERATOR
        submit["view"] |= {"callback_id": callback.value, "private_metadata": draft_ids[n]}
        submit["view"]["state"]["values"] |= state
        submits.append(submit)
    submits.append(real_submit)  # no listener: acknowledged
    submits.append(
        view_submission(
            user=MANAGER,
            callback_id=CallbackId.EDIT.value,
            private_metadata=draft_ids[0],
            values=text_value(InputId.EDIT_TEXT, "Edited."),
        )
    )
    home = copy.deepcopy(real_home)
    home["event"]["user"] = OPERATOR
    messages_tab = copy.deepcopy(home)
    messages_tab["event"]["tab"] = "messages"
    return {
        "block_actions": clicks,
        "view_submission": submits,
        "command": command_seeds(standin),
        "event": [home, messages_tab, URL_VERIFICATION],
    }


# -- the test ----------------------------------------------------------------------------------


@pytest.fixture
async def fuzz_bot(sqlite_url, slack, chatwoot) -> AsyncIterator[BotUnderTest]:
    """The bot on the wall clock: the shots are signed with time.time(), some 301 s old."""
    settings = settings_for(sqlite_url, slack, chatwoot, chatwoot_webhook_secret=WEBHOOK_SECRET)
    instance = await BotUnderTest(settings, WallClock()).start()
    try:
        yield instance
    finally:
        await instance.stop()


async def fire(bot: BotUnderTest, shots: list[Shot]) -> list[tuple[Shot, int]]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=bot.url, timeout=30, limits=limits) as http:

        async def one(shot: Shot) -> tuple[Shot, int]:
            async with gate:
                response = await http.request(
                    shot.method, shot.path, headers=shot.headers, content=shot.body
                )
                return shot, response.status_code

        return await asyncio.gather(*(one(shot) for shot in shots))


def report(results: list[tuple[Shot, int]], pick: Callable[[Shot, int], bool]) -> str:
    counts = Counter(
        (shot.family, shot.label, status) for shot, status in results if pick(shot, status)
    )
    return "\n".join(
        f"{n:4d} × {status} {family} {label}" for (family, label, status), n in counts.most_common()
    )


async def test_hostile_input_never_gets_a_5xx_and_the_bot_keeps_serving(
    fuzz_bot: BotUnderTest, slack, chatwoot, scenarios, caplog
):
    bot = fuzz_bot
    caplog.set_level(logging.WARNING)
    drafts = [
        await bot.posted_draft(scenarios[key].payload)
        for key in (
            "demo-1-order-status",
            "exercise-1-international-shipping",
            "demo-3-triple-charge",
        )
    ]
    rng = random.Random(SEED)
    seeds = slack_seeds([d.id for d in drafts], slack)
    draft_seed = scenarios["exercise-1-international-shipping"].payload | {
        "external_id": "fuzz-seed"
    }
    chatwoot_seeds = [
        real("chatwoot_webhook_message_created_incoming_contact.json"),
        real("chatwoot_webhook_conversation_created.json"),
        real("chatwoot_webhook_conversation_status_changed.json")
        | {"event": "conversation_status_changed"},
        real("chatwoot_webhook_conversation_updated_changed_attributes.json"),
    ]
    shots = (
        slack_shots(rng, seeds, SLACK_MUTANTS)
        + draft_shots(rng, draft_seed)
        + chatwoot_shots(rng, chatwoot_seeds)
        + other_shots(rng)
        + targeted_shots(seeds, draft_seed)
    )
    rng.shuffle(shots)
    started = time.monotonic()

    results = await fire(bot, shots)

    elapsed = time.monotonic() - started
    statuses = Counter(status for _, status in results)
    print(f"\n{len(results)} requests in {elapsed:.1f} s: {dict(sorted(statuses.items()))}")
    server_errors = report(results, lambda shot, status: status >= 500)
    assert not server_errors, f"5xx answers:\n{server_errors}"
    unexpected = report(results, lambda shot, status: status not in shot.allowed)
    assert not unexpected, f"statuses outside the rules:\n{unexpected}"
    await bot.settle()  # background work started by the barrage: none of it may fail
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, "\n".join(f"{r.levelname} {r.name}: {r.getMessage()[:300]}" for r in loud[:20])
    assert "Traceback" not in caplog.text

    # ... and the bot still serves: /healthz, then draft -> card -> Approve -> reply.
    assert (await bot._http.get(f"{bot.url}/healthz")).status_code == 200
    payload = scenarios["exercise-5-policy-exception"].payload | {"external_id": "after-the-fuzz"}
    draft = await bot.posted_draft(payload)
    assert (await bot.click(ActionId.APPROVE, draft, MANAGER)).status_code == 200
    await bot.settle()
    assert (await bot.store.get_draft(draft.id)).state is DraftState.APPROVED
    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])][-1] == payload[
        "draft"
    ]


async def test_a_listener_meeting_a_payload_the_guard_did_not_check_answers_400(
    bot: BotUnderTest, caplog
):
    """Belt and braces: Bolt dispatched directly (no guard), a click without `user` makes the
    payload readers raise InvalidPayload, which the app's error handler answers 400."""
    click = real("slack_block_actions_message_button_bolt_python.json")
    click["actions"][0]["action_id"] = ActionId.APPROVE.value
    del click["user"]
    body = form_of(click)
    now = str(int(time.time())).encode()
    headers = {
        "content-type": FORM,
        "x-slack-request-timestamp": now.decode(),
        "x-slack-signature": slack_signature(SIGNING_SECRET, now, body.encode()).decode(),
    }
    assert bot.services is not None
    bolt = create_bolt_app(bot.services)

    response = await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    assert response.status == 400 and "user" in response.body
    assert [r.levelname for r in caplog.records if r.name == "occ"] == ["WARNING"]
