"""The X sources through the real tweepy `Client`, talking HTTP to a scripted local server.

Bodies are in tests/data/x_api/: real recordings from tweepy's cassettes (no expansions) and
hand-written Northwind Air pages in the v2 wire format (with includes.users, entities,
referenced_tweets, meta.next_token). The client's `X_API_URL` is the server
(tests/support/scripted_http.py), which refuses any request not registered, so nothing here
reaches the internet, and nothing sleeps: the clock is the `NOW` passed to `fetch`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import tweepy

from bot.config import Settings
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import RateLimited, SourceAuthError, SourceState, SourceUnavailable
from bot.networks.gaps import load
from bot.networks.x.client import (
    REDACTOR,
    REQUEST_TIMEOUT,
    TimeoutSession,
    build_x_client,
    redact,
)
from bot.networks.x.source import (
    BACKFILL,
    MAX_PAGES,
    SEARCH_WINDOW,
    SEARCH_WINDOW_MARGIN,
    BrandMatcher,
    XMentionsSource,
    XSearchSource,
    normalise_page,
    snowflake_time,
)
from tests.support.paths import DATA
from tests.support.scripted_http import ScriptedHTTP, unanswered_port

DATA = DATA / "x_api"
FIXTURES_429 = DATA / "x_api_v2_429_observed.json"  # X's real 429 body, as quoted in logs
API = "/2"  # X's paths; the host is the scripted server (`X_API_URL`)
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=UTC)
BRAND = Brand(name="Northwind Air", x_username="NorthwindAir")
BRAND_ID = "1400000000000000001"
MENTIONS_URL = f"{API}/users/{BRAND_ID}/mentions"
SEARCH_URL = f"{API}/tweets/search/recent"
MENTIONS = SourceSpec(id="x-mentions", type="x_mentions", every="60s")
SEARCH = SourceSpec(id="x-search", type="x_search", query='"northwind air" -is:retweet',
                    every="5m")
# Token-shaped but fake (X bearer tokens are long, URL-encoded, start with many A's).
BEARER = "AAAAAAAAAAAAAAAAAAAAAFakeN0rthw1ndBearer%2BT0ken%3DNotARealSecretXyZ123"
USER_KEYS = {"X_API_KEY": "fakeConsumerKey0123456789", "X_API_SECRET": "fakeConsumerSecretABCDEF",
             "X_ACCESS_TOKEN": "1400000000000000001-fakeAccessTokenQwerty",
             "X_ACCESS_TOKEN_SECRET": "fakeAccessTokenSecretZxcvb"}
X_VARS = ("X_BEARER_TOKEN", *USER_KEYS)
RATE_HEADERS = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "447",
                "x-rate-limit-reset": "1730797200"}

B1 = "1853706321916866671"  # the brand's post about the Gatwick disruption (not in any page)


def body(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def recorded(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A tweepy cassette exchange: the response body and its x-rate-limit-* headers."""
    exchange = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))[0]
    return exchange["response"]["json"], exchange["response"]["rate_limit"]


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def path(call: Any) -> str:
    return urlsplit(call.request.url).path


@pytest.fixture
def api() -> Iterator[ScriptedHTTP]:
    """X's answers, served in the order registered; every one must be used."""
    with ScriptedHTTP(ordered=True) as server:
        yield server


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, api: ScriptedHTTP):
    for name in X_VARS:
        monkeypatch.delenv(name, raising=False)

    def make(**values: str) -> Settings:
        return Settings(_env_file=None, X_API_URL=api.url, **values)
    return make


@pytest.fixture
def client(settings) -> tweepy.Client:
    return build_x_client(settings(X_BEARER_TOKEN=BEARER))


def mentions_source(client: tweepy.Client, **kw: Any) -> XMentionsSource:
    return XMentionsSource(MENTIONS, BRAND, client, **kw)


# --- mentions: normalisation, window, pagination --------------------------------------------

