"""The YouTube source and publisher through real google-api-python-client (its shipped
discovery document) against the fake YouTube over HTTP (tests/support/fake_youtube.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.base import (
    PublishError,
    RateLimited,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
    Target,
    Watched,
)
from bot.networks.youtube.client import build_youtube, quota_reset
from bot.networks.youtube.publisher import YouTubePublisher
from bot.networks.youtube.source import YouTubeCommentsSource
from tests.support.clock import Clock
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.gap_storm import drain, open_gap, rules_with, stored

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600
SPEC = SourceSpec(id="youtube", type="youtube_comments", channel_id=CHANNEL)
BRAND = Brand(name="Northwind Air")


@pytest.fixture
def fake():
    fake = FakeYouTube().start()
    fake.clock = NOW.timestamp()
    yield fake
    fake.stop()


def source(fake: FakeYouTube, **kw) -> YouTubeCommentsSource:
    return YouTubeCommentsSource(SPEC, BRAND, build_youtube(fake.settings()), **kw)


def test_top_level_comments_and_replies_newest_first_with_their_thread(fake):
    fake.thread("Ugw1", "ana", "Northwind lost my bag 😡", T0)
    fake.reply_in("Ugw1", "r1", "ben", "same here — حقيبتي ضاعت", T0 + 60)
    fake.reply_in("Ugw1", "r2", "x", "thanks", T0 + 70, channel=CHANNEL)  # the brand's own
    fake.thread("Ugw2", "cara", "Great crew on NW12", T0 + 120, video="vNorthwnd02")
    got = source(fake).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == ["Ugw1", "Ugw1.r1", "Ugw2"]
    ana, ben, cara = got.mentions
    assert (ana.network, ana.author.handle, ana.conversation_id, ana.in_reply_to_id) == (
        "youtube", "ana", "Ugw1", None)
    assert (ben.conversation_id, ben.in_reply_to_id, ben.text) == (
        "Ugw1", "Ugw1", "same here — حقيبتي ضاعت")
    assert ben.url == "https://www.youtube.com/watch?v=vNorthwnd01&lc=Ugw1.r1"
    assert cara.extra == {"thread_id": "Ugw2", "video_id": "vNorthwnd02", "likes": "0"}
    assert got.notes == ["1 of the channel's own comment(s) skipped"]
    assert got.reads == 1  # one commentThreads.list: 1 unit
    [call] = fake.calls("GET", "/youtube/v3/commentThreads")
    assert (call.params["allThreadsRelatedToChannelId"], call.params["order"],
            call.params["part"]) == (CHANNEL, "time", "snippet,replies")
    assert call.headers["authorization"] == "Bearer ya29.fake-access-token"

    fake.reply_in("Ugw2", "r1", "dan", "agreed", T0 + 180)
    again = source(fake).fetch(got.state, now=NOW)
    # the comment at the cursor comes again (inclusive); ingest's dedupe drops it
    assert [m.external_id for m in again.mentions] == ["Ugw2", "Ugw2.r1"]


def test_a_comment_with_no_text_is_skipped_with_a_note_and_the_cursor_moves_past_it(fake):
    fake.thread("Ugw1", "ana", "Northwind lost my bag", T0)
    fake.thread("Ugw2", "ben", "", T0 + 60)  # removed while we read, or only an emoji lost
    fake.reply_in("Ugw1", "r1", "cara", "   ", T0 + 90)  # blank
    got = source(fake).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == ["Ugw1"]
    assert got.notes == ["2 comment(s) without text (removed?) skipped"]
    assert got.state.cursor == datetime.fromtimestamp(T0 + 90, UTC).isoformat()
    again = source(fake).fetch(got.state, now=NOW)
    assert again.mentions == []  # never a card for them later either


def test_busy_threads_have_their_other_replies_read(fake):
    fake.thread("Ugw1", "ana", "lost bag", T0)
    for i in range(7):
        fake.reply_in("Ugw1", f"r{i}", f"u{i}", f"me too {i}", T0 + i + 1)
    got = source(fake).fetch(SourceState(), now=NOW)
    assert len(got.mentions) == 8 and got.reads == 2  # the thread page + comments.list


def test_a_late_reply_in_a_watched_thread_is_read_by_id_without_moving_the_cursor(fake):
    """YouTube lists threads by their first comment: a reply today in a thread begun long
    ago is on no page a poll reads. The desk's conversations are read by id instead."""
    fake.thread("Ugw0old", "ana", "lost bag", T0)
    fake.reply_in("Ugw0old", "r0", "bob", "before the card", T0 + 5)
    for i in range(4):
        fake.thread(f"Ugw{i}new", "ben", f"other {i}", T0 + 100 + i)
    fake.reply_in("Ugw0old", "r1", "ana", "still nothing, a week on", T0 + 2000)
    cursor = datetime.fromtimestamp(T0 + 1000, UTC)
    watch = (Watched("Ugw0old", datetime.fromtimestamp(T0 + 10, UTC)),
             Watched("Ugw9gone", datetime.fromtimestamp(T0, UTC)))  # removed: not returned
    got = source(fake, page_limit=1).fetch(SourceState(cursor=cursor.isoformat(),
                                                       watch=watch), now=NOW)
    assert [m.external_id for m in got.mentions] == ["Ugw0old.r1"]
    late = got.mentions[0]
    assert (late.conversation_id, late.in_reply_to_id) == ("Ugw0old", "Ugw0old")
    assert got.state.cursor == cursor.isoformat()  # not the listing's: the cursor stays
    [by_id] = [r for r in fake.calls("GET", "/youtube/v3/commentThreads") if "id" in r.params]
    assert by_id.params["id"] == "Ugw0old,Ugw9gone" and got.reads == 2  # listing + by id


