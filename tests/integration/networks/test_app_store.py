"""AppStoreSource and AppStorePublisher (App Store Connect over requests, ES256 JWT) against the
fake App Store Connect over real HTTP; review bodies written after Apple's OpenAPI spec
(tests/data/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit.db import make_session_factory
from bot.listening.polling import poll_source
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.publisher import AppStorePublisher
from bot.networks.app_store.source import AppStoreSource
from bot.networks.base import (
    PublishError,
    RateLimited,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
    Target,
)
from tests.support.clock import Clock
from tests.support.fake_app_store import (
    APP_ID,
    FakeAppStore,
    asc_body,
    asc_error,
    new_key,
    pem,
    review,
)
from tests.support.gap_storm import drain, rules_with, stored

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
SPEC = SourceSpec(id="ios", type="app_store_reviews", app_id=APP_ID)
BRAND = Brand(name="Acme Bank")
SAM = "00000042-1111-2222-3333-acme00000002"
KAI = "00000042-1111-2222-3333-acme00000001"
LAYLA = "00000042-1111-2222-3333-acme00000003"


@pytest.fixture
def asc():
    fake = FakeAppStore(clock=NOW.timestamp).start()
    yield fake
    fake.stop()


def api(fake: FakeAppStore, **kw) -> AscApi:
    return AscApi(fake.settings(**kw), clock=fake.clock)


def source(fake: FakeAppStore, **kw) -> AppStoreSource:
    return AppStoreSource(SPEC, BRAND, api(fake), **kw)


def target(review_id: str) -> Target:
    return Target(network="app_store", external_id=review_id,
                  url=f"https://apps.apple.com/app/id{APP_ID}?see-all=reviews",
                  extra={"review_id": review_id, "app_id": APP_ID})


def test_reviews_arrive_oldest_first_with_rating_title_territory_and_our_response(asc):
    asc.load_page(asc_body("customer_reviews"))
    got = source(asc).fetch(SourceState(), now=NOW)
    assert [m.external_id for m in got.mentions] == [KAI, SAM, LAYLA]
    kai, sam, layla = got.mentions
    assert (sam.network, sam.author.handle, sam.lang) == ("app_store", "SamO_1987", None)
    assert sam.text == ("Locked out since the update\n\nFace ID login loops back to the start "
                        "screen. Can't see my balance or pay rent. Fix it please.")
    assert sam.extra == {"review_id": SAM, "app_id": APP_ID, "rating": "1",
                         "territory": "GBR", "title": "Locked out since the update"}
    assert sam.created_at == datetime(2026, 12, 5, 15, 2, 41, tzinfo=UTC)
    assert sam.url == f"https://apps.apple.com/app/id{APP_ID}?see-all=reviews"
    # The review we already answered says so (the card shows the answer).
    assert kai.extra["developer_reply"].startswith("Hi! Statements moved")
    assert (kai.extra["response_state"], kai.extra["rating"]) == ("PUBLISHED", "2")
    # Right-to-left text and emoji come through as written.
    assert layla.text == "تطبيق رائع 👍\n\nسهل الاستخدام والتحويلات سريعة جداً 🚀 شكراً لكم"
    assert (layla.author.handle, layla.extra["territory"]) == ("ليلى٧٧", "ARE")
    assert got.state.cursor == str(int(datetime(2026, 12, 5, 17, 14, 3, tzinfo=UTC).timestamp()))
    [listed] = asc.of_kind("list")
    assert listed.query["sort"] == ["-createdDate"] and listed.query["include"] == ["response"]
    assert len(asc.tokens_seen) == 1  # a JWT the fake verified (ES256, kid, iss, aud, exp)


def test_the_first_poll_keeps_a_week_and_later_polls_read_pages_down_to_the_cursor(asc):
    old = review("old-1", rating=4, body="fine", created=(NOW - timedelta(days=30)).timestamp())
    asc.add(old)
    asc.load_page(asc_body("customer_reviews"))
    src = source(asc, page_limit=2)
    first = src.fetch(SourceState(), now=NOW)
    assert [m.external_id for m in first.mentions] == [SAM, LAYLA]  # one page on the first poll
    new = [review(f"new-{i}", rating=3, body=f"ok {i}",
                  created=(NOW + timedelta(minutes=i)).timestamp()) for i in range(1, 5)]
    asc.add(*new)
    second = src.fetch(first.state, now=NOW + timedelta(minutes=5))
    # Two new pages, then the page holding the cursor's review (read again; dedupe drops it).
    assert [m.external_id for m in second.mentions] == [LAYLA, "new-1", "new-2", "new-3",
                                                          "new-4"]
    assert len(asc.of_kind("list")) == 4
    assert "next" not in asc.of_kind("list")[0].query  # pages followed through links.next
    assert [c.query.get("cursor") for c in asc.of_kind("list")[1:]] == [None, ["2"], ["4"]]

    src_first = source(asc)  # a new source: the whole first page, a week of it
    fresh = src_first.fetch(SourceState(), now=NOW)
    assert "old-1" not in [m.external_id for m in fresh.mentions]
    assert "first poll: 1 reviews older than 7 days left out" in fresh.notes


def test_a_review_edited_after_our_response_is_a_new_card(asc):
    asc.load_page(asc_body("customer_reviews"))
    src = source(asc)
    first = src.fetch(SourceState(), now=NOW)
    edited_at = (NOW + timedelta(hours=1)).timestamp()
    asc.edit(KAI, body="Found them, but the PDF is blank now", created=edited_at, rating=1)
    again = src.fetch(first.state, now=NOW + timedelta(hours=1))
    [edited] = [m for m in again.mentions if m.external_id.startswith(KAI)]
    assert edited.external_id == f"{KAI}:edited:{int(edited_at)}"
    assert edited.extra["edited_after_reply"] == "1" and edited.extra["rating"] == "1"
    assert edited.extra["review_id"] == KAI  # answering it replaces our one response


def test_an_edit_before_any_response_is_the_same_review(asc):
    asc.load_page(asc_body("customer_reviews"))
    src = source(asc)
    first = src.fetch(SourceState(), now=NOW)
    asc.edit(SAM, body="Still locked out", created=(NOW + timedelta(hours=1)).timestamp())
    again = src.fetch(first.state, now=NOW + timedelta(hours=1))
    # The cursor's own review is read again, and SAM's id is the one its card has: the store's
    # dedupe drops both.
    assert [m.external_id for m in again.mentions] == [LAYLA, SAM]


@pytest.mark.parametrize(("status", "body", "raised"), [
    (401, "not_authorized", SourceAuthError),
    (403, "forbidden", SourceAuthError),
    (429, "rate_limited", RateLimited),
    (500, "server_error", SourceUnavailable),
])
def test_failures_park_wait_or_back_off(asc, status, body, raised):
    asc.fail("list", status, asc_error(body))
    with pytest.raises(raised) as caught:
        source(asc).fetch(SourceState(), now=NOW)
    if raised is RateLimited:  # no Retry-After from Apple: a quarter of an hour
        assert caught.value.reset_at == NOW + timedelta(minutes=15)
    if raised is SourceAuthError:
        assert "APP_STORE_KEY_ID" in str(caught.value)


def test_a_rate_limit_mid_poll_loses_nothing_the_next_poll_reads_it_all(asc):
    asc.load_page(asc_body("customer_reviews"))
    src = source(asc, page_limit=1)
    first = src.fetch(SourceState(), now=NOW)
    asc.add(*[review(f"new-{i}", rating=2, body=f"slow {i}",
                     created=(NOW + timedelta(minutes=i)).timestamp()) for i in range(1, 4)])
    asc.fail("list", 429, asc_error("rate_limited"), skip=1)  # this poll's second page
    with pytest.raises(RateLimited):
        src.fetch(first.state, now=NOW + timedelta(minutes=5))
    # The poll was given up whole (no cursor moved, nothing handed to ingest): the next one
    # reads the same reviews again, and nothing is lost.
    later = src.fetch(first.state, now=NOW + timedelta(minutes=20))
    assert [m.external_id for m in later.mentions] == ["new-1", "new-2", "new-3"]
    assert [c.status for c in asc.of_kind("list")] == [200, 200, 429, 200, 200, 200]


def test_retry_after_is_honoured_when_apple_sends_it(asc):
    asc.fail("list", 429, asc_error("rate_limited"), retry_after=120)
    with pytest.raises(RateLimited) as caught:
        source(asc).fetch(SourceState(), now=NOW)
    assert caught.value.reset_at == NOW + timedelta(seconds=120)


def test_a_key_apple_does_not_know_is_refused_and_parks_the_source(asc):
    stranger = AppStoreSource(SPEC, BRAND, AscApi(asc.settings(key=new_key()), clock=asc.clock))
    with pytest.raises(SourceAuthError, match="NOT_AUTHORIZED"):
        stranger.fetch(SourceState(), now=NOW)
    assert asc.tokens_seen == set()


def test_key_settings_that_cannot_sign_say_which_one(asc, tmp_path):
    bad = AppStoreSource(SPEC, BRAND, AscApi(asc.settings(APP_STORE_PRIVATE_KEY="nope"),
                                             clock=asc.clock))
    with pytest.raises(SourceAuthError, match="APP_STORE_PRIVATE_KEY: not a PEM private key"):
        bad.fetch(SourceState(), now=NOW)
    path = tmp_path / "AuthKey_2X9R4HXF34.p8"
    path.write_text(pem(asc.key))
    from_file = AppStoreSource(SPEC, BRAND, AscApi(asc.settings(
        APP_STORE_PRIVATE_KEY=None, APP_STORE_PRIVATE_KEY_PATH=str(path)), clock=asc.clock))
    assert from_file.fetch(SourceState(), now=NOW).mentions == []
    assert not asc.calls[-1].status >= 400


def test_the_token_is_signed_again_before_it_expires(asc):
    clock = [NOW.timestamp()]
    asc.clock = lambda: clock[0]
    session = AscApi(asc.settings(), clock=lambda: clock[0])
    src = AppStoreSource(SPEC, BRAND, session)
    src.fetch(SourceState(), now=NOW)
    src.fetch(SourceState(), now=NOW)
    assert len(asc.tokens_seen) == 1  # reused while it lives
    clock[0] += 14.5 * 60  # less than a minute left: a new one
    src.fetch(SourceState(), now=NOW)
    assert len(asc.tokens_seen) == 2
    assert all(c.status == 200 for c in asc.calls)


def test_a_reply_creates_the_reviews_one_response(asc):
    asc.load_page(asc_body("customer_reviews"))
    text = "Sorry Sam! 4.12.1 fixes Face ID 🙏 مرحبا"
    published = AppStorePublisher(api(asc)).reply(target(SAM), text, "reply:1")
    assert asc.response_text(SAM) == text
    assert published.network_id == asc.responses[SAM]["id"] and published.replaced == ""
    [create] = asc.of_kind("create")
    assert create.body["data"]["relationships"]["review"]["data"] == {
        "type": "customerReviews", "id": SAM}


def test_replying_to_an_answered_review_deletes_then_creates_and_says_what_it_replaced(asc):
    asc.load_page(asc_body("customer_reviews"))
    old_id = asc.responses[KAI]["id"]
    published = AppStorePublisher(api(asc)).reply(target(KAI), "Try Profile → Documents",
                                                  "reply:2")
    assert [c.kind for c in asc.calls] == ["get", "delete", "create"]
    assert asc.response_text(KAI) == "Try Profile → Documents"
    assert published.replaced.startswith(f"replaced response {old_id} (PUBLISHED, ")
    assert "Statements moved to Profile" in published.replaced


def test_the_same_text_already_there_is_recorded_not_posted_again(asc):
    asc.load_page(asc_body("customer_reviews"))
    pub = AppStorePublisher(api(asc))
    first = pub.reply(target(SAM), "Sorry!", "reply:3")
    again = pub.reply(target(SAM), "Sorry!", "reply:3")
    assert again.network_id == first.network_id
    assert len(asc.of_kind("create")) == 1 and asc.of_kind("delete") == []


def test_a_deleted_review_is_rejected_and_reconciles_as_not_sent(asc):
    asc.load_page(asc_body("customer_reviews"))
    asc.delete(SAM)
    pub = AppStorePublisher(api(asc))
    with pytest.raises(PublishError) as caught:
        pub.reply(target(SAM), "Sorry!", "reply:4")
    assert caught.value.kind == "rejected" and "the review is gone" in caught.value.detail
    lookup = pub.find_reply(target(SAM), since=NOW)
    assert (lookup.found, lookup.complete) == (None, True)
    assert asc.of_kind("create") == []


def test_a_lost_answer_is_found_on_the_review(asc):
    asc.load_page(asc_body("customer_reviews"))
    asc.fail("create", 500, asc_error("server_error"), apply=True)
    pub = AppStorePublisher(api(asc))
    with pytest.raises(PublishError) as caught:
        pub.reply(target(SAM), "Sorry!", "reply:5")
    assert caught.value.kind == "maybe_sent"
    lookup = pub.find_reply(target(SAM), since=NOW - timedelta(seconds=5))
    assert lookup.found is not None and lookup.found.network_id == asc.responses[SAM]["id"]
    # An older response is not ours from this send: not found, and the search was complete.
    later = pub.find_reply(target(KAI), since=NOW)
    assert (later.found, later.complete) == (None, True)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (401, "not_authorized", "auth"), (403, "forbidden", "auth"),
    (429, "rate_limited", "unavailable"), (409, "too_long", "rejected"),
    (500, "server_error", "maybe_sent")])
def test_create_failures_map_to_what_the_desk_may_do(asc, status, body, kind):
    asc.load_page(asc_body("customer_reviews"))
    asc.fail("create", status, asc_error(body))
    with pytest.raises(PublishError) as caught:
        AppStorePublisher(api(asc)).reply(target(SAM), "Sorry!", "reply:6")
    assert caught.value.kind == kind


def test_a_failed_create_after_the_delete_says_the_earlier_response_is_gone(asc):
    asc.load_page(asc_body("customer_reviews"))
    asc.fail("create", 409, asc_error("too_long"))
    with pytest.raises(PublishError, match="our earlier response was deleted first"):
        AppStorePublisher(api(asc)).reply(target(KAI), "x", "reply:7")


def test_a_connection_never_made_is_surely_not_sent(asc):
    settings = asc.settings(APP_STORE_API_URL="http://127.0.0.1:9/")
    with pytest.raises(PublishError) as caught:
        AppStorePublisher(AscApi(settings, clock=asc.clock)).reply(target(SAM), "x", "k")
    assert caught.value.kind == "unavailable"


def test_like_and_repost_are_rejected(asc):
    pub = AppStorePublisher(api(asc))
    for act in (pub.like, pub.repost):
        with pytest.raises(PublishError) as caught:
            act(target(SAM))
        assert caught.value.kind == "rejected"


def test_a_burst_bigger_than_the_page_cap_is_stored_whole_over_the_next_polls(asc, engine):
    """45 reviews at once with a cap of 2 pages of 10: the newest 20, then a gap (Apple's
    `links.next`) read with the pages 4 newer reviews leave over, until it is closed."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    src = source(asc, page_limit=10, max_pages=2)
    t0 = NOW.timestamp() - 3600
    asc.add(review("storm-0", rating=2, body="slow", created=t0))
    assert drain(factory, src, clock).new == [1]  # the cursor
    asc.add(*(review(f"storm-{i}", rating=1, body=f"crash {i}", created=t0 + 60 + i)
              for i in range(1, 46)))
    first = poll_source(factory, src, rules_with(SPEC), clock=clock)
    assert (first.new, first.gap_open) == (20, True)
    asc.add(*(review(f"storm-{i}", rating=1, body=f"crash {i}", created=t0 + 600 + i)
              for i in range(46, 50)))
    clock.advance(60)
    rest = drain(factory, src, clock)
    assert rest.lines and "posts older than 2026-12-05T19:" in rest.lines[0], rest.lines
    ids = stored(factory, SPEC.id)
    assert set(ids) == {f"storm-{i}" for i in range(50)} and max(ids.values()) == 1
    assert sum(rest.new) == 49 - 20