def test_first_poll_resolves_the_brand_pages_and_normalises(api, client):
    api.get(f"{API}/users/by/username/NorthwindAir", json=body("northwind_get_user"))
    api.get(MENTIONS_URL, json=body("northwind_mentions_page1"), headers=RATE_HEADERS)
    api.get(MENTIONS_URL, json=body("northwind_mentions_page2"), headers=RATE_HEADERS)

    fetch = mentions_source(client).fetch(SourceState(), now=NOW)

    first, second = api.calls[1], api.calls[2]
    assert query(first) == {
        "start_time": "2024-11-04T09:00:00Z",  # now - 24 h: the first poll's bounded backfill
        "max_results": "100",
        "expansions": "author_id",
        "user.fields": "public_metrics,verified,name,username",
        "tweet.fields": "created_at,conversation_id,in_reply_to_user_id,lang,referenced_tweets,"
                        "entities,author_id",
    }
    assert timedelta(hours=24) == BACKFILL
    assert query(second)["pagination_token"] == "7140dibdnow9c7btw3z2w1hq0b4x4xh1tuyc4mhk1qklv"
    assert query(second)["start_time"] == "2024-11-04T09:00:00Z"
    assert first.request.headers["Authorization"] == f"Bearer {BEARER}"

    # 5 posts read (and billed), the retweet skipped; oldest first.
    assert fetch.reads == 5
    assert [m.external_id for m in fetch.mentions] == [
        "1853708452623294538", "1853709387953082405", "1853714563724239070",
        "1853719169070026937"]
    assert "1853716379857862804" not in {m.external_id for m in fetch.mentions}  # the RT
    assert fetch.state == SourceState(cursor="1853719169070026937")  # page 1's meta.newest_id
    assert fetch.notes == []
    assert not fetch.not_modified

    orphan, priya, lucia, tom = fetch.mentions
    assert priya == Mention(
        network="x",
        external_id="1853709387953082405",
        text="Three hours on the tarmac at Gatwick with @NorthwindAir and not a single update "
             "from the crew. Kids are melting down. #NW212",
        author=Author(handle="priyaflies", name="Priya Raman", followers=48210,
                      external_id="2911000004", verified=True),
        url="https://x.com/priyaflies/status/1853709387953082405",
        created_at=datetime(2024, 11, 5, 8, 2, 13, tzinfo=UTC),
        lang="en",
        source_id="x-mentions",
        mentions_brand=True,
        in_reply_to_id=None,
        conversation_id="1853709387953082405",
    )
    assert priya.created_at.utcoffset() == timedelta(0)
    assert (tom.in_reply_to_id, tom.conversation_id, tom.mentions_brand) == (B1, B1, True)
    assert tom.author == Author(handle="tbecker_travels", name="Tom Becker", followers=212,
                                external_id="2911000005", verified=False)
    assert (lucia.lang, lucia.mentions_brand) == ("es", True)  # "@northwindair", lower case
    assert lucia.author.name == "Lucía Fernández"
    # The author X could not return (page 2's `errors`): kept, with the id and a generic URL.
    assert orphan.author == Author(handle="2911000099", external_id="2911000099")
    assert orphan.url == "https://x.com/i/web/status/1853708452623294538"
    assert orphan.mentions_brand


def test_cursor_is_sent_as_since_id_and_kept_when_nothing_is_new(api, client):
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))

    source = mentions_source(client, brand_user_id=BRAND_ID)  # no user lookup
    fetch = source.fetch(SourceState(cursor="1853700000000000000"), now=NOW)

    assert query(api.calls[0])["since_id"] == "1853700000000000000"
    assert "start_time" not in query(api.calls[0])
    assert fetch.mentions == [] and fetch.reads == 0
    assert fetch.state.cursor == "1853700000000000000"


def test_first_poll_with_nothing_new_keeps_no_cursor(api, client):
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))
    fetch = mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)
    assert fetch.state.cursor is None and fetch.reads == 0


