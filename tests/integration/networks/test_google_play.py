"""GooglePlaySource and GooglePlayPublisher through google-api-python-client (static discovery
document, service-account sign-in) against the fake Google Play over real HTTP; review bodies
from the API's documentation and hand-written ones (tests/data/README.md)."""

from __future__ import annotations

import json
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
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.publisher import GooglePlayPublisher
from bot.networks.google_play.source import GooglePlaySource
from tests.support.clock import Clock
from tests.support.fake_google_play import (
    PACKAGE,
    FakeGooglePlay,
    new_private_key,
    play_body,
    play_error_body,
)
from tests.support.gap_storm import drain, open_gap, rules_with, stored

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SPEC = SourceSpec(id="play", type="google_play_reviews", package=PACKAGE)
BRAND = Brand(name="Acme Bank")


@pytest.fixture
def play():
    fake = FakeGooglePlay().start()
    yield fake
    fake.stop()


def source(fake: FakeGooglePlay, **kw) -> GooglePlaySource:
    return GooglePlaySource(SPEC, BRAND, PlayApi(fake.settings()), **kw)


def test_reviews_arrive_oldest_first_with_rating_version_device_and_language(play):
    play.reviews = play_body("reviews_list")["reviews"]
    got = source(play).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == ["11223344", "12345678"]
    john, jane = got.mentions
    assert (john.network, john.text, john.author.handle, john.lang) == (
        "google_play", "I love using this app!", "John Doe", "en")
    assert john.extra == {"review_id": "11223344", "package": PACKAGE, "rating": "5",
                          "app_version": "1.0", "device": "hammerhead", "android_os": "23",
                          "reviewer_language": "en", "developer_reply": "That's great to hear!"}
    assert john.created_at == datetime.fromtimestamp(1452797726, UTC)
    assert john.url == f"https://play.google.com/store/apps/details?id={PACKAGE}&reviewId=11223344"
    assert jane.extra["rating"] == "5" and "developer_reply" not in jane.extra
    assert got.state.cursor == "1452807846"
    # The service account signed in once, with a JWT the fake verified.
    assert [c.kind for c in play.calls] == ["token", "list"]


def test_later_polls_read_pages_down_to_the_cursor_and_nothing_twice(play):
    play.reviews = play_body("reviews_list")["reviews"]
    src = source(play, page_limit=1)
    first = src.fetch(SourceState(), now=NOW)
    assert [m.external_id for m in first.mentions] == ["12345678"]  # first poll: one page
    assert first.notes == ["first poll: read the newest page only"]
    hard = play_body("reviews_hard")["reviews"]
    play.add(*reversed(hard))
    second = src.fetch(first.state, now=NOW)
    # Three new pages, then the page holding the cursor's review (read again; dedupe drops it).
    assert [m.external_id for m in second.mentions] == [
        "12345678", "gp:AOqpTOH1-acme-tab", "gp:AOqpTOH1-acme-rtl",
        "gp:AOqpTOH1-acme-edited:edited:1764931200"]
    assert second.state.cursor == "1764931200"
    assert len(play.of_kind("list")) == 5


def test_emoji_right_to_left_title_tab_and_an_edit_after_our_reply(play):
    play.reviews = play_body("reviews_hard")["reviews"]
    got = {m.extra["review_id"]: m for m in source(play).fetch(SourceState(), now=NOW).mentions}
    rtl = got["gp:AOqpTOH1-acme-rtl"]
    assert rtl.text == "التطبيق لا يعمل بعد التحديث 😡\u200f 🇸🇦"  # kept exactly
    assert (rtl.author.handle, rtl.lang, rtl.extra["rating"]) == ("ليلى", "ar", "2")
    tab = got["gp:AOqpTOH1-acme-tab"]
    assert tab.text == "Great app\n\nTransfers are instant, love it 👍🏽"  # title, body
    assert (tab.author.handle, tab.lang) == ("A Google user", "pt")
    edited = got["gp:AOqpTOH1-acme-edited"]
    assert edited.external_id == "gp:AOqpTOH1-acme-edited:edited:1764931200"
    assert edited.extra["edited_after_reply"] == "1"
    assert edited.extra["developer_reply"].startswith("Sorry Sam")


