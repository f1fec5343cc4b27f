"""Request bodies: the fast form decoder reads what urllib reads, and strict JSON stays strict."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from bot.web.body import InvalidJson, loads, parse_form
from tests.harness import real_fixture

FORMS = [
    "",
    "a",
    "=x",
    "a==b&&c",
    "a=1&a=2",
    "a+b=c+d",
    "text=%2Focc+stats+%3Cb%3E",
    "a=%C3%A9%20caf%C3%A9",  # UTF-8 escapes
    "a=%F0%9F%98%80",  # an emoji as four escapes
    "é=ü%20ö",  # literal non-ASCII beside escapes
    "a=%",
    "a=%4",
    "a=%zz&b=%4g",  # malformed escapes stay as written
    "a=%C3",  # an escape that is not UTF-8 on its own
    "a=%E2%82&b=%FF",
    "a=%ED%A0%80",  # an encoded surrogate
    "a=\\x41&b=%5Cx41&c=\\\\",  # backslashes, raw and escaped
    "a=%00%0A%0D",
    "a=%2B+%25",
    "a=%41\ud800",  # a str holding a lone surrogate
]


@pytest.mark.parametrize("text", FORMS)
def test_parse_form_reads_what_parse_qsl_reads(text: str) -> None:
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)


def test_parse_form_reads_slack_payloads_as_urllib_does() -> None:
    for name in (
        "slack_block_actions_message_button_bolt_python.json",
        "slack_view_submission_bolt_python.json",
    ):
        payload = real_fixture(name)
        body = "payload=" + quote(json.dumps(payload))
        assert dict(parse_form(body)) == {"payload": json.dumps(payload)}
        assert parse_form(body) == parse_qsl(body, keep_blank_values=True)
    command = urlencode({"command": "/occ", "text": "stats <!channel> & 100% \\ é 😀"})
    assert parse_form(command) == parse_qsl(command, keep_blank_values=True)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a": "\\ud800"}', "lone surrogate"),
        ('{"\\uDFFF": 1}', "lone surrogate"),
        ('{"a": "\\ude00\\ud83d"}', "lone surrogate"),  # a pair in the wrong order
        ('{"a": [1e400]}', "out of range"),
        ('{"a": -1e400}', "out of range"),
        ('{"a": NaN}', "not valid JSON"),
        ('{"a": Infinity}', "not valid JSON"),
        ("[" * 65 + "]" * 65, "nested deeper than 64"),
        ('{"a": "\ud800"}', "lone surrogate"),  # in the str itself, not escaped
        ('{"\udfff": 1}', "lone surrogate"),
    ],
)
def test_loads_refuses_what_nothing_downstream_can_hold(text: str, why: str) -> None:
    with pytest.raises(InvalidJson, match=why):
        loads(text)


def test_loads_keeps_what_is_fine() -> None:
    assert loads('{"a": "\\ud83d\\ude00", "b": 1.5}') == {"a": "😀", "b": 1.5}
    assert loads('{"a": "[[[{{{"}') == {"a": "[[[{{{"}  # brackets in a string nest nothing
    deep_but_allowed = "[" * 64 + "]" * 64
    assert loads(deep_but_allowed) is not None
    brackets = '{"a": "' + "[" * 100 + '"}'  # many brackets, little depth: walked, accepted
    assert loads(brackets) == {"a": "[" * 100}
