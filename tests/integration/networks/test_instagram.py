"""InstagramSource and InstagramPublisher over httpx against the fake Graph API over real HTTP
(tests/support/fake_meta.py). Bad inputs: a hidden comment, an emoji-only one, a 2,200-character
caption on a post tagging the account, media deleted mid-poll, a tag (someone else's post:
not answerable), a deleted comment answered."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit.db import make_session_factory
from bot.listening.polling import poll_source
from bot.networks.base import PublishError, SourceAuthError, SourceState, Target
from bot.networks.facebook.client import build_graph
from bot.networks.instagram.client import NOT_A_COMMENT
from bot.networks.instagram.publisher import InstagramPublisher
from bot.networks.instagram.source import InstagramSource
from tests.support.clock import Clock
from tests.support.fake_graph import GRAPH_NOW
from tests.support.fake_meta import IG_USER_ID, FakeMeta, meta_error
from tests.support.gap_storm import drain, rules_with, stored

NOW = GRAPH_NOW
T = NOW.timestamp()
SPEC = SourceSpec(id="ig", type="instagram", ig_user_id=IG_USER_ID)
BRAND = Brand(name="Acme Bank")


def source(fake: FakeMeta) -> InstagramSource:
    return InstagramSource(SPEC, BRAND, build_graph(fake.settings(), clock=lambda: NOW))


def publisher(fake: FakeMeta) -> InstagramPublisher:
    return InstagramPublisher(build_graph(fake.settings(), clock=lambda: NOW))


def test_comments_replies_and_tags_arrive_oldest_first(meta):
    media = meta.ig_post("17900000000000001", "New card design ✨", T - 7200)
    top = meta.ig_comment(media, "17850000000000001", "When does it ship?", T - 1800)
    meta.ig_comment(media, "17850000000000002", "🔥🔥🔥", T - 1200, by=("1784", "lee.p"),
                    parent=top)
    meta.ig_comment(media, "17850000000000003", "Soon!", T - 1100,
                    by=(IG_USER_ID, "acmebank"), parent=top)  # our own: skipped
    caption = ("Queue at @acmebank again " * 100)[:2200]
    meta.ig_post("17900000000000009", caption, T - 600, by="sam.okafor")
    got = source(meta).fetch(SourceState(), now=NOW)
    assert [(m.extra["kind"], m.text[:20]) for m in got.mentions] == [
        ("comment", "When does it ship?"), ("reply", "🔥🔥🔥"), ("tag", caption[:20])]
    comment, emoji, tag = got.mentions
    assert (comment.network, comment.author.handle, comment.url) == (
        "instagram", "dana.w", "https://www.instagram.com/p/000001/")
    assert emoji.extra["parent_id"] == top
    assert len(tag.text) == 2200 and tag.extra["no_reply"] == NOT_A_COMMENT
    assert got.state.cursor == str(int(T - 600))

    # Nothing new: the media's comment count did not move, so its comments are not read again.
    calls = len(meta.of_kind("ig_comments"))
    src = source(meta)
    src.fetch(got.state, now=NOW)
    again = src.fetch(got.state, now=NOW)
    # only the tag, read again within the overlap (the ingest drops it as a duplicate)
    assert [m.extra["kind"] for m in again.mentions] == ["tag"]
    assert len(meta.of_kind("ig_comments")) == calls + 1


def test_a_hidden_comment_and_media_deleted_mid_poll(meta):
    media = meta.ig_post("17900000000000002", "Promo", T - 7200)
    meta.ig_comment(media, "17850000000000011", "follow me for free money", T - 300,
                    hidden=True)
    got = source(meta).fetch(SourceState(), now=NOW)
    assert got.mentions[0].extra["hidden"] == "1"
    meta.ig_comment(media, "17850000000000012", "hello?", T - 200)
    meta.fail("ig_comments", 400, meta_error("not_found"))
    src = source(meta)
    src.counts = {media: 1}
    gone = src.fetch(SourceState(), now=NOW)
    assert gone.notes == [f"media {media} was deleted before its comments were read"]


def test_the_token_expired_parks_the_source(meta):
    meta.fail("ig_media", 400, meta_error("token_expired"))
    with pytest.raises(SourceAuthError, match="META_PAGE_ACCESS_TOKEN"):
        source(meta).fetch(SourceState(), now=NOW)


def target(external_id: str, kind: str = "comment", **extra: str) -> Target:
    return Target("instagram", external_id, url="https://www.instagram.com/p/000001/",
                  extra={"kind": kind, "ig_user_id": IG_USER_ID, **extra})


def test_reply_to_a_comment_and_find_it_again(meta):
    media = meta.ig_post("17900000000000003", "Hi", T - 7200)
    cid = meta.ig_comment(media, "17850000000000021", "my card is blocked", T - 300)
    pub = publisher(meta)
    assert pub.find_reply(target(cid), since=NOW).found is None
    sent = pub.reply(target(cid), "Sorry Dana! Please DM us 🙏", "k")
    [ours] = meta.ig_replies_by_account(cid)
    assert sent.network_id == ours["id"] and ours["text"] == "Sorry Dana! Please DM us 🙏"
    assert pub.find_reply(target(cid), since=NOW).found == sent


def test_a_reply_to_a_reply_goes_under_its_comment(meta):
    media = meta.ig_post("17900000000000004", "Hi", T - 7200)
    top = meta.ig_comment(media, "17850000000000031", "question", T - 300)
    reply = meta.ig_comment(media, "17850000000000032", "same", T - 200, parent=top)
    sent = publisher(meta).reply(target(reply, "reply", parent_id=top), "On it", "k")
    assert [r["id"] for r in meta.ig_replies_by_account(top)] == [sent.network_id]


def test_someone_elses_post_cannot_be_answered_and_nothing_is_called(meta):
    calls = len(meta.calls)
    with pytest.raises(PublishError) as err:
        publisher(meta).reply(target("17900000000000009", "tag"), "hi", "k")
    assert (err.value.kind, err.value.detail) == ("rejected", NOT_A_COMMENT)
    assert len(meta.calls) == calls


def test_a_deleted_comment_is_rejected_and_not_sent(meta):
    meta.ig_post("17900000000000005", "Hi", T - 7200)
    pub = publisher(meta)
    with pytest.raises(PublishError) as err:
        pub.reply(target("17850000000000999"), "hi", "k")
    assert err.value.kind == "rejected"
    lookup = pub.find_reply(target("17850000000000999"), since=NOW)
    assert (lookup.found, lookup.complete) == (None, True)


def test_hide_and_unhide(meta):
    media = meta.ig_post("17900000000000006", "Hi", T - 7200)
    cid = meta.ig_comment(media, "17850000000000041", "spam", T - 300)
    pub = publisher(meta)
    pub.hide(target(cid), True)
    assert meta.ig_find(cid)["hidden"] is True
    pub.hide(target(cid), False)
    assert meta.ig_find(cid)["hidden"] is False
    with pytest.raises(PublishError, match="only comments"):
        pub.hide(target(media, "tag"), True)


def test_webhook_hints_are_read_by_id_and_a_private_mention_is_a_note(meta):
    from bot.networks.graph.webhook import hints_of
    from bot.networks.instagram.client import MENTIONED_ELSEWHERE

    media = meta.ig_post("17900000000000007", "Hi", T - 7200)
    cid = meta.ig_comment(media, "17850000000000051", "real words", T - 100)
    meta.ig_mentions["17850000000000061"] = {
        "id": "17850000000000061", "text": "@acmebank my card!",
        "timestamp": "2026-12-05T19:59:00+0000", "username": "lee.p", "media": {"id": "17900000000000099",
                                       "permalink": "https://www.instagram.com/p/999/"}}
    meta.ig_mentions["17850000000000062"] = {"id": "17850000000000062", "text": "hidden"}
    meta.ig_private.add("17850000000000062")
    src = source(meta)
    src.counts = {media: 1}  # the poll would not read this media's comments again
    for h in hints_of({"object": "instagram", "entry": [{"id": IG_USER_ID, "changes": [
            {"field": "comments", "value": {"id": cid, "text": "FORGED",
                                            "media": {"id": media}}},
            {"field": "mentions", "value": {"media_id": "17900000000000099",
                                            "comment_id": "17850000000000061"}},
            {"field": "mentions", "value": {"media_id": "17900000000000098",
                                            "comment_id": "17850000000000062"}}]}]}):
        assert src.accepts(h)
        src.hint(h)
    got = src.fetch(SourceState(cursor=str(int(T))), now=NOW)
    assert [(m.text, m.extra["kind"]) for m in got.mentions] == [
        ("real words", "comment"), ("@acmebank my card!", "mention_comment")]
    assert got.mentions[1].extra["no_reply"] == MENTIONED_ELSEWHERE
    assert any("17850000000000062" in n and "private" in n for n in got.notes)


def comment_burst(meta: FakeMeta, engine: Engine
                  ) -> tuple[sessionmaker[Session], Clock, InstagramSource, str]:
    """A source capped at 2 pages of 10 comments with its cursor stored (a comment on `media`),
    then 45 comments on the media within a minute: the comment-gap tests' start."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = InstagramSource(SPEC, BRAND, build_graph(meta.settings(), clock=lambda: NOW),
                          comment_page=10, max_comment_pages=2)
    media = meta.ig_post("17900000000000042", "New route!", T - 7200)
    meta.ig_comment(media, "18000000000000000", "first", T - 3600)
    assert drain(factory, src, clock).new == [1]  # the cursor
    for i in range(1, 46):
        meta.ig_comment(media, str(18000000000000000 + i), f"love it {i}", T - 3000 + i)
    return factory, clock, src, media