def test_brand_user_id_is_looked_up_once(api, client):
    api.get(f"{API}/users/by/username/NorthwindAir", json=body("northwind_get_user"))
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))

    source = mentions_source(client)
    source.fetch(SourceState(), now=NOW)
    source.fetch(SourceState(), now=NOW + timedelta(minutes=1))

    assert [path(c) for c in api.calls] == ["/2/users/by/username/NorthwindAir",
                                            f"/2/users/{BRAND_ID}/mentions",
                                            f"/2/users/{BRAND_ID}/mentions"]
    assert source.brand_user_id == BRAND_ID


def test_unknown_brand_account_is_a_configuration_error(api, client):
    # What X answers (200, no data) for a username that does not exist.
    api.get(f"{API}/users/by/username/NorthwindAir", json={"errors": [{
        "value": "NorthwindAir", "detail": "Could not find user with username: [NorthwindAir].",
        "title": "Not Found Error", "resource_type": "user", "parameter": "username",
        "resource_id": "NorthwindAir",
        "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    with pytest.raises(SourceAuthError, match=r"no account @NorthwindAir.*Could not find user"):
        mentions_source(client).fetch(SourceState(), now=NOW)


def test_page_cap_stops_says_so_and_keeps_the_gap(api, client):
    api.get(MENTIONS_URL, json=body("northwind_mentions_page1"))

    fetch = mentions_source(client, brand_user_id=BRAND_ID, max_pages=1).fetch(
        SourceState(cursor="1853700000000000000"), now=NOW)

    assert len(api.calls) == 1  # page 2 was not asked for
    assert fetch.reads == 3 and len(fetch.mentions) == 2
    assert fetch.state.cursor == "1853719169070026937"
    assert len(fetch.notes) == 1
    assert "page cap reached (1 pages, 3 posts read)" in fetch.notes[0]
    assert "read by the next polls" in fetch.notes[0]
    # What the cap left unread is kept: posts below the oldest read, above the old cursor.
    [gap] = load(fetch.state.backfill)
    assert (gap.newer_than, gap.older_than) == ("1853700000000000000", min(
        (t["id"] for t in body("northwind_mentions_page1")["data"]), key=int))


def test_default_page_cap(api, client):
    assert MAX_PAGES == 5
    base = 1853719169070026937
    for page in range(MAX_PAGES):
        ids = [str(base - page * 1000 - i) for i in range(2)]
        api.get(MENTIONS_URL, json={
            "data": [{"id": i, "text": f"@NorthwindAir page {page}", "author_id": "2911000005",
                      "edit_history_tweet_ids": [i]} for i in ids],
            "includes": {"users": [{"id": "2911000005", "name": "Tom Becker",
                                    "username": "tbecker_travels"}]},
            "meta": {"newest_id": ids[0], "oldest_id": ids[-1], "result_count": 2,
                     "next_token": f"token{page + 1}"}})

    fetch = mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)

    assert len(api.calls) == MAX_PAGES
    assert [query(c).get("pagination_token") for c in api.calls] == [
        None, "token1", "token2", "token3", "token4"]
    assert fetch.reads == 10 and len(fetch.mentions) == 10
    assert fetch.state.cursor == str(base)
    assert fetch.notes and "page cap reached (5 pages, 10 posts read)" in fetch.notes[0]
    [gap] = load(fetch.state.backfill)  # the first poll's window start bounds its gap
    assert (gap.start_time, gap.older_than) == ("2024-11-04T09:00:00+00:00", str(base - 4001))
    # Without created_at (not requested here), the time comes from the snowflake id.
    assert fetch.mentions[-1].created_at == snowflake_time(str(base))


def test_recorded_mentions_of_twitter(api, client):
    """tweepy's recording of @Twitter's mentions: no expansions, so no authors or times."""
    user, user_headers = recorded("test_client_get_user")
    page, headers = recorded("test_client_get_users_mentions")
    api.get(f"{API}/users/by/username/Twitter", json=user, headers=user_headers)
    api.get(f"{API}/users/783214/mentions", json=page, headers=headers)

    source = XMentionsSource(MENTIONS, Brand(name="Twitter", x_username="Twitter"), client,
                             max_pages=1)
    fetch = source.fetch(SourceState(), now=datetime(2022, 10, 8, tzinfo=UTC))

    assert source.brand_user_id == "783214"
    assert fetch.reads == 10 and len(fetch.mentions) == 10
    assert fetch.state.cursor == "1578516295611748353"
    assert [m.external_id for m in fetch.mentions] == sorted(
        (t["id"] for t in page["data"]), key=int)
    # Every one says @Twitter or @twitter somewhere in the text.
    assert all(m.mentions_brand for m in fetch.mentions)
    newest = fetch.mentions[-1]
    assert newest.text.startswith("@Twitter @TwitterSupport this is my ENTIRE feed")
    assert newest.url == "https://x.com/i/web/status/1578516295611748353"
    assert newest.created_at == datetime(2022, 10, 7, 22, 43, 6, 945000, tzinfo=UTC)  # snowflake
    assert newest.author == Author(handle="")
    assert fetch.notes and "page cap" in fetch.notes[0]  # the recording has a next_token


def test_client_with_tweepy_response_objects(api):
    """A caller's own `tweepy.Client` (default return type) works as well as ours."""
    api.get(MENTIONS_URL, json=body("northwind_mentions_page2"))
    plain = tweepy.Client(bearer_token=BEARER)
    plain.session = TimeoutSession(base=api.url)  # tweepy has no host option: only the host moves
    fetch = mentions_source(plain, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)
    assert [m.author.handle for m in fetch.mentions] == ["2911000099", "priyaflies"]
    assert fetch.mentions[1].author.followers == 48210
    assert fetch.reads == 2


# --- search -------------------------------------------------------------------------------

def test_search_normalises_skips_own_posts_and_flags_quotes(api, client):
    api.get(SEARCH_URL, json=body("northwind_search_recent"))

    fetch = XSearchSource(SEARCH, BRAND, client).fetch(SourceState(), now=NOW)

    q = query(api.calls[0])
    assert q["query"] == '"northwind air" -is:retweet'
    assert q["start_time"] == "2024-11-04T09:00:00Z" and q["max_results"] == "100"
    assert fetch.reads == 4  # the brand's own post is billed too
    # The brand's own reply comes flagged, for the thread of the conversation it answers.
    assert [m.extra for m in fetch.mentions if m.author.handle == "NorthwindAir"] == [
        {"by_brand": "1"}]
    by_handle = {m.author.handle: m for m in fetch.mentions if "by_brand" not in m.extra}
    assert list(by_handle) == ["NorthwindAirFan", "samito", "dailyroute_news"]  # oldest first
    assert "NorthwindAir" not in by_handle
    # A quote of the brand's post without the @handle: X lets the brand reply to it.
    press = by_handle["dailyroute_news"]
    assert press.mentions_brand and press.author.followers == 152000 and press.author.verified
    assert press.source_id == "x-search"
    assert not by_handle["samito"].mentions_brand  # "@NorthwindAirFan" is another account
    assert not by_handle["NorthwindAirFan"].mentions_brand  # the name, not the handle
    assert fetch.state.cursor == "1853721580794810405"  # the brand's post counts for the cursor


def test_search_paginates_with_next_token(api, client):
    page1 = body("northwind_search_recent")
    page1["meta"]["next_token"] = "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul"
    api.get(SEARCH_URL, json=page1)
    api.get(SEARCH_URL, json=body("northwind_empty_page"))

    fetch = XSearchSource(SEARCH, BRAND, client).fetch(
        SourceState(cursor="1853700000000000000"), now=NOW)

    assert query(api.calls[0])["since_id"] == "1853700000000000000"
    assert query(api.calls[1])["next_token"] == "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul"
    assert "pagination_token" not in query(api.calls[1])
    customers = [m for m in fetch.mentions if "by_brand" not in m.extra]
    assert len(customers) == 3 and fetch.notes == []


def test_search_cursor_older_than_seven_days_restarts_at_the_window(api, client):
    api.get(SEARCH_URL, json=body("northwind_empty_page"))
    stale = "1578516295611748353"  # October 2022

    fetch = XSearchSource(SEARCH, BRAND, client).fetch(SourceState(cursor=stale), now=NOW)

    q = query(api.calls[0])
    assert "since_id" not in q
    assert q["start_time"] == (NOW - SEARCH_WINDOW + SEARCH_WINDOW_MARGIN).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert fetch.state.cursor == stale
    assert fetch.notes and "older than recent search's 7 days" in fetch.notes[0]


def test_recorded_search(api, client):
    page, headers = recorded("test_client_search_recent_tweets")
    api.get(SEARCH_URL, json=page, headers=headers)
    spec = SourceSpec(id="x-tweepy", type="x_search", query="Tweepy", every="5m")

    fetch = XSearchSource(spec, BRAND, client, max_pages=1).fetch(
        SourceState(cursor="1578511000000000000"), now=datetime(2022, 10, 8, tzinfo=UTC))

    assert fetch.reads == 10 and len(fetch.mentions) == 10
    assert not any(m.mentions_brand for m in fetch.mentions)
    assert fetch.state.cursor == "1578516068309794817"
    # The bot that posted these wrote its clock into the text; the id's time agrees.
    newest = fetch.mentions[-1]
    assert newest.text == "2022-10-07 22:42:12.637103 tweepy"
    assert timedelta(0) < newest.created_at - datetime(2022, 10, 7, 22, 42, 12, 637103,
                                                        tzinfo=UTC) < timedelta(seconds=1)


# --- mentions_brand, retweets, own posts (pure) ---------------------------------------------

def _tweet(text: str, **fields: Any) -> dict[str, Any]:
    return {"id": "1853719169070026937", "text": text, "author_id": "2911000005", **fields}


@pytest.mark.parametrize(("tweet", "expected"), [
    (_tweet("hi there", entities={"mentions": [{"start": 0, "end": 13,
                                                "username": "NORTHWINDAIR"}]}), True),
    (_tweet("hi", entities={"mentions": [{"start": 0, "end": 13, "id": BRAND_ID}]}), True),
    (_tweet("Thanks @NorthwindAir!"), True),
    (_tweet("(@northwindair) thanks"), True),
    (_tweet("@NorthwindAirFan great photo"), False),
    (_tweet("write to ops@NorthwindAir.com"), False),
    (_tweet("Northwind Air lost my bag"), False),
    (_tweet("thanks, sorted", in_reply_to_user_id=BRAND_ID,
            referenced_tweets=[{"type": "replied_to", "id": B1}]), True),
    (_tweet("thanks, sorted", in_reply_to_user_id="2911000004",
            referenced_tweets=[{"type": "replied_to", "id": "1853709387953082405"}]), False),
    (_tweet("so true https://t.co/x", referenced_tweets=[{"type": "quoted", "id": B1}],
            entities={"urls": [{"start": 8, "end": 21, "url": "https://t.co/x",
                                "expanded_url": f"https://x.com/NorthwindAir/status/{B1}"}]}),
     True),
    (_tweet("so true https://t.co/x", referenced_tweets=[{"type": "quoted", "id": "42"}],
            entities={"urls": [{"start": 8, "end": 21, "url": "https://t.co/x",
                                "expanded_url": "https://x.com/priyaflies/status/42"}]}),
     False),
])
def test_mentions_brand(tweet, expected):
    brand = BrandMatcher("NorthwindAir", BRAND_ID)
    [mention] = normalise_page({"data": [tweet]}, brand=brand, source_id="x-search")
    assert mention.mentions_brand is expected


def test_quote_of_a_brand_post_from_expanded_referenced_tweets():
    page = {"data": [_tweet("so true", referenced_tweets=[{"type": "quoted", "id": B1}])],
            "includes": {"tweets": [{"id": B1, "text": "We're sorry", "author_id": BRAND_ID}]}}
    [m] = normalise_page(page, brand=BrandMatcher("NorthwindAir", BRAND_ID), source_id=None)
    assert m.mentions_brand


def test_retweets_and_own_posts_are_skipped():
    page = {
        "data": [
            _tweet("RT @priyaflies: Three hours", referenced_tweets=[
                {"type": "retweeted", "id": "1853709387953082405"}]),
            {"id": "2", "text": "Our update", "author_id": BRAND_ID},  # by id (renamed handle)
            {"id": "3", "text": "Our update", "author_id": "77"},
            {"id": "4", "text": "@NorthwindAir help", "author_id": "2911000005"},
        ],
        "includes": {"users": [{"id": "77", "name": "NW", "username": "northwindair"}]},
    }
    mentions = normalise_page(page, brand=BrandMatcher("NorthwindAir", BRAND_ID), source_id=None)
    assert [m.external_id for m in mentions] == ["4"]


# --- failures ---------------------------------------------------------------------------------

def test_429_becomes_rate_limited_until_the_reset(api, client):
    observed = json.loads(FIXTURES_429.read_text(encoding="utf-8"))
    api.get(MENTIONS_URL, status=429, json=observed["body"], headers={
        "x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1730797500"})

    with pytest.raises(RateLimited) as caught:
        mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)

    assert caught.value.reset_at == datetime(2024, 11, 5, 9, 5, tzinfo=UTC)
    assert "Too Many Requests" in str(caught.value)
    assert isinstance(caught.value.__cause__, tweepy.TooManyRequests)


def test_429_without_reset_header_waits_the_window(api, client):
    observed = json.loads(FIXTURES_429.read_text(encoding="utf-8"))
    api.get(SEARCH_URL, status=429, json=observed["body"])
    with pytest.raises(RateLimited) as caught:
        XSearchSource(SEARCH, BRAND, client).fetch(SourceState(), now=NOW)
    assert caught.value.reset_at == NOW + timedelta(minutes=15)


def test_429_on_a_later_page_reports_what_was_already_read(api, client):
    observed = json.loads(FIXTURES_429.read_text(encoding="utf-8"))
    api.get(MENTIONS_URL, json=body("northwind_mentions_page1"))
    api.get(MENTIONS_URL, status=429, json=observed["body"],
            headers={"x-rate-limit-reset": "1730797500"})
    with pytest.raises(RateLimited) as caught:
        mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)
    assert caught.value.reads == 3  # billed, though the poll is repeated


def test_401_is_an_auth_error_with_x_detail(api, client):
    api.get(MENTIONS_URL, status=401, json={"title": "Unauthorized", "type": "about:blank",
                                            "status": 401, "detail": "Unauthorized"})
    with pytest.raises(SourceAuthError, match=r"\(401\): Unauthorized"):
        mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)


