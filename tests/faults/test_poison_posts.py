"""Hostile posts beside good ones (issue 18, break 3): values that don't fit their columns, a
post the parser refuses, a post that still cannot be stored. Each: the good posts of the same
poll are stored, the cursor moves, the bad post is fitted or quarantined (kept raw, counted,
shown by `check --live`), and the next poll is not blocked by it. On SQLite and PostgreSQL:
before this, PostgreSQL failed the whole poll at every run (0 mentions stored in 4 of 4).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.mention import Author, Mention
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.fitting import FOLLOWERS_MAX, HANDLE_MAX
from bot.listening.health import source_health
from bot.listening.polling import poll_source
from bot.networks.base import Fetch, Rejected, SourceState
from bot.networks.x.source import BrandMatcher, normalise_page
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_source import NOW, FakeSource, tweet
from tests.support.fault_scenarios import RULES

SPEC = RULES.source("x-search")


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


def stored(factory) -> dict[str, models.Mention]:
    with session_scope(factory) as s:
        return {m.external_id: m for m in s.scalars(select(models.Mention))}


def rss_post(n: int, lang: str) -> Mention:
    return Mention(network="rss", external_id=f"https://news.example.com/{n}", text="Northwind "
                   "Air delays again", author=Author(handle="news.example.com", name="News"),
                   url=f"https://news.example.com/{n}", created_at=NOW - timedelta(minutes=3),
                   lang=lang, source_id=SPEC.id)


HOSTILE = [
    # A feed's hand-written <language>: "English (United States)" (the column is 16).
    ("rss language name", rss_post(1, "English (United States)")),
    ("language garbage", dataclasses.replace(tweet(2), lang="klingon-of-the-north-2")),
    # A Mastodon account on an instance with a very long name (the column is 255).
    ("long handle", Mention(network="mastodon", external_id="1134",
                            text="@northwind where is my bag", source_id=SPEC.id,
                            author=Author(handle="ana@" + "very-long-instance." * 20 + "social",
                                          name="Ana", followers=3),
                            created_at=NOW - timedelta(minutes=2))),
    # A follower count past int4 (2^31).
    ("followers past int4", tweet(3, handle="bigaccount", followers=2**40)),
    ("an id longer than an index entry", dataclasses.replace(tweet(4), external_id="9" * 5000)),
]


@pytest.mark.parametrize("what, bad", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_value_that_does_not_fit_is_fitted_and_the_poll_beside_it_stored(factory, what, bad):
    good = [tweet(10), tweet(11, handle="other")]
    source = FakeSource(SPEC, [Fetch([good[0], bad, good[1]], SourceState("1011"), reads=3)])
    outcome = poll_source(factory, source, RULES, clock=Clock(NOW))
    fault_figures.tried("hostile inputs")
    assert (outcome.status, outcome.new, outcome.quarantined) == ("ok", 3, 0), outcome
    rows = stored(factory)
    assert fault_figures.invariant("mentions lost", sum(
        1 for m in good if m.external_id not in rows)) == 0
    with session_scope(factory) as s:
        assert s.get(models.Source, SPEC.id).cursor == "1011"
        authors = {a.handle: a for a in s.scalars(select(models.Author))}
    assert all(len(h) <= HANDLE_MAX for h in authors)
    assert all(0 <= a.followers <= FOLLOWERS_MAX for a in authors.values())
    if what == "rss language name":
        assert rows[bad.external_id].lang == "en"
    if what == "language garbage":
        assert rows[bad.external_id].lang in (None, "en")  # dropped; the detector's guess
    if what == "followers past int4":
        assert authors["bigaccount"].followers == FOLLOWERS_MAX
    if what == "an id longer than an index entry":
        assert any(k.startswith("sha256:") for k in rows)


def test_a_post_that_cannot_be_stored_is_quarantined_and_the_rest_stored(factory):
    """A naive `created_at` (an adapter bug) fails its store on every backend: the page is
    stored post by post in SAVEPOINTs, the post is kept raw, the cursor moves, and the same
    post met again is counted, not stored twice."""
    bad = dataclasses.replace(tweet(21), created_at=datetime(2026, 11, 23, 11, 55))  # naive
    good = [tweet(20), tweet(22)]
    fetches = [Fetch([good[0], bad, good[1]], SourceState("1022"), reads=3),
               Fetch([bad, tweet(23)], SourceState("1023"), reads=2)]
    source = FakeSource(SPEC, list(fetches))
    clock = Clock(NOW)
    first = poll_source(factory, source, RULES, clock=clock)
    clock.advance(60)
    second = poll_source(factory, source, RULES, clock=clock)
    fault_figures.tried("hostile inputs", 2)
    assert (first.status, first.new, first.quarantined) == ("ok", 2, 1)
    assert (second.status, second.new, second.quarantined) == ("ok", 1, 1)
    rows = stored(factory)
    assert fault_figures.invariant("mentions lost", len(
        {"1020", "1022", "1023"} - set(rows))) == 0
    with session_scope(factory) as s:
        assert s.get(models.Source, SPEC.id).cursor == "1023"
        q = s.scalars(select(models.QuarantinedPost)).one()
        assert (q.external_id, q.stage, q.times, q.source_id) == ("1021", "store", 2, SPEC.id)
        assert "naive datetime" in q.reason and '"external_id": "1021"' in q.raw
        cards = s.scalar(select(func.count()).select_from(models.OutboxMessage))
        health = {h.id: h for h in source_health(s, RULES, clock.now)}[SPEC.id]
    assert fault_figures.invariant("duplicate cards", cards - 3) == 0
    assert health.quarantined == 1 and "1 post(s) quarantined" in health.line()


def test_a_post_the_parser_refuses_is_quarantined_and_the_page_stored(factory):
    """X: a post with a non-numeric id and no created_at raised out of the parser at every
    poll (no backoff, nothing stored). Now it is rejected alone."""
    page = {"data": [{"id": "1853700000000000001", "text": "@NorthwindAir fine flight",
                      "author_id": "7", "created_at": "2026-11-23T11:50:00.000Z"},
                     {"id": "not-a-number", "text": "@NorthwindAir broken", "author_id": "7"}],
            "includes": {"users": [{"id": "7", "username": "ana", "name": "Ana"}]}}
    rejected: list[Rejected] = []
    mentions = normalise_page(page, brand=BrandMatcher("NorthwindAir"), source_id=SPEC.id,
                              rejected=rejected)
    assert [m.external_id for m in mentions] == ["1853700000000000001"]
    assert [(r.external_id, r.network) for r in rejected] == [("not-a-number", "x")]
    with pytest.raises(ValueError):  # without a list to put it in, it still raises (replay)
        normalise_page(page, brand=BrandMatcher("NorthwindAir"), source_id=SPEC.id)

    source = FakeSource(SPEC, [Fetch(mentions, SourceState("1853700000000000001"), reads=2,
                                     rejected=rejected)])
    outcome = poll_source(factory, source, RULES, clock=Clock(NOW))
    fault_figures.tried("hostile inputs")
    assert (outcome.status, outcome.new, outcome.quarantined) == ("ok", 1, 1)
    with session_scope(factory) as s:
        q = s.scalars(select(models.QuarantinedPost)).one()
        assert (q.stage, q.external_id) == ("parse", "not-a-number")
        assert "invalid literal for int()" in q.reason and '"text": "@NorthwindAir broken"' in q.raw
    assert fault_figures.invariant("mentions lost", 0 if "1853700000000000001" in stored(factory)
                                   else 1) == 0


def test_an_adapter_error_backs_off_instead_of_failing_every_poll(factory):
    source = FakeSource(SPEC, [KeyError("data"), Fetch([tweet(30)], SourceState("1030"))])
    clock = Clock(NOW)
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert outcome.status == "unavailable" and "adapter failed" in outcome.detail
    with session_scope(factory) as s:
        row = s.get(models.Source, SPEC.id)
        assert row.next_run_at == NOW + SPEC.every
    assert poll_source(factory, source, RULES, clock=clock).status == "skipped"
    clock.now = NOW + SPEC.every
    assert poll_source(factory, source, RULES, clock=clock).new == 1
