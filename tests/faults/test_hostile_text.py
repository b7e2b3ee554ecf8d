"""Hostile posts: mrkdwn control sequences, zero-width and bidi characters, 10,000-character
texts, broken UTF-8 and code points no database can store, through the real parsers (tweepy
against a scripted local HTTP server, feedparser on a file) and the real store → stored (the text kept exactly,
or with only the un-storable code points replaced by U+FFFD), and on the card inert and within
Block Kit's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.config import Settings
from bot.desk.directory import StaticDirectory
from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.ingest import store_mentions
from bot.listening.polling import poll_source
from bot.networks.rss.source import RssSource
from bot.networks.x.client import build_x_client
from bot.networks.x.source import XSearchSource
from bot.slack.blocks.text import (
    BUTTON_TEXT_MAX,
    BUTTON_VALUE_MAX,
    CONTEXT_ELEMENTS_MAX,
    MESSAGE_BLOCKS_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    slack_len,
)
from bot.slack.render import Renderer
from tests.support import fault_figures
from tests.support.paths import ROOT
from tests.support.scripted_http import ScriptedHTTP
from tests.support.x_api import BEARER, SEARCH_URL, x_body

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

HOSTILE = ["<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C0CARE00001>",
           "<http://evil.example|bank.com>", "<https://evil.example>", "<!subteam^S0PRLEADS01>",
           "<!date^1700000000^{date}|x>", "*Approved by legal*", "_P1 · X_", "~struck~",
           "`code`", "```block```", "> quote", "&lt;!channel&gt;", "&amp;", "&", "<", ">",
           "\u200b", "\u200d", "\ufeff", "\u202e", "\u202d", "\u2066", "\u2069", "\u061c",
           "\n", "\r\n", "\t", "😀", "👩‍👩‍👧", "🇬🇧", "e\u0301", "x" * 200]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# The only `<…>` sequences our cards may carry: built by bot.slack.blocks.text from validated values.
OURS = re.compile(r"<(?:@U[A-Z0-9]+|!subteam\^S[A-Z0-9]+|!date\^[0-9]+\^[^|>]*\|[^>]*"
                  r"|https://x\.com/[^|>]*(?:\|[^>]*)?)>")
texts = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)), min_size=1,
                 max_size=25).map("".join)
renderer = Renderer(lambda: RULES, StaticDirectory(), lambda: NOW)


def storable(text: str) -> str:
    """What a database can keep of `text`: UTF-8 has no surrogates, PostgreSQL no NUL."""
    return re.sub("[\ud800-\udfff\x00]", "\ufffd", text)


def mrkdwn_texts(payload: dict) -> list[str]:
    """Every string Slack parses as mrkdwn: the top-level text and mrkdwn text objects."""
    out = [payload["text"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(payload["blocks"])
    return out


def check_card(payload: dict, text: str, name: str) -> None:
    """Inert and within limits, whatever the post and the author's name."""
    blocks = payload["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    assert slack_len(payload["text"]) <= MESSAGE_TEXT_MAX
    for b in blocks:
        if b["type"] == "section":
            assert slack_len(b["text"]["text"]) <= SECTION_TEXT_MAX
        if b["type"] == "context":
            assert len(b["elements"]) <= CONTEXT_ELEMENTS_MAX
            assert all(slack_len(e["text"]) <= SECTION_TEXT_MAX for e in b["elements"])
        for el in b.get("elements", []):
            if el.get("type") == "button":
                assert slack_len(el["text"]["text"]) <= BUTTON_TEXT_MAX
                assert len(el.get("value", "")) <= BUTTON_VALUE_MAX
    for s in mrkdwn_texts(payload):
        # No control sequence but ours: `<` only ever opens one of them.
        rest = OURS.sub("", s)
        assert "<" not in rest and ">" not in rest, s[:300]
        # Every `&` starts an entity: nothing the post wrote can decode into a `<`.
        assert not re.search(r"&(?!amp;|lt;|gt;)", rest), s[:300]
    # The notification text and the card's own lines carry no bidi control from the post or
    # the name (the post's own section may: Slack isolates it as its own paragraph).
    post_section = blocks[2]["text"]["text"]
    assert not BIDI.search(payload["text"])
    assert not any(BIDI.search(s) for s in mrkdwn_texts(payload) if s != post_section)
    # The post stays in its own section: the card's head, author line and post are where
    # they always are, and no other block carries the post's words.
    assert [b["type"] for b in blocks[:3]] == [b["type"] for b in REFERENCE["blocks"][:3]]
    assert [b.get("block_id") for b in blocks if b["type"] == "actions"] == [
        b.get("block_id") for b in REFERENCE["blocks"] if b["type"] == "actions"]


def card_for(factory, mention_id: int) -> dict:
    with session_scope(factory) as s:
        row = s.scalars(select(models.OutboxMessage).where(
            models.OutboxMessage.mention_id == mention_id)).one()
        return renderer(s, row)


REFERENCE: dict = {}


@pytest.fixture
def factory(engine):
    factory = make_session_factory(engine)
    if not REFERENCE:
        with session_scope(factory) as s:
            [ref] = store_mentions(s, [Mention(
                network="x", external_id="ref", text="plain post", url="https://x.com/a/1",
                author=Author(handle="plain", name="Plain"), created_at=NOW, lang="en")],
                RULES, now=NOW).new_mention_ids
        REFERENCE.update(card_for(factory, ref))
    return factory


_n = iter(range(10**9))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts, name=texts, long=st.booleans())
def test_hostile_posts_are_stored_intact_and_inert_on_the_card(factory, text, name, long):
    if long:
        text = (text * (10_000 // max(len(text), 1) + 1))[:10_000]
    n = next(_n)
    m = Mention(network="x", external_id=f"h{n}", text=text, url=f"https://x.com/h/{n}",
                author=Author(handle=f"h{n}", name=name), created_at=NOW, lang="en")
    with session_scope(factory) as s:
        [mention_id] = store_mentions(s, [m], RULES, now=NOW).new_mention_ids
    with session_scope(factory) as s:
        row = s.get(models.Mention, mention_id)
        assert row.text == storable(text)  # the database keeps the post as written
        assert (row.author.name or "") == storable(name)
    check_card(card_for(factory, mention_id), text, name)
    fault_figures.tried("hostile inputs")


def test_a_10000_character_post_is_stored_whole_and_cut_on_the_card(factory):
    text = ("<!channel> " + "&<>" * 10 + "😀") * 200
    text = text[:10_000]
    with session_scope(factory) as s:
        [mention_id] = store_mentions(s, [Mention(
            network="x", external_id="long", text=text, url="https://x.com/l/1",
            author=Author(handle="long", name="Long"), created_at=NOW)], RULES,
            now=NOW).new_mention_ids
    with session_scope(factory) as s:
        assert s.get(models.Mention, mention_id).text == text
    card = card_for(factory, mention_id)
    check_card(card, text, "Long")
    post = card["blocks"][2]["text"]["text"]
    assert post.endswith("…") and post.startswith("&lt;!channel&gt; &amp;&lt;&gt;")
    fault_figures.tried("hostile inputs")


# --- through the real parsers ---------------------------------------------------------------

def x_page_bytes() -> bytes:
    """The recorded search page with three hostile posts spliced in as raw JSON text: a lone
    surrogate escape, a NUL escape, and bytes that are not UTF-8 at all."""
    page = x_body("northwind_search_recent")
    template = next(t for t in page["data"] if t["author_id"] != "1400000000000000001")
    hostile = []
    for i, marker in enumerate(["LONE", "NUL", "BAD"]):
        t = dict(template, id=f"18537300000000000{i:02d}", text=f"@NorthwindAir {marker} here",
                 edit_history_tweet_ids=[f"18537300000000000{i:02d}"])
        # Posts of their own: as replies in the template's thread they would be threaded.
        for key in ("entities", "referenced_tweets", "in_reply_to_user_id", "conversation_id"):
            t.pop(key, None)
        hostile.append(t)
    page["data"] = hostile + page["data"]
    page["meta"]["newest_id"] = hostile[-1]["id"]
    raw = json.dumps(page).encode()
    return (raw.replace(b"LONE", b"\\ud83d lone half of an emoji")
            .replace(b"NUL", b"nul \\u0000 byte").replace(b"BAD", b"latin-1 caf\xe9 \xff\xfe"))


def test_broken_utf8_and_unstorable_code_points_from_x_are_stored_and_the_source_moves_on(
        engine):
    factory = make_session_factory(engine)
    clock = lambda: datetime(2024, 11, 5, 9, 0, tzinfo=UTC)  # noqa: E731
    with ScriptedHTTP() as api:
        x = XSearchSource(RULES.source("x-search"), RULES.brand, build_x_client(
            Settings(_env_file=None, X_BEARER_TOKEN=BEARER, X_API_URL=api.url)))
        api.get(SEARCH_URL, body=x_page_bytes(), content_type="application/json")
        outcome = poll_source(factory, x, RULES, clock=clock)
    assert outcome.status == "ok", outcome
    with session_scope(factory) as s:
        stored = {m.external_id: m.text for m in s.scalars(select(models.Mention))}
        cursor = s.get(models.Source, "x-search").cursor
    hostile = {k: v for k, v in stored.items() if k.startswith("185373")}
    assert len(hostile) == 3 and len(stored) == 3 + 3  # and the page's three ordinary posts
    assert hostile["1853730000000000000"] == "@NorthwindAir \ufffd lone half of an emoji here"
    assert hostile["1853730000000000001"] == "@NorthwindAir nul \ufffd byte here"
    assert "caf" in hostile["1853730000000000002"]  # decoded somehow, never dropped
    assert cursor == "1853730000000000002"
    fault_figures.invariant("mentions lost", 6 - len(stored))
    fault_figures.tried("hostile inputs", 3)


def test_a_feed_with_broken_bytes_is_stored(engine, tmp_path):
    feed = tmp_path / "alerts.xml"
    raw = (ROOT / "tests/data/feeds/google_alerts_atom.xml").read_bytes()
    broken = raw.replace(b"Slack", b"Sl\xffack\xc3(", 3)
    assert broken != raw
    feed.write_bytes(broken)
    source = RssSource(SourceSpec(id="alerts", type="rss", url=feed.as_uri(), every="15m"))
    factory = make_session_factory(engine)
    outcome = poll_source(factory, source, RULES, clock=lambda: NOW + timedelta(days=1))
    assert outcome.status == "ok" and outcome.new == 20, outcome
    with session_scope(factory) as s:
        assert len(s.scalars(select(models.Mention.id)).all()) == 20
    fault_figures.invariant("mentions lost", 20 - outcome.new)
    fault_figures.tried("hostile inputs")
