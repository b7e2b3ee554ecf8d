"""ThreadsSource (mentions and keyword search) and ThreadsPublisher (create + publish) over
httpx against the fake Threads API over real HTTP (tests/support/fake_threads.py). Bad inputs:
a mention Threads won't show (a private profile), an emoji-only post, a reply over 500
characters, a crash between the two steps of a reply."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit.db import make_session_factory
from bot.listening.polling import poll_source
from bot.networks.base import PublishError, RateLimited, SourceAuthError, SourceState, Target
from bot.networks.threads.client import build_threads
from bot.networks.threads.publisher import ThreadsPublisher
from bot.networks.threads.source import ThreadsSource
from tests.support.clock import Clock
from tests.support.fake_graph import GRAPH_NOW
from tests.support.fake_meta import meta_error
from tests.support.fake_threads import ME, FakeThreads
from tests.support.gap_storm import drain, rules_with, stored

NOW = GRAPH_NOW
T = NOW.timestamp()
MENTIONS = SourceSpec(id="threads", type="threads_mentions")
SEARCH = SourceSpec(id="threads-search", type="threads_search", query="acme bank")
BRAND = Brand(name="Acme Bank")


def source(fake: FakeThreads, spec: SourceSpec = MENTIONS) -> ThreadsSource:
    return ThreadsSource(spec, BRAND, build_threads(fake.settings(), clock=lambda: NOW))


def test_mentions_arrive_oldest_first_and_unreadable_ones_are_skipped_with_a_note(threads):
    threads.post("18000000000000101", "lee.p", "@acmebank is the app down? 😡", T - 900,
                 mentions_us=True)
    threads.post("18000000000000102", "dana.w", "🙏🙏", T - 600, mentions_us=True)
    threads.post("18000000000000103", "hidden.one", None, T - 300, mentions_us=True,
                 private=True)
    threads.post("18000000000000104", ME, "@acmebank our own post", T - 200, mentions_us=True)
    got = source(threads).fetch(SourceState(), now=NOW)
    assert [m.text for m in got.mentions] == ["@acmebank is the app down? 😡", "🙏🙏"]
    down = got.mentions[0]
    assert (down.network, down.author.handle, down.extra["kind"]) == ("threads", "lee.p",
                                                                      "mention")
    assert down.url.startswith("https://www.threads.net/@lee.p/") and down.mentions_brand
    assert got.notes == ["1 post(s) Threads would not show us (a private profile?) skipped"]
    assert got.state.cursor == str(int(T - 600))


def test_keyword_search_sends_since_and_finds_recent_posts(threads):
    threads.post("18000000000000201", "sam", "Acme Bank ate my card again", T - 600)
    threads.post("18000000000000202", "ana", "nothing to see", T - 500)
    got = source(threads, SEARCH).fetch(SourceState(cursor=str(int(T - 3600))), now=NOW)
    assert [m.text for m in got.mentions] == ["Acme Bank ate my card again"]
    assert not got.mentions[0].mentions_brand and got.mentions[0].extra["kind"] == "search"
    [call] = threads.of_kind("search")
    assert call.params["search_type"] == "RECENT" and int(call.params["since"]) == int(T) - 3720


def test_an_expired_token_parks_and_throttling_waits(threads):
    threads.fail("me", 400, meta_error("token_expired"))
    with pytest.raises(SourceAuthError, match="THREADS_ACCESS_TOKEN"):
        source(threads).fetch(SourceState(), now=NOW)
    threads.fail("mentions", 400, meta_error("app_limit"))
    with pytest.raises(RateLimited):
        source(threads).fetch(SourceState(), now=NOW)


def target(post_id: str) -> Target:
    return Target("threads", post_id, extra={"kind": "mention"})


def test_reply_in_two_steps_and_find_it_again(threads):
    post = threads.post("18000000000000301", "lee.p", "@acmebank help", T - 600,
                        mentions_us=True)
    pub = ThreadsPublisher(build_threads(threads.settings()))
    assert pub.find_reply(target(post), since=NOW).found is None
    sent = pub.reply(target(post), "Sorry Lee! DM us 🙏", "k")
    [ours] = threads.replies_by_us(post)
    assert sent.network_id == ours["id"] and ours["text"] == "Sorry Lee! DM us 🙏"
    assert [c.kind for c in threads.calls if c.kind in ("create", "publish")] == [
        "create", "publish"]
    assert pub.find_reply(target(post), since=NOW).found == sent


def test_a_crash_between_create_and_publish_leaves_nothing_and_sending_again_works(threads):
    post = threads.post("18000000000000302", "lee.p", "@acmebank help", T - 600,
                        mentions_us=True)
    pub = ThreadsPublisher(build_threads(threads.settings()))
    threads.fail("publish", 500, meta_error("transient"))
    with pytest.raises(PublishError) as err:
        pub.reply(target(post), "On it", "k")
    assert err.value.kind == "maybe_sent"
    lookup = pub.find_reply(target(post), since=NOW)
    assert (lookup.found, lookup.complete) == (None, True)  # nothing was published
    pub.reply(target(post), "On it", "k")
    assert len(threads.replies_by_us(post)) == 1


def test_a_failed_container_is_surely_not_sent(threads):
    post = threads.post("18000000000000303", "lee.p", "@acmebank help", T - 600,
                        mentions_us=True)
    pub = ThreadsPublisher(build_threads(threads.settings()))
    with pytest.raises(PublishError) as err:
        pub.reply(target(post), "x" * 501, "k")
    assert err.value.kind == "rejected" and threads.replies_by_us(post) == []
    threads.fail("create", 500, meta_error("transient"))
    with pytest.raises(PublishError) as err:
        pub.reply(target(post), "ok", "k")
    assert err.value.surely_not_sent


def burst_past_the_cap(threads: FakeThreads, engine: Engine, spec: SourceSpec
                       ) -> tuple[sessionmaker[Session], Clock, ThreadsSource, int]:
    """A source capped at 2 pages of 10 with its cursor stored (a post at t0), then 45 posts
    at once: what the burst tests share (the factory, clock, source and t0)."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = ThreadsSource(spec, BRAND, build_threads(threads.settings(), clock=lambda: clock.now),
                        page_limit=10, max_pages=2)
    t0 = T - 3600
    threads.post("9000", "ana", "@acmebank acme bank morning", t0, mentions_us=True)
    assert drain(factory, src, clock).new == [1]  # the cursor
    for i in range(1, 46):
        threads.post(str(9000 + i), "ben", f"@acmebank acme bank storm {i}", t0 + 600 + i,
                     mentions_us=True)
    return factory, clock, src, t0


