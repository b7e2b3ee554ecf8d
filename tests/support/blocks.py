"""Checks every Block Kit payload the bot builds must pass.

- `check_limits(payload)`: a message or modal within Slack's Block Kit limits (PLATFORM.md),
  counted as Slack counts (UTF-16 units), then validated again by slack-sdk's own models;
  `check_block(block)` for one block;
- `assert_inert(payload, allowed_urls)`: no untrusted text became a control sequence — the
  only `<…>` are the bot's own mentions, dates and links to the URLs it was given;
- `untrusted`: a hypothesis strategy of hostile text (Slack's control sequences, entities,
  mrkdwn, bidi and zero-width characters) for property tests.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block as SdkBlock
from slack_sdk.models.views import View as SdkView

from bot.slack.blocks import slack_len


def _text_obj(obj: dict, limit: int, *, plain_only: bool = False) -> None:
    assert obj["type"] in (("plain_text",) if plain_only else ("plain_text", "mrkdwn")), obj
    assert isinstance(obj["text"], str)
    assert 1 <= slack_len(obj["text"]) <= limit, (slack_len(obj["text"]), limit, obj["text"][:80])
    assert obj["text"].strip(), "Slack refuses a blank text object"
    if obj["type"] == "plain_text":
        assert "verbatim" not in obj
    else:
        assert "emoji" not in obj


def _option(opt: dict) -> None:
    _text_obj(opt["text"], 75, plain_only=True)
    assert 1 <= len(opt["value"]) <= 150, opt["value"]


def _element(el: dict) -> None:
    assert len(el.get("action_id", "")) <= 255
    kind = el["type"]
    if kind == "button":
        _text_obj(el["text"], 75, plain_only=True)
        assert len(el.get("value", "")) <= 2000
        assert el.get("style") in (None, "primary", "danger")
        if "confirm" in el:
            c = el["confirm"]
            _text_obj(c["title"], 100, plain_only=True)
            _text_obj(c["text"], 300)
            _text_obj(c["confirm"], 30, plain_only=True)
            _text_obj(c["deny"], 30, plain_only=True)
    elif kind == "static_select":
        assert 1 <= len(el["options"]) <= 100
        for opt in el["options"]:
            _option(opt)
        assert len({o["value"] for o in el["options"]}) == len(el["options"])
        if "initial_option" in el:
            assert el["initial_option"] in el["options"]
        _text_obj(el["placeholder"], 150, plain_only=True)
    elif kind == "overflow":
        assert 1 <= len(el["options"]) <= 5
        for opt in el["options"]:
            _option(opt)
    elif kind == "plain_text_input":
        most = el.get("max_length", 3000)
        assert 1 <= most <= 3000 and el.get("min_length", 0) <= most
        assert slack_len(el.get("initial_value", "")) <= most
        if "placeholder" in el:
            _text_obj(el["placeholder"], 150, plain_only=True)
    else:
        pytest.fail(f"the limit check does not know element type {kind!r}: teach it")


def check_block(block: dict) -> None:
    """One block within Slack's limits for its type (and only types the check knows)."""
    kind = block["type"]
    assert len(block.get("block_id", "")) <= 255
    if kind == "section":
        assert "text" in block or "fields" in block
        if "text" in block:
            _text_obj(block["text"], 3000)
        fields = block.get("fields", [])
        assert len(fields) <= 10
        for f in fields:
            _text_obj(f, 2000)
        if "accessory" in block:
            _element(block["accessory"])
    elif kind == "header":
        _text_obj(block["text"], 150, plain_only=True)
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        for e in block["elements"]:
            _text_obj(e, 3000)
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= 25
        ids = [e["action_id"] for e in block["elements"]]
        assert len(ids) == len(set(ids)), ids
        for e in block["elements"]:
            _element(e)
    elif kind == "input":
        _text_obj(block["label"], 2000, plain_only=True)
        if "hint" in block:
            _text_obj(block["hint"], 2000, plain_only=True)
        _element(block["element"])
    elif kind != "divider":
        pytest.fail(f"the limit check does not know block type {kind!r}: teach it")


def check_limits(payload: dict) -> None:
    """Slack's Block Kit limits (PLATFORM.md), counted as Slack counts (UTF-16 units)."""
    json.dumps(payload)  # plain JSON values only
    bl = payload["blocks"]
    if payload.get("type") == "modal":
        assert len(bl) <= 100
        _text_obj(payload["title"], 24, plain_only=True)
        for key in ("submit", "close"):
            if key in payload:
                _text_obj(payload[key], 24, plain_only=True)
        if any(b["type"] == "input" for b in bl):
            assert "submit" in payload, "a modal with inputs needs a submit button"
        assert len(payload.get("private_metadata", "")) <= 3000
        assert len(payload["callback_id"]) <= 255
    else:
        assert 1 <= len(bl) <= 50
        assert 1 <= len(payload["text"]) <= 40_000
    ids = [b["block_id"] for b in bl if "block_id" in b]
    assert len(ids) == len(set(ids)), ids
    assert sum(b.get("element", {}).get("focus_on_load", False) for b in bl) <= 1
    for b in bl:
        check_block(b)
    # A second opinion: slack-sdk's own Block Kit models validate on to_dict().
    if payload.get("type") == "modal":
        SdkView(**payload).to_dict()
    else:
        for b in bl:
            SdkBlock.parse(b).to_dict()


# --- Nothing untrusted becomes a control sequence -------------------------------------------
OURS = re.compile(
    r"<@[UW][A-Z0-9]{2,30}>"
    r"|<!subteam\^S[A-Z0-9]{2,30}>"
    r"|<!date\^-?\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>"
    r"|<(?P<url>https?://[^\s<>|]+)\|[^<>|]+>")


def strings(obj, key=None):
    """Every string in a payload, with the key it is under (a list's items: the list's)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v, key)
    elif isinstance(obj, str):
        yield key, obj


def assert_inert(payload: dict, allowed_urls: set[str]) -> None:
    """The only `<…>` are ours: user/group mentions, dates, and links to the URLs we were
    given and validated. `initial_value` (the text being edited in a modal) is raw by design."""
    for key, s in strings(payload):
        if key == "initial_value":
            continue
        for m in OURS.finditer(s):
            if m.group("url"):
                assert m.group("url") in allowed_urls, m.group(0)
        leftover = OURS.sub("", s)
        assert "<" not in leftover and ">" not in leftover, (key, s[:300])


FRAGMENTS = ["<!channel>", "<!here>", "<@U123>", "<@U0LEAD>", "<#C123>", "<!subteam^S0LEADS>",
             "<http://evil.example|your bank>", "<https://x.com/a|b>", "<!date^1^{time}|x>",
             "&", "&amp;", "&lt;", "<", ">", "|", "*", "_", "`", "```", "~", "\n", "\u200b",
             "\u200d", "\u202e", "\u2066", "\u200f", "😀", "@channel", "https://ok.example/a?b&c"]
untrusted = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)),
                     max_size=12).map("".join)
