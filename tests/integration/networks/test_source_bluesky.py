"""Bluesky sources through the real atproto Client over real HTTP to a fake PDS on 127.0.0.1
(tests/support/fake_bluesky.py: `BLUESKY_API_URL`, and a saved session's PDS). Bodies follow the lexicons
(app.bsky.feed.searchPosts, app.bsky.notification.listNotifications); no recorded Bluesky traffic
exists, so they are written by hand (see tests/data/README.md). No network, no sleeping."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.domain.rules.schema import SourceSpec
from bot.networks.base import RateLimited, SourceAuthError, SourceState, SourceUnavailable
from bot.networks.bluesky.source import BlueskyMentionsSource, BlueskySearchSource
from tests.support.fake_bluesky import (
    BRAND,
    BRAND_DID,
    DROP,
    HANDLE,
    SEARCH,
    STALL,
    FakeBluesky,
    body,
    search_pages,
    session,
    session_body,
    session_string,
)

NOW = datetime(2026, 11, 23, 9, 40, tzinfo=UTC)
MENTIONS = SourceSpec(id="bluesky-mentions", type="bluesky_mentions", every="60s")


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server


def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on: connecting is refused (a real ConnectError)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_search_posts_are_normalised(fake: FakeBluesky) -> None:
    search_pages(fake)
    saved: list[str] = []
    src = BlueskySearchSource(SEARCH, BRAND, session(fake, on_session_change=saved.append))

    got = src.fetch(SourceState(), now=NOW)

    # first poll: one page, oldest first
    assert [m.author.handle for m in got.mentions] == [
        "ana-lima.bsky.social", "benoit.example.com", "dailyfinance.bsky.social"]
    ana, ben, press = got.mentions
    assert ana.network == "bluesky" and ana.source_id == "bluesky"
    assert ana.external_id == "at://did:plc:ana3kq5lz2m7xw4vj6ytrh1c/app.bsky.feed.post/3lc2abcq7xs2k"
    assert ana.url == "https://bsky.app/profile/ana-lima.bsky.social/post/3lc2abcq7xs2k"
    assert ana.text.startswith("@acmebank.bsky.social my card was swallowed")
    assert ana.author.name == "Ana Lima"
    assert ana.author.external_id == "did:plc:ana3kq5lz2m7xw4vj6ytrh1c"
    assert ana.created_at == datetime(2026, 11, 23, 9, 5, 11, 402000, tzinfo=UTC)
    assert ana.lang == "en" and ana.mentions_brand
    assert ana.extra["uri"] == ana.external_id
    assert ana.extra["cid"] == "bafyreia4kdy7uvq5vpvhdccecg2xlnj6bxgdsi4fzb6yn2s5ir6eyegc7e"
    assert (ana.extra["root_uri"], ana.extra["root_cid"]) == (ana.extra["uri"], ana.extra["cid"])
    assert ana.in_reply_to_id is None and ana.conversation_id == ana.external_id
    # a reply keeps the thread's root and parent for the strong refs of our own reply
    root = "at://did:plc:acmebank7x2qk4vnd3hzy5o6/app.bsky.feed.post/3lbz6kmq2fs2a"
    assert ben.in_reply_to_id == root and ben.conversation_id == root
    assert ben.extra["root_uri"] == root
    assert ben.extra["root_cid"] == "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    assert ben.lang == "fr" and ben.author.name == "Benoît"
    assert not ben.mentions_brand and not press.mentions_brand
    assert got.state.cursor == "2026-11-23T09:15:02.744000Z"
    # one createSession, then the search with q / sort=latest / limit and the access token
    assert len(fake.calls("com.atproto.server.createSession")) == 1
    [search] = fake.calls("app.bsky.feed.searchPosts")
    assert search.url.params["q"] == "acme bank" and search.url.params["sort"] == "latest"
    assert search.url.params["limit"] == "100"
    assert search.headers["Authorization"].startswith("Bearer ")
    assert "socialbot" in search.headers["User-Agent"]
    assert saved and saved[0].startswith(f"{HANDLE}:::{BRAND_DID}:::")


def test_search_cursor_pages_back_dedupes_and_skips_what_was_seen(fake: FakeBluesky) -> None:
    search_pages(fake)
    src = BlueskySearchSource(SEARCH, BRAND, session(fake))

    got = src.fetch(SourceState(cursor="2026-11-23T08:00:00Z"), now=NOW)

    # page 2 repeats Ana's first post: one mention per uri; page 2's older post comes too
    uris = [m.external_id for m in got.mentions]
    assert len(uris) == len(set(uris)) == 4
    assert got.mentions[0].text.startswith("Does anyone know if acme bank")
    assert [r.url.params.get("cursor") for r in fake.calls("app.bsky.feed.searchPosts")] == [
        None, "3"]
    assert got.reads == 5

    again = src.fetch(got.state, now=NOW)
    assert again.mentions == [] and again.state == got.state
    # the first page brought nothing newer than the cursor: no second page
    assert len(fake.calls("app.bsky.feed.searchPosts")) == 3

    newer = src.fetch(SourceState(cursor="2026-11-23T09:10:00Z"), now=NOW)
    assert [m.author.handle for m in newer.mentions] == ["benoit.example.com",
                                                         "dailyfinance.bsky.social"]


def test_mentions_keep_mention_reply_and_quote_notifications(fake: FakeBluesky) -> None:
    fake.routes["app.bsky.notification.listNotifications"] = lambda r: httpx.Response(
        200, json=body("list_notifications.json"))
    src = BlueskyMentionsSource(MENTIONS, BRAND, session(fake))

    got = src.fetch(SourceState(), now=NOW)

    assert [m.extra["reason"] for m in got.mentions] == ["mention", "reply", "quote"]
    mention, reply, quote = got.mentions
    assert all(m.mentions_brand for m in got.mentions)
    assert mention.author.followers == 12840  # followersCount, when the view carries it
    assert reply.author.followers == 0
    assert reply.in_reply_to_id == "at://did:plc:acmebank7x2qk4vnd3hzy5o6/app.bsky.feed.post/3lbz6kmq2fs2a"
    assert quote.extra["reason_subject"] == reply.in_reply_to_id
    assert quote.url == "https://bsky.app/profile/dailyfinance.bsky.social/post/3lc2cqs5ya42x"
    assert got.reads == 5  # like and follow were read, then left out
    assert got.state.cursor == "2026-11-23T09:31:00.512000Z"
    [call] = fake.calls("app.bsky.notification.listNotifications")
    assert call.url.params.get_list("reasons") == ["mention", "reply", "quote"]

    again = src.fetch(got.state, now=NOW)
    assert again.mentions == []


def test_brand_own_posts_are_skipped(fake: FakeBluesky) -> None:
    page = body("search_posts_page1.json")
    page["posts"][0]["author"] = {"did": BRAND_DID, "handle": HANDLE, "displayName": "Acme Bank"}
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: httpx.Response(200, json=page)
    got = BlueskySearchSource(SEARCH, BRAND, session(fake)).fetch(SourceState(), now=NOW)
    assert len(got.mentions) == 2
    assert "1 of the brand's own posts skipped" in got.notes


def test_saved_session_is_reused_without_create_session(fake: FakeBluesky) -> None:
    search_pages(fake)
    fake.routes["app.bsky.notification.listNotifications"] = lambda r: httpx.Response(
        200, json=body("list_notifications.json"))
    saved = session_string(int(time.time()) + 7200, fake.url)
    bluesky = session(fake, session_string=saved)

    BlueskySearchSource(SEARCH, BRAND, bluesky).fetch(SourceState(), now=NOW)
    BlueskyMentionsSource(MENTIONS, BRAND, bluesky).fetch(SourceState(), now=NOW)

    assert fake.calls("com.atproto.server.createSession") == []
    assert fake.calls("com.atproto.server.refreshSession") == []
    access = saved.split(":::")[2]
    assert all(r.headers["Authorization"] == f"Bearer {access}" for r in fake.requests)
    assert bluesky.session_string == saved


def test_both_sources_share_one_created_session(fake: FakeBluesky) -> None:
    search_pages(fake)
    fake.routes["app.bsky.notification.listNotifications"] = lambda r: httpx.Response(
        200, json=body("list_notifications.json"))
    bluesky = session(fake)
    for _ in range(3):
        BlueskySearchSource(SEARCH, BRAND, bluesky).fetch(SourceState(), now=NOW)
        BlueskyMentionsSource(MENTIONS, BRAND, bluesky).fetch(SourceState(), now=NOW)
    assert len(fake.calls("com.atproto.server.createSession")) == 1


def test_expiring_access_token_is_refreshed_not_recreated(fake: FakeBluesky) -> None:
    search_pages(fake)
    refreshed = session_body()
    fake.routes["com.atproto.server.refreshSession"] = lambda r: httpx.Response(200,
                                                                                json=refreshed)
    saved: list[str] = []
    old = session_string(int(time.time()) + 60, fake.url)  # expires in a minute: atproto refreshes early
    bluesky = session(fake, session_string=old, on_session_change=saved.append)

    BlueskySearchSource(SEARCH, BRAND, bluesky).fetch(SourceState(), now=NOW)

    [refresh] = fake.calls("com.atproto.server.refreshSession")
    assert refresh.headers["Authorization"] == f"Bearer {old.split(':::')[3]}"
    assert fake.calls("com.atproto.server.createSession") == []
    [search] = fake.calls("app.bsky.feed.searchPosts")
    assert search.headers["Authorization"] == f"Bearer {refreshed['accessJwt']}"
    assert saved == [bluesky.session_string] and refreshed["accessJwt"] in saved[0]


def test_revoked_saved_session_logs_in_once_and_retries(fake: FakeBluesky) -> None:
    page = body("search_posts_page1.json")
    answers = [httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has expired"}),
               httpx.Response(200, json=page)]
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: answers.pop(0)
    bluesky = session(fake, session_string=session_string(int(time.time()) + 7200, fake.url))

    got = BlueskySearchSource(SEARCH, BRAND, bluesky).fetch(SourceState(), now=NOW)

    assert len(got.mentions) == 3
    assert len(fake.calls("com.atproto.server.createSession")) == 1
    assert len(fake.calls("app.bsky.feed.searchPosts")) == 2


def test_wrong_app_password_is_an_auth_error(fake: FakeBluesky) -> None:
    fake.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(
        401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    with pytest.raises(SourceAuthError, match="Invalid identifier or password"):
        BlueskySearchSource(SEARCH, BRAND, session(fake)).fetch(SourceState(), now=NOW)
    assert len(fake.calls("com.atproto.server.createSession")) == 1  # no retry loop


def test_rate_limit_uses_ratelimit_reset(fake: FakeBluesky) -> None:
    reset = 1_795_427_070  # 2026-11-23T09:44:30Z in epoch seconds, as Bluesky sends it
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: httpx.Response(
        429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                 "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"})
    with pytest.raises(RateLimited) as caught:
        BlueskySearchSource(SEARCH, BRAND, session(fake)).fetch(SourceState(), now=NOW)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)


def test_create_session_rate_limit_is_rate_limited(fake: FakeBluesky) -> None:
    fake.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(
        429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
    with pytest.raises(RateLimited) as caught:
        BlueskyMentionsSource(MENTIONS, BRAND, session(fake)).fetch(SourceState(), now=NOW)
    assert caught.value.reset_at > NOW


@pytest.mark.parametrize(("status", "error"), [
    (500, SourceUnavailable), (502, SourceUnavailable), (503, SourceUnavailable),
    (401, SourceAuthError), (403, SourceAuthError),
])
def test_http_errors_are_mapped(status: int, error: type[Exception], fake: FakeBluesky) -> None:
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: httpx.Response(
        status, json={"error": "InternalServerError" if status >= 500 else "Unauthorized",
                      "message": "nope"})
    with pytest.raises(error):
        BlueskySearchSource(SEARCH, BRAND, session(fake)).fetch(SourceState(), now=NOW)


@pytest.mark.parametrize("failure", ["drop", "stall", "refused"])
def test_network_failures_are_unavailable(failure: str, fake: FakeBluesky) -> None:
    """Real ones: the connection closed without an answer, no answer within the read timeout
    (0.3 s), a port nobody listens on."""
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: DROP if failure == "drop" else STALL
    saved = session_string(int(time.time()) + 7200, fake.url if failure != "refused" else
                           f"http://127.0.0.1:{closed_port()}")
    bluesky = session(fake, session_string=saved, timeout=0.3)
    with pytest.raises(SourceUnavailable):
        BlueskySearchSource(SEARCH, BRAND, bluesky).fetch(SourceState(), now=NOW)


def test_the_brands_own_reply_is_kept_flagged_for_its_conversation(fake: FakeBluesky) -> None:
    page = body("search_posts_page1.json")
    replies = [p for p in page["posts"] if (p.get("record") or {}).get("reply")]
    replies[0]["author"] = {"did": BRAND_DID, "handle": HANDLE, "displayName": "Acme Bank"}
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: httpx.Response(200, json=page)
    got = BlueskySearchSource(SEARCH, BRAND, session(fake)).fetch(SourceState(), now=NOW)
    [own] = [m for m in got.mentions if m.extra.get("by_brand") == "1"]
    assert own.in_reply_to_id and own.external_id == replies[0]["uri"]


def storm_of(fake: FakeBluesky, n: int, limit: int) -> list[str]:
    """`n` posts one second apart before NOW, served newest first `limit` a page (the cursor
    is the offset): their uris."""
    template = body("search_posts_page1.json")["posts"][0]
    posts = []
    for i in range(n):
        at = f"2026-11-23T09:{30 - i // 60:02d}:{59 - i % 60:02d}.000Z"
        post = {**template, "uri": f"{template['uri'][:-4]}{i:04d}", "indexedAt": at,
                "record": {**template["record"], "createdAt": at, "text": f"acme bank {i}"}}
        posts.append(post)

    def search(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor") or 0)
        page = posts[start:start + limit]
        more = {"cursor": str(start + limit)} if start + limit < len(posts) else {}
        return httpx.Response(200, json={"posts": page, **more})

    fake.routes["app.bsky.feed.searchPosts"] = search
    return [p["uri"] for p in posts]


def test_a_burst_past_the_cap_leaves_a_gap_the_next_polls_read(fake: FakeBluesky) -> None:
    """Issue 18: the cap used to move the cursor past what it had not read."""
    uris = storm_of(fake, 25, limit=5)
    src = BlueskySearchSource(SEARCH, BRAND, session(fake), page_limit=5, max_pages=3)
    state = SourceState(cursor="2026-11-23T09:00:00Z")  # before all 25
    seen: list[str] = []
    polls = 0
    while True:
        got = src.fetch(state, now=NOW)
        polls += 1
        seen += [m.external_id for m in got.mentions]
        state = got.state
        if not state.backfill:
            break
        assert polls < 5
    assert sorted(seen) == sorted(uris) and len(seen) == len(set(seen))  # each once, none lost
    assert polls == 2  # 15, then one page for new posts and the last two of the gap: 10
    assert state.cursor == "2026-11-23T09:30:59Z"