def test_403_is_an_auth_error_with_x_detail(api, client):
    detail = ("When authenticating requests to the Twitter API v2 endpoints, you must use keys "
              "and tokens from a Twitter developer App that is attached to a Project. You can "
              "create a project via the developer portal.")
    api.get(SEARCH_URL, status=403, json={
        "client_id": "26755202", "detail": detail,
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden", "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden"})
    with pytest.raises(SourceAuthError) as caught:
        XSearchSource(SEARCH, BRAND, client).fetch(SourceState(), now=NOW)
    assert "Client Forbidden" in str(caught.value) and detail in str(caught.value)


def test_400_bad_query_is_a_configuration_error(api, client):
    api.get(SEARCH_URL, status=400, json={"errors": [{
        "parameters": {"query": ['"northwind air" -is:retweet']},
        "message": "There were errors processing your request: Reference to invalid operator"}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was "
        "invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})
    with pytest.raises(SourceAuthError, match=r"rejected recent search \(400\)"):
        XSearchSource(SEARCH, BRAND, client).fetch(SourceState(), now=NOW)


def test_503_is_unavailable(api, client):
    api.get(MENTIONS_URL, status=503, json={"title": "Service Unavailable", "detail":
                                            "Service Unavailable", "type": "about:blank",
                                            "status": 503})
    with pytest.raises(SourceUnavailable, match=r"\(503\): Service Unavailable"):
        mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)


@pytest.mark.parametrize("error", ["ConnectTimeout", "ReadTimeout", "ConnectionError"])
def test_timeouts_and_connection_errors_are_unavailable(api, settings, error):
    # Real ones: a port that never accepts, an answer that never comes, a connection closed
    # without a status line. Short client timeouts so the first two take a fraction of a second.
    with unanswered_port() as port:
        url = f"http://127.0.0.1:{port}" if error == "ConnectTimeout" else api.url
        client = build_x_client(settings(X_BEARER_TOKEN=BEARER).model_copy(
            update={"X_API_URL": url}), timeout=(0.3, 0.3))
        if error != "ConnectTimeout":
            api.get(MENTIONS_URL, stall=error == "ReadTimeout", drop=error == "ConnectionError")
        with pytest.raises(SourceUnavailable, match=rf"failed: {error}: "):
            mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)


def test_a_non_json_body_is_unavailable(api, client):
    api.get(MENTIONS_URL, body="<html>upstream connect error</html>", status=200)
    with pytest.raises(SourceUnavailable):
        mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)


# --- the client ---------------------------------------------------------------------------------

def test_every_request_has_a_timeout(api, client, settings):
    # tweepy passes no timeout: the client's session gives its own, REQUEST_TIMEOUT unless
    # told otherwise. Shown on a real stalled answer with a short one: the call ends at once.
    assert isinstance(client.session, TimeoutSession)
    assert client.session.timeout == REQUEST_TIMEOUT
    assert client.wait_on_rate_limit is False
    short = build_x_client(settings(X_BEARER_TOKEN=BEARER), timeout=(5.0, 0.2))
    api.get(MENTIONS_URL, stall=True)
    with pytest.raises(SourceUnavailable, match="ReadTimeout"):
        mentions_source(short, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)


def test_bearer_client_also_carries_user_keys(settings):
    client = build_x_client(settings(X_BEARER_TOKEN=BEARER, **USER_KEYS))
    assert client.bearer_token == BEARER
    assert client.consumer_key == USER_KEYS["X_API_KEY"]
    assert client.access_token_secret == USER_KEYS["X_ACCESS_TOKEN_SECRET"]


def test_user_keys_alone_sign_requests_with_oauth1(api, settings):
    client = build_x_client(settings(**USER_KEYS))
    assert client.bearer_token is None
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))
    mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)
    auth = api.calls[0].request.headers["Authorization"]
    auth = auth.decode() if isinstance(auth, bytes) else auth
    assert auth.startswith("OAuth ") and 'oauth_consumer_key="fakeConsumerKey0123456789"' in auth