@pytest.mark.parametrize("spec", [MENTIONS, SEARCH], ids=["mentions", "search"])
def test_a_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(threads, engine,
                                                                             spec):
    """45 posts at once with a cap of 2 pages of 10: the newest 20, then a gap (Graph's
    `after` cursor) read with the pages 4 newer posts leave over, until it is closed."""
    factory, clock, src, t0 = burst_past_the_cap(threads, engine, spec)
    first = poll_source(factory, src, rules_with(spec), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    for i in range(46, 50):
        threads.post(str(9000 + i), "cara", f"@acmebank acme bank later {i}", t0 + 1200 + i,
                     mentions_us=True)
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and "posts older than 2026-12-05T19:" in rest.lines[0], rest.lines
    ids = stored(factory, spec.id)
    assert set(ids) == {str(9000 + i) for i in range(50)} and max(ids.values()) == 1
    assert sum(rest.new) == 49 - 20


@pytest.mark.parametrize("spec", [MENTIONS, SEARCH], ids=["mentions", "search"])
def test_a_gaps_expired_cursor_is_read_again_from_the_newest_page_and_nothing_is_lost(
        threads, engine, spec):
    """A burst past the cap leaves a gap; its `after` cursor expires before the next poll:
    Threads answers (#2642), the gap is read again from the newest page, every post stored
    once."""
    factory, clock, src, _ = burst_past_the_cap(threads, engine, spec)
    assert poll_source(factory, src, rules_with(spec), clock=clock).gap_open
    kind = "mentions" if spec is MENTIONS else "search"
    threads.expire_cursors()
    asked = len(threads.of_kind(kind))
    clock.advance(60)
    drain(factory, src, clock)
    assert ("20", 400) in [(c.params.get("after"), c.status)
                           for c in threads.of_kind(kind)[asked:]]
    ids = stored(factory, spec.id)
    assert set(ids) == {str(9000 + i) for i in range(46)} and max(ids.values()) == 1