def test_a_comment_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(
        meta, engine):
    """45 comments on one media within a minute, a cap of 2 pages of 10: the newest 20, then
    a gap scoped to the media (Graph's `after` cursor) read by the next polls, with 4 newer
    comments read first, until it is closed."""
    factory, clock, src, media = comment_burst(meta, engine)
    first = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    for i in range(46, 50):
        meta.ig_comment(media, str(18000000000000000 + i), f"when? {i}", T - 2400 + i)
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and f"under {media}" in rest.lines[0], rest.lines
    ids = stored(factory, SPEC.id)
    assert set(ids) == {str(18000000000000000 + i) for i in range(50)}
    assert max(ids.values()) == 1 and sum(rest.new) == 49 - 20


def test_a_comment_gaps_expired_cursor_is_read_again_from_the_newest_page(meta, engine):
    """The gap's `after` cursor expires between polls: Graph answers it with (#2642), the gap
    is read again from the newest page (not a failed poll), and every comment is stored once."""
    factory, clock, src, _ = comment_burst(meta, engine)
    assert poll_source(factory, src, rules_with(SPEC), clock=clock).gap_open
    meta.expire_cursors()
    asked = len(meta.of_kind("ig_comments"))
    clock.advance(60)
    drain(factory, src, clock)
    assert [c.status for c in meta.of_kind("ig_comments")[asked:]
            if c.params.get("after") and "." not in c.params["after"]] == [400]
    ids = stored(factory, SPEC.id)
    assert set(ids) == {str(18000000000000000 + i) for i in range(46)}
    assert max(ids.values()) == 1
