"""FacebookPageSource and FacebookPublisher over httpx against the fake Graph API over real
HTTP (tests/support/fake_meta.py); bodies in the shapes of Meta's Graph API reference
(tests/data/meta/). Bad inputs each end in one clear state: a hidden comment, an emoji-only
one, a 2,200-character caption, a comment whose author Meta withholds, a post deleted
mid-poll, a deleted comment answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.publisher import FacebookPublisher
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.graph.client import graph_time
from bot.networks.graph.usage import UsageMeter
from tests.support.clock import Clock
from tests.support.fake_graph import GRAPH_NOW
from tests.support.fake_meta import PAGE_ID, FakeMeta, meta_body, meta_error
from tests.support.gap_storm import drain, rules_with, stored

NOW = GRAPH_NOW
SPEC = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID)
BRAND = Brand(name="Acme Bank")
T = NOW.timestamp()


def source(fake: FakeMeta, **kw) -> FacebookPageSource:
    return FacebookPageSource(SPEC, BRAND, build_graph(fake.settings(), clock=lambda: NOW), **kw)


def publisher(fake: FakeMeta) -> FacebookPublisher:
    return FacebookPublisher(build_graph(fake.settings(), clock=lambda: NOW))


def test_graph_times_and_the_documented_bodies_are_read():
    assert graph_time("2026-12-05T19:55:00+0000") == datetime(2026, 12, 5, 19, 55, tzinfo=UTC)
    assert graph_time("yesterday") is None and graph_time(None) is None
    feed, comments = meta_body("page_feed"), meta_body("post_comments")
    assert feed["paging"]["cursors"]["after"] and len(comments["data"]) == 3


def test_comments_replies_visitor_posts_and_tags_arrive_oldest_first(meta):
    post = meta.post("555000000000002", "Winter timetable ❄️", T - 7200)
    meta.comment(post, "777000000000001", "Any flights to Lisbon?", T - 1800,
                 by=("6209876543210987", "Lee Park"))
    meta.comment(post, "777000000000002", "🙏🙏🙏", T - 1200, by=("6209876543210987", "Lee Park"),
                 parent="555000000000002_777000000000001")
    meta.comment(post, "777000000000009", "Thanks Lee!", T - 1100, by=(PAGE_ID, "Acme Bank"),
                 parent="555000000000002_777000000000001")  # the Page's own: skipped
    meta.post("555000000000003", "My card was swallowed at the Leeds branch", T - 900,
              by=("6201234567890123", "Dana Whitfield"))
    meta.post("888000000000001", "Queueing at @Acme Bank for an hour", T - 600,
              by=("6205555555555555", "Sam Okafor"), tagged=True)
    got = source(meta).fetch(SourceState(), now=NOW)
    kinds = [(m.extra["kind"], m.text) for m in got.mentions]
    assert kinds == [("comment", "Any flights to Lisbon?"), ("reply", "🙏🙏🙏"),
                     ("visitor_post", "My card was swallowed at the Leeds branch"),
                     ("tag", "Queueing at @Acme Bank for an hour")]
    lisbon, emoji, visitor, tag = got.mentions
    assert visitor.author.handle == "Dana Whitfield" and tag.url.startswith("https://www.facebook")
    assert (lisbon.network, lisbon.author.handle, lisbon.author.external_id) == (
        "facebook", "Lee Park", "6209876543210987")
    assert lisbon.extra == {"kind": "comment", "page_id": PAGE_ID, "post_id": post}
    assert emoji.extra["parent_id"] == "555000000000002_777000000000001"
    assert lisbon.url.endswith("?comment_id=555000000000002_777000000000001")
    assert got.state.cursor == str(int(T - 600))
    assert all(m.mentions_brand for m in got.mentions)

    # The next poll reads only what is newer (the overlap's duplicates are the ingest's job).
    meta.comment(post, "777000000000010", "Is the app down?", T + 60)
    again = source(meta).fetch(got.state, now=NOW + timedelta(minutes=5))
    assert "Is the app down?" in [m.text for m in again.mentions]
    assert "Any flights to Lisbon?" not in [m.text for m in again.mentions]


def test_bad_inputs_each_have_a_clear_state(meta):
    caption = ("Fly with us " * 184)[:2198] + "✈️"  # 2,200 characters, the most Meta allows
    post = meta.post("555000000000004", caption, T - 3000)
    meta.comment(post, "1", "BUY FOLLOWERS cheap!!! http://spam.example", T - 500, hidden=True,
                 by=("6200000000000001", "Spam Bot"))
    meta.comment(post, "2", "where is my refund", T - 400, by=None)  # Meta withholds who
    meta.post("555000000000005", caption, T - 200, by=("6207777777777777", "Ana"))
    got = source(meta).fetch(SourceState(), now=NOW)
    spam, anonymous, long_post = got.mentions
    assert spam.extra["hidden"] == "1"
    assert (anonymous.author.handle, anonymous.author.external_id) == ("A Facebook user", None)
    assert long_post.text == caption and len(long_post.text) == 2200


def test_a_post_deleted_mid_poll_is_skipped_with_a_note(meta):
    post = meta.post("555000000000006", "Sale!", T - 3000)
    meta.comment(post, "1", "Is it on the app too?", T - 500)
    meta.fail("comments", 400, meta_error("not_found"))
    got = source(meta).fetch(SourceState(), now=NOW)
    assert got.mentions == []
    assert got.notes == [f"post {post} was deleted before its comments were read"]


def test_paging_follows_the_cursors_until_the_cursor_time(meta):
    post = meta.post("555000000000007", "Big news", T - 9000)
    for n in range(250):
        meta.comment(post, f"{n}", f"comment {n}", T - 8000 + n)
    got = source(meta).fetch(SourceState(), now=NOW)
    assert len(got.mentions) == 250
    assert len(meta.of_kind("comments")) == 3  # 100 + 100 + 50
    assert [c.params.get("after") for c in meta.of_kind("comments")] == [None, "100", "200"]


def test_the_token_expired_parks_the_source_with_the_fix(meta):
    meta.fail("feed", 400, meta_error("token_expired"))
    with pytest.raises(SourceAuthError) as err:
        source(meta).fetch(SourceState(), now=NOW)
    text = str(err.value)
    assert "code 190/463" in text and "META_PAGE_ACCESS_TOKEN" in text and "SIGHUP" in text
    assert "EAAG" not in text  # never the token


@pytest.mark.parametrize("name", ["app_limit", "user_limit", "page_limit", "custom_limit"])
def test_throttling_codes_wait(meta, name):
    meta.fail("feed", 400 if name != "app_limit" else 403, meta_error(name))
    with pytest.raises(RateLimited) as err:
        source(meta).fetch(SourceState(), now=NOW)
    assert err.value.reset_at == NOW + timedelta(minutes=15)


def test_throttled_waits_for_metas_estimate(meta):
    meta.usage = meta_body("usage_headers")["spent"]
    meta.fail("feed", 400, meta_error("page_limit"))
    with pytest.raises(RateLimited) as err:
        source(meta).fetch(SourceState(), now=NOW)
    assert err.value.reset_at == NOW + timedelta(minutes=19)


def test_usage_headers_halve_polling_before_the_limit_and_stop_at_it(meta):
    meta.post("555000000000008", "Hello", T - 100)
    src = source(meta)
    meta.usage = meta_body("usage_headers")["calm"]
    src.fetch(SourceState(), now=NOW)
    assert src.graph.usage.percent == 28 and not src.graph.usage.slow()
    meta.usage = meta_body("usage_headers")["busy"]
    src.fetch(SourceState(), now=NOW)  # this answer says 85 %
    calls = len(meta.calls)
    skipped = src.fetch(SourceState(cursor="5"), now=NOW)
    assert len(meta.calls) == calls and skipped.state.cursor == "5"
    assert "85%" in skipped.notes[0]
    src.fetch(SourceState(), now=NOW)  # every other poll still runs
    assert len(meta.calls) > calls
    meta.usage = meta_body("usage_headers")["spent"]
    src.fetch(SourceState(), now=NOW)  # skipped (still at 85 %)
    src.fetch(SourceState(), now=NOW)  # this answer says 100 %, access back in 19 minutes
    with pytest.raises(RateLimited) as err:
        src.fetch(SourceState(), now=NOW)
    assert err.value.reset_at == NOW + timedelta(minutes=19)


def test_usage_headers_that_cannot_be_read_are_no_reading():
    meter = UsageMeter()
    meter.update({"x-app-usage": "{not json", "x-business-use-case-usage": "[]"}, NOW)
    assert meter.percent == 0 and meter.wait_until(NOW) is None


def test_5xx_and_no_connection_back_off(meta):
    meta.fail("feed", 500, meta_error("transient"))
    with pytest.raises(SourceUnavailable):
        source(meta).fetch(SourceState(), now=NOW)
    dead = FacebookPageSource(SPEC, BRAND, build_graph(meta.settings(
        META_GRAPH_API_URL="http://127.0.0.1:9")))
    with pytest.raises(SourceUnavailable, match="could not connect"):
        dead.fetch(SourceState(), now=NOW)


def test_app_secret_proof_is_sent(meta):
    meta.app_secret = "s3cret"
    meta.post("555000000000009", "Hi", T - 100, by=("6207777777777777", "Ana"))
    assert len(source(meta).fetch(SourceState(), now=NOW).mentions) == 1
    with pytest.raises(SourceUnavailable, match="appsecret_proof"):
        FacebookPageSource(SPEC, BRAND, build_graph(meta.settings(
            META_APP_SECRET="wrong"))).fetch(SourceState(), now=NOW)


# --- publishing -------------------------------------------------------------------------------

def target(meta: FakeMeta, external_id: str, kind: str = "comment", **extra: str) -> Target:
    return Target("facebook", external_id, extra={"kind": kind, "page_id": PAGE_ID, **extra})


def test_reply_as_the_page_and_find_it_again(meta):
    post = meta.post("555000000000010", "News", T - 3000)
    cid = meta.comment(post, "1", "late again", T - 500)
    pub = publisher(meta)
    assert pub.find_reply(target(meta, cid), since=NOW).found is None
    sent = pub.reply(target(meta, cid), "Sorry Dana! DM us 🙏", "key")
    [ours] = meta.replies_by_page(cid)
    assert (sent.network_id, ours["message"]) == (ours["id"], "Sorry Dana! DM us 🙏")
    found = pub.find_reply(target(meta, cid), since=NOW)
    assert found.found == sent and found.complete


def test_a_reply_to_a_reply_goes_under_its_comment(meta):
    post = meta.post("555000000000011", "News", T - 3000)
    top = meta.comment(post, "1", "question", T - 500)
    reply = meta.comment(post, "2", "same here", T - 400, parent=top)
    pub = publisher(meta)
    sent = pub.reply(target(meta, reply, "reply", parent_id=top), "We're on it", "k")
    assert [c["id"] for c in meta.replies_by_page(top)] == [sent.network_id]
    assert pub.find_reply(target(meta, reply, "reply", parent_id=top), since=NOW).found == sent


def test_answering_a_deleted_comment_is_rejected_and_not_sent(meta):
    pub = publisher(meta)
    with pytest.raises(PublishError) as err:
        pub.reply(target(meta, "555_404"), "hello", "k")
    assert err.value.kind == "rejected" and "gone" in err.value.detail
    lookup = pub.find_reply(target(meta, "555_404"), since=NOW)
    assert (lookup.found, lookup.complete) == (None, True)


@pytest.mark.parametrize(("status", "name", "kind"), [
    (400, "blocked", "rejected"), (400, "too_long", "rejected"), (400, "permission", "auth"),
    (400, "token_expired", "auth"), (403, "app_limit", "unavailable"),
    (500, "transient", "maybe_sent")])
def test_reply_errors(meta, status, name, kind):
    post = meta.post("555000000000012", "News", T - 3000)
    cid = meta.comment(post, "1", "hello?", T - 500)
    meta.fail("reply", status, meta_error(name))
    with pytest.raises(PublishError) as err:
        publisher(meta).reply(target(meta, cid), "hi", "k")
    assert err.value.kind == kind


def test_like_and_hide_as_the_page(meta):
    post = meta.post("555000000000013", "News", T - 3000)
    cid = meta.comment(post, "1", "spam spam", T - 500)
    pub = publisher(meta)
    pub.like(target(meta, cid))
    pub.hide(target(meta, cid), True)
    assert meta.find(cid)["is_hidden"] is True and meta.find(cid)["_liked"]
    pub.hide(target(meta, cid), False)
    assert meta.find(cid)["is_hidden"] is False
    with pytest.raises(PublishError, match="only comments"):
        pub.hide(target(meta, post, "visitor_post"), True)
    with pytest.raises(PublishError) as err:
        pub.repost(target(meta, cid))
    assert err.value.kind == "rejected"


def test_webhook_hints_are_read_by_id_a_deleted_one_is_a_note_and_a_failed_poll_keeps_them(meta):
    from bot.networks.graph.webhook import Hint

    old = meta.post("555000000000020", "Last year's post", T - 400 * 86400)
    cid = meta.comment(old, "1", "real words from Meta", T - 60)
    src = source(meta)
    src.hint(Hint("page", PAGE_ID, "comment", cid, old))
    src.hint(Hint("page", PAGE_ID, "comment", "555000000000020_404", old))
    meta.fail("feed", 500, meta_error("transient"))
    with pytest.raises(SourceUnavailable):
        src.fetch(SourceState(cursor=str(int(T))), now=NOW)
    meta.posts.clear()  # far down the feed: only the hint brings it
    got = src.fetch(SourceState(cursor=str(int(T))), now=NOW)
    assert [m.text for m in got.mentions] == ["real words from Meta"]
    assert got.notes and "555000000000020_404" in got.notes[0] and "deleted" in got.notes[0]
    assert not src.accepts(Hint("page", "999", "comment", cid))


def comment_burst(meta: FakeMeta, engine: Engine
                  ) -> tuple[sessionmaker[Session], Clock, FacebookPageSource, str]:
    """A source capped at 2 pages of 10 comments with its cursor stored (a comment on `post`),
    then 45 comments on the post within a minute: the comment-gap tests' start."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(meta, comment_page=10, max_comment_pages=2)
    post = meta.post("555000000000009", "Outage update", T - 7200)
    meta.comment(post, "c00", "first", T - 3600)
    assert drain(factory, src, clock).new == [1]  # the cursor
    for i in range(1, 46):
        meta.comment(post, f"c{i:02d}", f"down for me too {i}", T - 3000 + i)
    return factory, clock, src, post