def test_missing_credentials_are_named(settings):
    with pytest.raises(SourceAuthError) as caught:
        build_x_client(settings(X_API_KEY="k" * 20, X_ACCESS_TOKEN="t" * 20))
    message = str(caught.value)
    assert "X_BEARER_TOKEN" in message
    assert "missing: X_BEARER_TOKEN, X_API_SECRET, X_ACCESS_TOKEN_SECRET" in message


# --- secrets stay out of the logs --------------------------------------------------------------

def test_debug_logs_never_show_the_bearer_token(api, client, caplog):
    caplog.set_level(logging.DEBUG)
    api.get(MENTIONS_URL, json=body("northwind_mentions_page2"))
    mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)

    requests_logged = [r for r in caplog.records if r.name == "tweepy.client"
                       and "Making API request" in r.getMessage()]
    assert requests_logged, "tweepy logged no request at DEBUG: the test proves nothing"
    assert BEARER not in caplog.text
    assert "'Authorization': '[REDACTED]'}" in caplog.text


def test_debug_logs_never_show_oauth1_values(api, settings, caplog):
    caplog.set_level(logging.DEBUG)
    client = build_x_client(settings(**USER_KEYS))
    api.get(MENTIONS_URL, json=body("northwind_empty_page"))
    mentions_source(client, brand_user_id=BRAND_ID).fetch(SourceState(), now=NOW)

    assert any(r.name.startswith(("requests_oauthlib", "oauthlib")) for r in caplog.records)
    for value in USER_KEYS.values():
        assert value not in caplog.text
    # The signature's value never shows: neither as a parameter nor in the header.
    assert re.search(r"oauth_signature['\"]?\s*(?:=|,|%3D)\s*['\"]?(?!\[REDACTED)\w",
                     caplog.text) is None


