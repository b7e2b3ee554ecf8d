"""Threads conversations against the fake Threads API over real HTTP, stored on a real database
(SQLite, and PostgreSQL when configured): a post's parent and root come from `replied_to` and
`root_post`; a customer answering our reply without @-mentioning the brand is read from the
card's conversation and joins its thread (reopening it); a reply to the brand's own post is a
card; a stranger in a thread the desk watches is context or nothing, never a card; a
conversation Threads refuses is skipped with a note, a throttled one fails the poll (read
whole by the next), a busy one's replies past the page cap are a gap the next poll reads, and
replies never move the cursor."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.rules.schema import Brand, Rules, SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.base import RateLimited, SourceState, Watched
from bot.networks.gaps import describe
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from tests.support.clock import Clock
from tests.support.fake_graph import GRAPH_NOW
from tests.support.fake_meta import meta_error
from tests.support.fake_threads import FakeThreads
from tests.support.gap_storm import rules_with
from tests.support.threads_answers import CARD, NEW_CARD, THREAD, answers, close_answered, seed

NOW = GRAPH_NOW
T = NOW.timestamp()
MENTIONS = SourceSpec(id="threads", type="threads_mentions")
BRAND = Brand(name="Acme Bank")


def source(fake: FakeThreads, clock: Clock | None = None) -> ThreadsSource:
    return ThreadsSource(MENTIONS, BRAND, build_threads(
        fake.settings(), clock=(lambda: clock.now) if clock else (lambda: NOW)))


def test_a_mention_carries_its_parent_and_its_threads_root(threads):
    threads.post("18000000000000900", "someone", "big news today", T - 3000)
    threads.post("18000000000000901", "lee.p", "@acmebank same here", T - 900,
                 mentions_us=True, parent="18000000000000900")
    threads.post("18000000000000902", "dana.w", "@acmebank card declined", T - 600,
                 mentions_us=True)
    got = source(threads).fetch(SourceState(), now=NOW)
    reply, top = got.mentions
    assert (reply.in_reply_to_id, reply.conversation_id) == ("18000000000000900",
                                                             "18000000000000900")
    assert (top.in_reply_to_id, top.conversation_id) == (None, "18000000000000902")
    [asked] = threads.of_kind("mentions")
    assert "root_post{id}" in asked.params["fields"]


def test_a_stranger_in_a_watched_thread_is_never_a_card_and_a_refused_one_is_a_note(threads):
    threads.post("18000000000000910", "someone", "big news today", T - 3000)
    threads.post("18000000000000911", "zed", "who cares", T - 300, parent="18000000000000910")
    watch = (Watched("18000000000000910", NOW - timedelta(hours=1)),
             Watched("18000000000000999", NOW - timedelta(hours=1)))  # deleted since
    got = source(threads).fetch(SourceState(cursor=str(int(T - 3600)), watch=watch), now=NOW)
    [zed] = got.mentions
    assert zed.extra["thread_only"] == "1" and zed.extra["kind"] == "reply"
    assert got.state.cursor == str(int(T - 3600))  # replies never move the cursor
    assert any("1 conversation(s) Threads would not give" in n for n in got.notes), got.notes
    assert all(c.params["reverse"] == "true" for c in threads.of_kind("conversation"))


def test_an_answer_without_a_mention_joins_the_card_and_reopens_it(threads, engine):
    factory = make_session_factory(engine)
    clock = Clock(NOW - timedelta(minutes=30))
    seed(threads, T)
    src, rules = source(threads, clock), rules_with(MENTIONS)
    assert poll_source(factory, src, rules, clock=clock).new == 1
    answers(threads, close_answered(factory, threads, NOW), T)  # none of them in /me/mentions
    clock.now = NOW
    outcome = poll_source(factory, src, rules, clock=clock)
    assert outcome.status == "ok" and outcome.new == 1, outcome
    with session_scope(factory) as s:
        card = s.scalars(select(models.Mention).where(models.Mention.external_id == CARD)).one()
        posts = dict(s.execute(select(models.ThreadPost.external_id, models.ThreadPost.role)
                               .where(models.ThreadPost.mention_id == card.id)).all())
        cards = s.scalars(select(models.Mention.external_id).order_by(models.Mention.id)).all()
        state = (card.status, card.follow_ups, card.reopens)
        row = s.get(models.Source, MENTIONS.id)
        assert row is not None
        cursor = row.cursor
    assert posts == THREAD
    assert cards == [CARD, NEW_CARD]  # a reply to the brand's post; ours read back dropped
    assert state == ("claimed", 1, 1)
    assert cursor == str(int(T - 2400))
    clock.now = NOW + timedelta(minutes=5)
    again = poll_source(factory, src, rules, clock=clock)  # nothing new, nothing repeated
    assert (again.status, again.new) == ("ok", 0)
    with session_scope(factory) as s:
        assert len(s.scalars(select(models.ThreadPost)).all()) == 2


def test_a_throttled_conversation_fails_the_poll_and_the_next_one_reads_it(threads):
    """Throttling is not a conversation to skip: the poll waits, nothing of it is kept, and
    the watched conversation is read whole by the next (its floor does not move)."""
    threads.post("18000000000000940", "lee.p", "@acmebank help", T - 900, mentions_us=True)
    threads.post("18000000000000941", "lee.p", "hello??", T - 60, parent="18000000000000940")
    watch = (Watched("18000000000000940", NOW - timedelta(minutes=15)),)
    threads.fail("conversation", 400, meta_error("app_limit"))
    with pytest.raises(RateLimited):
        source(threads).fetch(SourceState(cursor=str(int(T - 900)), watch=watch), now=NOW)
    got = source(threads).fetch(SourceState(cursor=str(int(T - 900)), watch=watch), now=NOW)
    assert [m.external_id for m in got.mentions] == ["18000000000000940", "18000000000000941"]
    assert got.mentions[1].extra["thread_only"] == "1"


def busy_card(threads: FakeThreads, engine: Engine
              ) -> tuple[sessionmaker[Session], Clock, ThreadsSource, Rules, set[str]]:
    """A card (CARD, carded by a first poll half an hour ago), then 150 replies under it: 6
    pages of the conversation, 2 past the cap. The busy-conversation tests' start."""
    factory = make_session_factory(engine)
    clock = Clock(NOW - timedelta(minutes=30))
    threads.post(CARD, "lee.p", "@acmebank app down?", T - 2400, mentions_us=True)
    src, rules = source(threads, clock), rules_with(MENTIONS)
    assert poll_source(factory, src, rules, clock=clock).new == 1
    replies = {threads.post(str(18000000000001000 + n), "lee.p", f"still down ({n})",
                            T - 1200 + n, parent=CARD) for n in range(150)}
    return factory, clock, src, rules, replies