def test_a_comment_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(
        meta, engine):
    """45 comments on one post within a minute, a cap of 2 pages of 10: the newest 20, then a
    gap scoped to the post (Graph's `after` cursor) read by the next polls, with 4 newer
    comments read first, until it is closed; the 2-minute overlap opens no second gap."""
    factory, clock, src, post = comment_burst(meta, engine)
    first = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    for i in range(46, 50):
        meta.comment(post, f"c{i:02d}", f"still down {i}", T - 2400 + i)
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and f"under {post}" in rest.lines[0], rest.lines
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"555000000000009_c{i:02d}" for i in range(50)}
    assert max(ids.values()) == 1 and sum(rest.new) == 49 - 20


def test_a_comment_gaps_expired_cursor_is_read_again_from_the_newest_page(meta, engine):
    """The gap's `after` cursor expires between polls: Graph answers it with (#2642), the gap
    is read again from the newest page (not a failed poll), and every comment is stored once."""
    factory, clock, src, _ = comment_burst(meta, engine)
    assert poll_source(factory, src, rules_with(SPEC), clock=clock).gap_open
    meta.expire_cursors()
    asked = len(meta.of_kind("comments"))
    clock.advance(60)
    drain(factory, src, clock)
    assert [c.status for c in meta.of_kind("comments")[asked:]
            if c.params.get("after") and "." not in c.params["after"]] == [400]
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"555000000000009_c{i:02d}" for i in range(46)}
    assert max(ids.values()) == 1