def test_a_customer_answering_in_an_old_thread_joins_the_cards_thread(fake, engine):
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(fake, page_limit=1, max_pages=1)
    fake.thread("Ugw0old", "ana", "my bag never arrived", T0)
    poll_source(factory, src, rules_with(SPEC), clock=clock)  # the card
    for i in range(3):
        fake.thread(f"Ugw{i}new", "ben", f"other {i}", T0 + 100 + i)
        clock.advance(300)
        poll_source(factory, src, rules_with(SPEC), clock=clock)
    fake.reply_in("Ugw0old", "r1", "ana", "still nothing, a week on", T0 + 2000)
    clock.advance(300)
    outcome = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (outcome.new, outcome.threaded) == (0, 1)  # in the card's thread, not a new card
    with session_scope(factory) as s:
        post = s.scalars(select(models.ThreadPost)).one()
        assert (post.external_id, post.role) == ("Ugw0old.r1", "follow_up")


def test_quota_exhausted_mid_poll_waits_for_the_pacific_midnight_and_counts_the_units(fake):
    for i in range(150):
        fake.thread(f"Ugw{i:03d}", "ana", f"comment {i}", T0 + i)
    fake.quota = 1  # the second page is refused
    with pytest.raises(RateLimited) as caught:
        source(fake).fetch(SourceState(cursor=datetime.fromtimestamp(T0, UTC).isoformat()),
                           now=NOW)
    assert caught.value.reset_at == quota_reset(NOW) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert caught.value.reads == 2 and "quota used up" in str(caught.value)


def test_an_expired_refresh_token_parks_the_source_and_5xx_backs_off(fake):
    fake.refuse_token = True
    with pytest.raises(SourceAuthError, match="YOUTUBE_REFRESH_TOKEN was refused"):
        source(fake).fetch(SourceState(), now=NOW)
    fake.refuse_token = False
    fake.fail("/youtube/v3/commentThreads", 403, "forbidden")
    with pytest.raises(SourceAuthError, match="403 forbidden"):
        source(fake).fetch(SourceState(), now=NOW)
    fake.fail("/youtube/v3/commentThreads", 503)
    with pytest.raises(SourceUnavailable):
        source(fake).fetch(SourceState(), now=NOW)
    fake.fail("/youtube/v3/commentThreads", 403, "rateLimitExceeded")
    with pytest.raises(RateLimited):
        source(fake).fetch(SourceState(), now=NOW)
    assert len(fake.calls("GET", "/youtube/v3/commentThreads")) == 3  # never retried


# --- publishing ---------------------------------------------------------------------------

def publisher(fake: FakeYouTube) -> YouTubePublisher:
    return YouTubePublisher(build_youtube(fake.settings()))


def target(cid: str, thread: str) -> Target:
    return Target(network="youtube", external_id=cid,
                  extra={"thread_id": thread, "video_id": "vNorthwnd01"})


def test_reply_goes_to_the_thread_and_is_found_there_afterwards(fake):
    fake.thread("Ugw1", "ana", "lost bag", T0)
    fake.reply_in("Ugw1", "r1", "ben", "me too", T0 + 1)
    pub = publisher(fake)
    sent = pub.reply(target("Ugw1.r1", "Ugw1"), "Sorry Ben 🙏 DM us", "reply:1")
    assert sent.network_id == "Ugw1.brand001"
    assert sent.url == "https://www.youtube.com/watch?v=vNorthwnd01&lc=Ugw1.brand001"
    [insert] = fake.calls("POST", "/youtube/v3/comments")
    assert insert.body == {"snippet": {"parentId": "Ugw1", "textOriginal": "Sorry Ben 🙏 DM us"}}
    found = pub.find_reply(target("Ugw1", "Ugw1"), since=NOW)
    assert (found.found.network_id if found.found else None, found.complete) == (
        "Ugw1.brand001", True)
    fake.thread("Ugw2", "cara", "hello", T0)
    assert pub.find_reply(target("Ugw2", "Ugw2"), since=NOW).found is None
    assert fake.units == 50 + 1 + 1 + 1  # insert, channels.list, two lookups