def test_redact_patterns():
    assert redact("Headers: {'User-Agent': 'x', 'Authorization': 'Bearer AAAA%2Bb%3Dc'}") == (
        "Headers: {'User-Agent': 'x', 'Authorization': '[REDACTED]'}")
    header = ('OAuth oauth_nonce="123", oauth_signature_method="HMAC-SHA1", '
              'oauth_consumer_key="ck", oauth_token="1-tok", oauth_signature="a%2Bb%3D"')
    cleaned = redact(header)
    assert "ck" not in cleaned.replace("oauth_consumer_key", "") and "1-tok" not in cleaned
    assert 'oauth_signature="[REDACTED]"' in cleaned
    assert redact("GET /x?oauth_token=1-tok&a=b") == "GET /x?oauth_token=[REDACTED]&a=b"
    assert "ck" not in redact("base string: GET&https%3A%2F%2Fapi&oauth_consumer_key%3Dck%26a")
    assert redact("Collected params: [('oauth_token', '1-tok')]") == (
        "Collected params: [('oauth_token', '[REDACTED]')]")
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: [REDACTED]"
    assert redact("nothing secret here") == "nothing secret here"


def test_filter_rewrites_records_with_args_and_registered_secrets(client):
    # build_x_client registered the bearer value itself, so it goes even without "Bearer ".
    record = logging.LogRecord("tweepy.client", logging.DEBUG, __file__, 1,
                               "token=%s and %s", (BEARER, "Bearer abc.def"), None)
    assert REDACTOR.filter(record) is True
    assert record.getMessage() == "token=[REDACTED] and Bearer [REDACTED]"
    assert REDACTOR in logging.getLogger("tweepy.client").filters
    assert REDACTOR in logging.getLogger("requests_oauthlib.oauth1_auth").filters


def test_the_brands_own_replies_are_kept_flagged_for_their_conversation():
    """A colleague answering in the X app: ingest shows it in the card's thread as answered
    outside socialbot (or drops it when it answers nothing the desk holds)."""
    page = {"data": [
        {"id": "5", "text": "@priyaflies found it!", "author_id": BRAND_ID,
         "referenced_tweets": [{"type": "replied_to", "id": "4"}], "conversation_id": "4"},
        {"id": "6", "text": "Our update", "author_id": BRAND_ID}]}
    mentions = normalise_page(page, brand=BrandMatcher("NorthwindAir", BRAND_ID), source_id=None)
    assert [(m.external_id, m.extra.get("by_brand"), m.in_reply_to_id) for m in mentions] == [
        ("5", "1", "4")]