@pytest.mark.parametrize(("kind", "status", "retry_after", "wait"), [
    ("quota_429", 429, 120, timedelta(seconds=120)),
    ("quota_403", 403, None, timedelta(hours=1)),
])
def test_an_exhausted_quota_waits_instead_of_parking(play, kind, status, retry_after, wait):
    play.fail("list", status, play_error_body(kind), retry_after=retry_after)
    with pytest.raises(RateLimited) as err:
        source(play).fetch(SourceState(), now=NOW)
    assert err.value.reset_at == NOW + wait
    assert "quota exhausted" in str(err.value)


@pytest.mark.parametrize(("status", "kind", "raised", "words"), [
    (401, "unauthenticated", SourceAuthError, r"access refused \(401"),
    (403, "forbidden", SourceAuthError, "PERMISSION_DENIED"),
    (404, "not_found", SourceAuthError, "no such app"),
    (503, "not_found", SourceUnavailable, "503"),
])
def test_refusals_park_the_source_and_outages_back_off(play, status, kind, raised, words):
    # A 401 is first taken for an expired token: google-auth signs in again (twice) first.
    play.fail("list", status, play_error_body(kind), times=5)
    with pytest.raises(raised, match=words):
        source(play).fetch(SourceState(), now=NOW)


def test_an_expired_token_is_renewed_once_without_a_word(play):
    play.fail("list", 401, play_error_body("unauthenticated"))
    assert source(play).fetch(SourceState(), now=NOW).mentions == []
    assert [c.kind for c in play.calls] == ["token", "list", "token", "list"]


def test_a_key_the_token_endpoint_refuses_parks_the_source_with_the_reason(play):
    stranger = new_private_key()  # not the key Google knows: "Invalid JWT Signature."
    src = GooglePlaySource(SPEC, BRAND, PlayApi(play.settings(key=stranger)))
    with pytest.raises(SourceAuthError, match=r"token exchange failed: .*invalid_grant"):
        src.fetch(SourceState(), now=NOW)
    assert play.of_kind("list") == []


@pytest.mark.parametrize(("raw", "words"), [
    ("{not json", "not JSON"),
    ('{"type": "authorized_user"}', "not a service-account key"),
    ('{"type": "service_account", "client_email": "a@b", "token_uri": "http://x", '
     '"private_key": "-----BEGIN PRIVATE KEY-----\\nnope\\n-----END PRIVATE KEY-----\\n"}',
     "the private key cannot be read"),
    ("/nonexistent/key.json", "cannot read the key file"),
])
def test_an_unusable_key_is_one_clear_line(play, raw, words):
    settings = play.settings().model_copy(update={"GOOGLE_PLAY_SERVICE_ACCOUNT_JSON": raw})
    with pytest.raises(SourceAuthError, match=words):
        GooglePlaySource(SPEC, BRAND, PlayApi(settings)).fetch(SourceState(), now=NOW)


# --- publishing ----------------------------------------------------------------------------

def target(review_id: str = "12345678") -> Target:
    return Target(network="google_play", external_id=review_id,
                  url=f"https://play.google.com/store/apps/details?id={PACKAGE}",
                  extra={"package": PACKAGE, "review_id": review_id})


def test_a_reply_is_the_reviews_one_developer_comment_and_a_second_replaces_it(play):
    play.reviews = play_body("reviews_list")["reviews"]
    play.clock = lambda: NOW.timestamp()
    pub = GooglePlayPublisher(PlayApi(play.settings()))
    done = pub.reply(target(), "Thanks Jane! 🙏 شكرا", "reply:1")
    assert done.network_id == "12345678:reply"
    assert play.of_kind("reply")[0].body == {"replyText": "Thanks Jane! 🙏 شكرا"}
    pub.reply(target(), "Thanks again, Jane", "reply:2")
    assert play.developer_comment("12345678")["text"] == "Thanks again, Jane"
    comments = play.review("12345678")["comments"]
    assert sum("developerComment" in c for c in comments) == 1
    found = pub.find_reply(target(), since=NOW - timedelta(seconds=30))
    assert found.found is not None and found.complete


def test_find_reply_tells_an_old_reply_and_a_deleted_review_from_ours(play):
    play.reviews = play_body("reviews_list")["reviews"]
    pub = GooglePlayPublisher(PlayApi(play.settings()))
    old = pub.find_reply(target("11223344"), since=NOW)  # answered in 2016, not by this send
    assert (old.found, old.complete) == (None, True)
    play.delete("11223344")
    gone = pub.find_reply(target("11223344"), since=NOW)
    assert (gone.found, gone.complete) == (None, True) and "gone" in gone.note