def test_reply_errors_say_whether_anything_may_be_posted(fake):
    fake.thread("Ugw1", "ana", "lost bag", T0)
    pub = publisher(fake)
    kinds = {}
    for name, setup, tgt in [
        ("deleted", lambda: None, target("UgwGone", "UgwGone")),
        ("too long", lambda: None, None),
        ("quota", lambda: fake.fail("/youtube/v3/comments", 403, "quotaExceeded"), None),
        ("lost answer", lambda: fake.fail("/youtube/v3/comments", 500, deliver=True), None),
    ]:
        setup()
        text = "x" * 10_001 if name == "too long" else "Sorry"
        with pytest.raises(PublishError) as caught:
            pub.reply(tgt or target("Ugw1", "Ugw1"), text, "k")
        kinds[name] = caught.value.kind
    assert kinds == {"deleted": "rejected", "too long": "rejected", "quota": "unavailable",
                     "lost answer": "maybe_sent"}
    assert len(fake.ours("Ugw1")) == 1  # the lost answer's reply was made, once
    fake.refuse_token = True
    with pytest.raises(PublishError) as refused:
        publisher(fake).reply(target("Ugw1", "Ugw1"), "Sorry", "k")
    assert refused.value.kind == "auth"
    for action in (pub.like, pub.repost):
        with pytest.raises(PublishError) as nope:
            action(target("Ugw1", "Ugw1"))
        assert nope.value.kind == "rejected"


def test_the_quota_resets_at_midnight_pacific():
    assert quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC)  # summer: UTC-7
    assert quota_reset(datetime(2026, 1, 1, 8, 0, tzinfo=UTC)) == datetime(
        2026, 1, 2, 8, 0, tzinfo=UTC) - timedelta(0)


def test_a_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(fake, engine):
    """45 new threads at once with a cap of 2 pages of 10: the newest 20, then a gap
    (YouTube's `pageToken`) read with the pages 4 newer threads leave over, until it is
    closed; the quota units it cost are the gap's cost."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(fake, page_limit=10, max_pages=2)
    fake.thread("t000", "ana", "first!", T0)
    assert drain(factory, src, clock).new == [1]  # the cursor
    for i in range(1, 46):
        fake.thread(f"t{i:03d}", "ben", f"storm {i}", T0 + 60 + i)
    first = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    for i in range(46, 50):
        fake.thread(f"t{i:03d}", "cara", f"later {i}", T0 + 600 + i)
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and "posts older than 2026-11-23T11:" in rest.lines[0], rest.lines
    assert "quota units spent to close it" in rest.lines[0]
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"t{i:03d}" for i in range(50)} and max(ids.values()) == 1
    assert sum(rest.new) == 49 - 20


def test_a_gap_whose_page_token_expired_is_read_again_from_the_newest_page(fake, engine):
    """YouTube answers 400 "invalid page token" for a token it no longer honours: the gap is
    read again from the newest thread down to its floor, once, and nothing is lost or
    stored twice (the source used to fail every poll on it, new comments included)."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(fake, page_limit=10, max_pages=2)
    token = open_gap(factory, src, clock, lambda: fake.thread("t000", "ana", "first!", T0),
                     lambda: [fake.thread(f"t{i:03d}", "ben", f"storm {i}", T0 + 60 + i)
                              for i in range(1, 46)])
    fake.expire_page_tokens()
    fake.thread("t046", "cara", "later", T0 + 600)
    clock.advance(60)
    drain(factory, src, clock)
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"t{i:03d}" for i in range(47)} and max(ids.values()) == 1
    refused = [r for r in fake.calls("GET", "/youtube/v3/commentThreads")
               if r.params.get("pageToken") == token]
    assert len(refused) == 1  # refused once, then read again from the top, never retried



def test_busy_threads_past_the_cap_are_read_by_the_next_poll_every_page_of_them(fake):
    """Seven threads with more replies than the 5 inline, one with 250: five threads a poll
    get comments.list (every page of 100), the other two are kept for the next poll, which
    reads them first. Nothing is left unread; old busy threads sharing the page keep no gap
    open (their replies are older than the cursor)."""
    expected = set()
    for t in range(7):
        fake.thread(f"Ugw{t}", "ana", f"thread {t}", T0 + t)
        expected.add(f"Ugw{t}")
        for r in range(250 if t == 6 else 7):
            fake.reply_in(f"Ugw{t}", f"r{r}", f"u{r}", f"me too {r}", T0 + 10 + r)
            expected.add(f"Ugw{t}.r{r}")
    src = source(fake)
    first = src.fetch(SourceState(), now=NOW)
    assert first.notes == ["2 busy thread(s): their other replies are read by the next polls"]
    assert first.reads == 1 + 3 + 4  # the page, Ugw6's 3 pages of replies, 4 more threads
    second = src.fetch(first.state, now=NOW)
    assert second.state.backfill is None and second.notes == []
    got = {m.external_id for m in [*first.mentions, *second.mentions]}
    assert got == expected
