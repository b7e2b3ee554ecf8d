"""The Reddit source and publisher through real PRAW against the fake Reddit over HTTP
(tests/support/fake_reddit.py, built on PRAW's recorded bodies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit.db import make_session_factory
from bot.listening.polling import poll_source
from bot.networks.base import (
    PublishError,
    RateLimited,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
    Target,
)
from bot.networks.reddit.client import RateWindow, build_reddit, user_agent
from bot.networks.reddit.publisher import RedditPublisher
from bot.networks.reddit.source import RedditMentionsSource, RedditSearchSource
from tests.support.clock import Clock
from tests.support.fake_reddit import BRAND, FakeReddit
from tests.support.gap_storm import drain, open_gap, rules_with, stored

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600
BRAND_RULES = Brand(name="Northwind Air", reddit_username=BRAND)
MENTIONS = SourceSpec(id="reddit-mentions", type="reddit_mentions")
SEARCH = SourceSpec(id="reddit-search", type="reddit_search", query="northwind",
                    subreddits=["travel", "r/flights"])


@pytest.fixture
def fake():
    fake = FakeReddit().start()
    yield fake
    fake.stop()


def mentions_source(fake: FakeReddit, **kw) -> RedditMentionsSource:
    window = RateWindow()
    return RedditMentionsSource(MENTIONS, BRAND_RULES,
                                build_reddit(fake.settings(), account=BRAND, window=window),
                                window, **kw)


def publisher(fake: FakeReddit) -> RedditPublisher:
    window = RateWindow()
    return RedditPublisher(build_reddit(fake.settings(), account=BRAND, window=window),
                           account=BRAND, window=window)


def test_mentions_are_read_newest_first_down_to_the_cursor_with_the_comment_tree(fake):
    fake.mention("c1", "ana", "u/NorthwindAir my bag never arrived", T0, post="p1")
    fake.mention("c2", "ben", "u/NorthwindAir رحلتي تأخرت 🙁 again", T0 + 60, post="p2",
                 parent="t1_x9")
    source = mentions_source(fake)
    first = source.fetch(SourceState(), now=NOW)
    assert [m.external_id for m in first.mentions] == ["t1_c1", "t1_c2"]  # oldest first
    ana, ben = first.mentions
    assert (ana.network, ana.author.handle, ana.conversation_id, ana.in_reply_to_id) == (
        "reddit", "ana", "t3_p1", "t3_p1")
    assert (ben.conversation_id, ben.in_reply_to_id, ben.text) == (
        "t3_p2", "t1_x9", "u/NorthwindAir رحلتي تأخرت 🙁 again")  # RTL and emoji intact
    assert ben.url == "https://www.reddit.com/r/travel/comments/p2/a_thread/c2/"
    assert ben.mentions_brand and ben.extra["subreddit"] == "travel"
    assert first.state.cursor == repr(T0 + 60)
    ua = fake.calls("GET", "/message/inbox")[0].headers["User-Agent"]
    assert ua.startswith(user_agent(BRAND)) and "(by /u/NorthwindAir)" in ua

    fake.mention("c3", "cara", "u/NorthwindAir thanks!", T0 + 120)
    second = source.fetch(first.state, now=NOW)
    # the item at the cursor comes again (inclusive bound); ingest's dedupe drops it
    assert [m.external_id for m in second.mentions] == ["t1_c2", "t1_c3"]


def test_replies_to_the_brand_come_from_the_inbox_without_a_mention(fake):
    """A customer answering our reply need not write u/<brand>: the inbox holds it, and it
    names our comment as its parent (the card's follow-up). Private messages are skipped
    with a note; the inbox's unread marks are left alone."""
    fake.mention("c1", "ana", "u/NorthwindAir my bag never arrived", T0, post="p1")
    fake.comment("t1_c1", "So sorry, DM us your file reference")  # our reply: t1_br0001
    fake.reply("c2", "ana", "sent it, still nothing", T0 + 60, parent="t1_br0001")
    fake.message("m1", "ben", "refund", "hello, about my refund", T0 + 90)
    got = mentions_source(fake).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == ["t1_c1", "t1_c2"]
    reply = got.mentions[1]
    assert (reply.in_reply_to_id, reply.conversation_id, reply.author.handle) == (
        "t1_br0001", "t3_p1", "ana")
    assert got.notes == ["1 private message(s) skipped: answer them in Reddit's inbox"]
    assert fake.calls("GET", "/message/inbox")[0].params["mark"] == "false"


def test_deleted_mentions_and_the_brands_own_comments_are_skipped_with_a_note(fake):
    fake.mention("c1", "[deleted]", "[deleted]", T0)
    fake.mention("c2", "dan", "[removed]", T0 + 1)
    fake.mention("c3", BRAND, "u/NorthwindAir replying to myself", T0 + 2)
    fake.mention("c4", "eve", "u/NorthwindAir hello", T0 + 3)
    got = mentions_source(fake).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == ["t1_c4"]
    assert got.notes == ["2 deleted or removed item(s) skipped",
                         "1 of the brand's own item(s) skipped"]
    assert got.state.cursor == repr(T0 + 3)  # the cursor moves past skipped items too


def test_a_10000_character_post_is_read_whole(fake):
    text = "Northwind lost my bag. " + "x" * 9977
    assert len(text) == 10_000
    fake.post("p1", "ana", "Northwind Air baggage", text, T0, subreddit="travel")
    fake.post("p2", "ben", "Northwind Air elsewhere", "off-topic sub", T0, subreddit="pics")
    got = RedditSearchSource(SEARCH, BRAND_RULES, build_reddit(fake.settings())).fetch(
        SourceState(), now=NOW)
    [post] = got.mentions
    assert post.external_id == "t3_p1" and post.text == f"Northwind Air baggage\n\n{text}"
    assert (post.conversation_id, post.in_reply_to_id, post.extra["kind"]) == (
        "t3_p1", None, "post")
    search = fake.calls("GET", "/r/travel+flights/search")[0].params
    assert (search["q"], search["sort"], search["restrict_sr"]) == ("northwind", "new", "True")


def test_paging_stops_at_the_cursor_and_caps_the_pages(fake):
    for i in range(250):
        fake.mention(f"c{i}", "ana", f"u/NorthwindAir {i}", T0 + i)
    got = mentions_source(fake).fetch(SourceState(cursor=repr(T0 + 200)), now=NOW)
    assert [m.external_id for m in got.mentions] == [f"t1_c{i}" for i in range(200, 250)]
    assert got.notes == [] and len(fake.calls("GET", "/message/inbox")) == 1
    capped = mentions_source(fake, max_pages=2).fetch(SourceState(cursor=repr(T0)), now=NOW)
    assert [m.external_id for m in capped.mentions] == [f"t1_c{i}" for i in range(50, 250)]
    assert capped.notes[0].startswith("page cap reached (2 pages of 100)")
    assert len(fake.calls("GET", "/message/inbox")) == 3  # 100 a page, newest first


def test_rate_limit_headers_stop_the_next_poll_before_prawcore_would_sleep(fake):
    fake.mention("c1", "ana", "u/NorthwindAir hi", T0)
    source = mentions_source(fake)
    fake.remaining = 1.0  # the answer will say 0 left, reset in 300 s
    source.fetch(SourceState(), now=datetime.now(UTC))
    asked = len(fake.requests)
    with pytest.raises(RateLimited) as caught:
        source.fetch(SourceState(cursor=repr(T0)), now=datetime.now(UTC))
    assert len(fake.requests) == asked  # no request made
    assert caught.value.reset_at > datetime.now(UTC) + timedelta(seconds=250)


def test_429_is_rate_limited_until_the_reset_and_5xx_is_one_request_then_backoff(fake):
    source = mentions_source(fake)
    fake.fail("/message/inbox", 429, headers={"retry-after": "120"})
    with pytest.raises(RateLimited) as caught:
        source.fetch(SourceState(), now=NOW)
    assert caught.value.reset_at == NOW + timedelta(seconds=120)
    fake.fail("/message/inbox", 503)
    with pytest.raises(SourceUnavailable):
        source.fetch(SourceState(), now=NOW)
    assert len(fake.calls("GET", "/message/inbox")) == 2  # prawcore did not retry


def test_a_refused_token_or_403_parks_the_source_with_the_reason(fake):
    fake.refuse_token = True
    with pytest.raises(SourceAuthError, match=r"invalid_grant.*REDDIT_REFRESH_TOKEN"):
        mentions_source(fake).fetch(SourceState(), now=NOW)
    fake.refuse_token = False
    fake.fail("/message/inbox", 403)
    with pytest.raises(SourceAuthError, match=r"refused \(403\)"):
        mentions_source(fake).fetch(SourceState(), now=NOW)


# --- publishing ---------------------------------------------------------------------------

def target(thing: dict) -> Target:
    extra = {"link_id": "t3_p1"} if thing["name"].startswith("t1_") else {}
    return Target(network="reddit", external_id=thing["name"], extra=extra)


def test_reply_to_a_comment_and_to_a_post_then_find_it_under_the_parent(fake):
    comment = fake.mention("c1", "ana", "u/NorthwindAir help", T0, post="p1")
    post = fake.post("p1", "ben", "Northwind", "lost bag", T0)
    pub = publisher(fake)
    since = datetime.fromtimestamp(fake.clock, UTC)
    sent = pub.reply(target(comment), "Sorry Ana — DM us 🙏", "reply:1")
    assert sent.network_id == "t1_br0001"
    assert sent.url == "https://www.reddit.com/r/travel/comments/p1/a_thread/br0001/"
    [posted] = fake.calls("POST", "/api/comment")
    assert (posted.form["thing_id"], posted.form["text"]) == ("t1_c1", "Sorry Ana — DM us 🙏")
    on_post = pub.reply(target(post), "Sorry Ben", "reply:2")
    assert fake.replies_to("t3_p1")[0]["name"] == on_post.network_id

    found = pub.find_reply(target(comment), since=since)
    assert (found.found.network_id if found.found else None, found.complete) == (
        "t1_br0001", True)
    assert pub.find_reply(target(post), since=since).found.network_id == on_post.network_id
    other = fake.mention("c2", "cara", "u/NorthwindAir ?", T0, post="p1")
    assert pub.find_reply(target(other), since=since) .found is None


def test_reply_errors_say_whether_anything_may_be_posted(fake):
    comment = fake.mention("c1", "ana", "u/NorthwindAir help", T0, post="p1")
    pub = publisher(fake)
    gone = Target(network="reddit", external_id="t1_gone1", extra={"link_id": "t3_p1"})
    with pytest.raises(PublishError) as deleted:
        pub.reply(gone, "hello", "k")
    assert deleted.value.kind == "rejected" and "DELETED_COMMENT" in deleted.value.detail
    with pytest.raises(PublishError) as long:
        pub.reply(target(comment), "x" * 10_001, "k")
    assert long.value.kind == "rejected" and "TOO_LONG" in long.value.detail
    fake.fail("/api/comment", 200, payload={"json": {"errors": [
        ["RATELIMIT", "you are doing that too much. try again in 9 minutes.", "ratelimit"]]}})
    with pytest.raises(PublishError) as slow:
        pub.reply(target(comment), "hello", "k")
    assert slow.value.kind == "unavailable"
    fake.fail("/api/comment", 502, deliver=True)  # posted, answer lost
    with pytest.raises(PublishError) as unsure:
        pub.reply(target(comment), "hello", "k")
    assert unsure.value.kind == "maybe_sent"
    assert len(fake.calls("POST", "/api/comment")) == 4  # never retried by prawcore
    assert len(fake.replies_to("t1_c1")) == 1
    assert pub.find_reply(target(comment), since=NOW - timedelta(days=3650)).found is not None
    with pytest.raises(PublishError) as repost:
        pub.repost(target(comment))
    assert repost.value.kind == "rejected"
    pub.like(target(comment))
    assert fake.calls("POST", "/api/vote")[0].form["dir"] == "1"


def test_a_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(fake, engine):
    """75 mentions at once with a cap of 3 pages of 10: the newest 30, then a gap (`after`
    fullname) read with the pages 6 newer mentions leave over, until it is closed."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    source = mentions_source(fake, page_limit=10, max_pages=3)
    fake.mention("c0", "ana", "u/NorthwindAir morning", T0)
    assert drain(factory, source, clock).new == [1]  # the cursor
    for i in range(1, 76):
        fake.mention(f"c{i}", "ben", f"u/NorthwindAir storm {i}", T0 + 60 + i)
    first = poll_source(factory, source, rules_with(MENTIONS), clock=clock)
    assert (first.new, first.gap_open) == (30, True)
    for i in range(76, 82):  # new mentions while the gap is open: read first
        fake.mention(f"c{i}", "cara", f"u/NorthwindAir later {i}", T0 + 600 + i)
    clock.advance(60)
    rest = drain(factory, source, clock)
    assert rest.lines and "posts older than" in rest.lines[0] and "t1_" not in rest.lines[0]
    ids = stored(factory, MENTIONS.id)
    assert set(ids) == {f"t1_c{i}" for i in range(82)} and max(ids.values()) == 1
    assert sum(rest.new) == 81 - 30 and rest.polls == 3  # 6 new + 24, 20, the last 1 + 5


def test_a_gap_after_a_removed_post_is_read_again_from_the_newest_page(fake, engine):
    """Reddit lists nothing after a post that was removed: the gap paged after it is read
    again from the newest page, once; nothing is lost or stored twice (the empty page used
    to close the gap, and the posts under it were never read)."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    source = mentions_source(fake, page_limit=10, max_pages=3)
    anchor = open_gap(factory, source, clock,
                      lambda: fake.mention("c0", "ana", "u/NorthwindAir morning", T0),
                      lambda: [fake.mention(f"c{i}", "ben", f"u/NorthwindAir storm {i}",
                                            T0 + 60 + i) for i in range(1, 76)])
    fake.mentions.remove(anchor)  # removed by the subreddit's moderators (already stored)
    fake.mention("c76", "cara", "u/NorthwindAir later", T0 + 600)
    clock.advance(60)
    drain(factory, source, clock)
    ids = stored(factory, MENTIONS.id)
    assert set(ids) == {f"t1_c{i}" for i in range(77)} and max(ids.values()) == 1
    assert len([r for r in fake.requests if r.params.get("after") == anchor]) == 1