@pytest.mark.parametrize(("status", "body", "kind", "apply"), [
    (400, "too_long", "rejected", False),
    (404, "not_found", "rejected", False),
    (401, "unauthenticated", "auth", False),
    (403, "forbidden", "auth", False),
    (429, "quota_429", "unavailable", False),
    (403, "quota_403", "unavailable", False),
    (500, "not_found", "maybe_sent", True),  # replied, then the answer failed
])
def test_reply_errors_say_whether_the_reply_may_exist(play, status, body, kind, apply):
    play.reviews = play_body("reviews_list")["reviews"]
    play.fail("reply", status, play_error_body(body), apply=apply, times=5 if status == 401 else 1)
    with pytest.raises(PublishError) as err:
        GooglePlayPublisher(PlayApi(play.settings())).reply(target(), "Thanks", "reply:1")
    assert err.value.kind == kind
    assert (play.developer_comment("12345678") is not None) == apply


def test_a_deleted_review_rejects_the_reply(play):
    with pytest.raises(PublishError) as err:
        GooglePlayPublisher(PlayApi(play.settings())).reply(target("gone"), "Hi", "reply:1")
    assert err.value.kind == "rejected" and "the review is gone" in err.value.detail


def test_no_connection_is_surely_not_sent():
    fake = FakeGooglePlay().start()
    settings = fake.settings()
    fake.stop()  # nothing listens there any more
    with pytest.raises(PublishError) as err:
        GooglePlayPublisher(PlayApi(settings)).reply(target(), "Hi", "reply:1")
    assert err.value.surely_not_sent, err.value


def test_the_key_may_be_a_file_path(play, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(play.key_info()))
    settings = play.settings().model_copy(update={"GOOGLE_PLAY_SERVICE_ACCOUNT_JSON": str(path)})
    assert GooglePlaySource(SPEC, BRAND, PlayApi(settings)).fetch(SourceState(),
                                                                   now=NOW).mentions == []


def play_review(i: int, at: float) -> dict:
    return {"reviewId": f"gp:storm-{i}", "authorName": f"user {i}",
            "comments": [{"userComment": {"text": f"crashes on start {i}", "starRating": 1,
                                          "lastModified": {"seconds": str(int(at))}}}]}


def test_a_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(play, engine):
    """45 reviews at once with a cap of 2 pages of 10: the newest 20, then a gap (Google's page
    `token`) read with the pages 4 newer reviews leave over, until it is closed."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(play, page_limit=10, max_pages=2)
    t0 = NOW.timestamp() - 3600
    play.add(play_review(0, t0))
    assert drain(factory, src, clock).new == [1]  # the cursor
    play.add(*(play_review(i, t0 + 60 + i) for i in range(1, 46)))
    first = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    play.add(*(play_review(i, t0 + 600 + i) for i in range(46, 50)))
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and "posts older than 2026-12-05T11:" in rest.lines[0], rest.lines
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"gp:storm-{i}" for i in range(50)} and max(ids.values()) == 1
    assert sum(rest.new) == 49 - 20


def test_a_gap_is_read_as_fast_as_googles_hourly_quota_allows(play):
    assert source(play).backfill_every == timedelta(seconds=80)  # 4 pages, 90 % of 200 an hour


def test_a_gap_whose_page_token_expired_is_read_again_from_the_newest_page(play, engine):
    """Google answers 400 for a page token it no longer honours: the gap is read again from
    the newest review down to its floor, once; nothing is lost or stored twice (the source
    used to fail every poll on it, new reviews included)."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(play, page_limit=10, max_pages=2)
    t0 = NOW.timestamp() - 3600
    token = open_gap(factory, src, clock, lambda: play.add(play_review(0, t0)),
                     lambda: play.add(*(play_review(i, t0 + 60 + i) for i in range(1, 46))))
    play.expire_page_tokens()
    play.add(play_review(46, t0 + 600))
    clock.advance(60)
    drain(factory, src, clock)
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"gp:storm-{i}" for i in range(47)} and max(ids.values()) == 1
    refused = [c for c in play.of_kind("list") if c.status == 400]
    assert len(refused) == 1 and token  # refused once, then read from the top, never retried