def test_a_busy_conversation_keeps_a_gap_that_the_next_poll_reads_first(threads, engine):
    """6 pages of new replies under a card: the first poll reads the newest 4 and keeps the
    rest as the conversation's gap; the next reads it from where the cap stopped and closes
    it. Every reply stored once, none carded."""
    factory, clock, src, rules, replies = busy_card(threads, engine)

    def kept() -> tuple[set[str], str | None, list[str]]:
        with session_scope(factory) as s:
            row = s.get(models.Source, MENTIONS.id)
            assert row is not None
            return (set(s.scalars(select(models.ThreadPost.external_id))), row.backfill,
                    list(s.scalars(select(models.Mention.external_id))))

    clock.now = NOW
    asked = len(threads.of_kind("conversation"))
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    posts, gap, cards = kept()
    assert len(posts) == 100 and posts < replies and cards == [CARD]
    assert describe(gap).endswith(f"under replies:{CARD}"), gap
    assert len(threads.of_kind("conversation")) - asked == 4
    clock.now = NOW + timedelta(minutes=5)
    asked = len(threads.of_kind("conversation"))
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    posts, gap, cards = kept()
    assert posts == replies and gap is None and cards == [CARD]
    # read from where the cap stopped, not from the newest page again
    assert [c.params.get("after") for c in threads.of_kind("conversation")[asked:]] == [
        "100", "125"]


def test_a_busy_conversations_expired_cursor_is_read_again_from_the_newest_page(
        threads, engine, caplog):
    """The gap's `after` cursor expires between polls: Threads answers it with (#2642), the gap
    is read again from the newest page (a note), and the polls after store every reply once."""
    factory, clock, src, rules, replies = busy_card(threads, engine)

    def kept() -> tuple[set[str], str | None]:
        with session_scope(factory) as s:
            row = s.get(models.Source, MENTIONS.id)
            assert row is not None
            return set(s.scalars(select(models.ThreadPost.external_id))), row.backfill

    clock.now = NOW
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    assert len(kept()[0]) == 100
    threads.expire_cursors()
    asked = len(threads.of_kind("conversation"))
    clock.now = NOW + timedelta(minutes=5)
    with caplog.at_level(logging.WARNING, logger="bot.networks.gaps"):
        assert poll_source(factory, src, rules, clock=clock).status == "ok"
    assert "page token was refused" in caplog.text
    calls = threads.of_kind("conversation")[asked:]
    assert [(c.params.get("after"), c.status) for c in calls] == [
        ("100", 400), (None, 200), ("1.25", 200), ("1.50", 200)]
    assert len(kept()[0]) == 100 and kept()[1] is not None
    clock.now = NOW + timedelta(minutes=10)
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    posts, gap = kept()
    assert posts == replies and gap is None


def test_after_a_busy_conversations_gap_closes_the_next_reads_stop_at_its_mark(threads, engine):
    """The polls remember how far into the conversation they read (the newest reply of the
    first page read, kept beside the cursor): once the gap is closed, a poll with nothing new
    reads one page and opens no gap (it used to read 4 pages over stored replies and open the
    gap again), and one with 3 new replies reads only the first page and stores all 3."""
    factory, clock, src, rules, replies = busy_card(threads, engine)

    def kept() -> tuple[set[str], str | None, str | None]:
        with session_scope(factory) as s:
            row = s.get(models.Source, MENTIONS.id)
            assert row is not None
            return set(s.scalars(select(models.ThreadPost.external_id))), row.backfill, row.marks

    for minutes in (0, 5):  # the cap opens the gap, the next poll closes it
        clock.now = NOW + timedelta(minutes=minutes)
        assert poll_source(factory, src, rules, clock=clock).status == "ok"
    posts, gap, marks = kept()
    assert posts == replies and gap is None and marks == f'{{"{CARD}": "{int(T - 1051)}"}}'
    clock.now = NOW + timedelta(minutes=10)
    asked = len(threads.of_kind("conversation"))
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    assert len(threads.of_kind("conversation")) - asked == 1 and kept()[1] is None
    new = {threads.post(str(18000000000002000 + n), "lee.p", f"still?? ({n})", T + 300 + n,
                        parent=CARD) for n in range(3)}
    clock.now = NOW + timedelta(minutes=15)
    asked = len(threads.of_kind("conversation"))
    assert poll_source(factory, src, rules, clock=clock).status == "ok"
    posts, gap, marks = kept()
    assert [c.params.get("after") for c in threads.of_kind("conversation")[asked:]] == [None]
    assert posts == replies | new and gap is None and marks == f'{{"{CARD}": "{int(T + 302)}"}}'
