"""Sending replies exactly once (bot.desk.send, bot.desk.amplify) on a real database, through the real clients.

X: tweepy (the 201 body of POST /2/tweets recorded by tweepy's own suite) and Mastodon:
Mastodon.py (the recorded reply of Mastodon.py's suite), both over real HTTP to a scripted local
server (tests/support/scripted_http.py: `X_API_URL` and the instance URL); Bluesky: the
atproto client over real HTTP to a fake PDS (tests/support/fake_bluesky.py), bodies after the
lexicons. Every test runs on SQLite
and, when TEST_DATABASE_URL is set, on PostgreSQL. No network, no sleeping: the clock is `NOW`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.app import Runtime
from bot.config import Settings
from bot.desk.amplify import AlreadyDone, AmplifyFailed, amplify
from bot.desk.directory import StaticDirectory
from bot.desk.send import DuplicateSend, PolicyRefused, deliver, reconcile, start_send
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory
from bot.listening.ingest import source_row, store_mentions
from bot.listening.registry import build_sources
from bot.networks.base import PublishError, SourceState, Target
from bot.networks.bluesky.publisher import BlueskyPublisher
from bot.networks.bluesky.source import BlueskySearchSource
from bot.networks.mastodon.client import build_mastodon
from bot.networks.mastodon.publisher import MastodonPublisher
from bot.networks.publishers import build_publishers
from bot.networks.x.client import build_x_client
from bot.networks.x.publisher import XPublisher
from tests.support.fake_bluesky import (
    BRAND as BLUESKY_BRAND,
)
from tests.support.fake_bluesky import (
    BRAND_DID,
    SEARCH,
    STALL,
    FakeBluesky,
    search_pages,
)
from tests.support.fake_bluesky import (
    session as bluesky_session,
)
from tests.support.paths import ROOT
from tests.support.scripted_http import ScriptedHTTP, unanswered_port

DATA = ROOT / "tests" / "data"
RULES = load_rules(ROOT / "routing_rules.yaml")  # brand: Northwind Air, @NorthwindAir
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=3)  # past reconcile's 2 minutes
# What the desk needs to move a mention to `sent` (bot.desk.commands.apply): rules and approvers.
DESK = {"rules": RULES, "directory": StaticDirectory({"S0CARELEADS": {"U0LEAD"}})}

# --- X -------------------------------------------------------------------------------------

API = "/2"  # X's paths; the host is the scripted server (`X_API_URL`)
BRAND_ID = "1400000000000000001"
X_KEYS = {"X_API_KEY": "fakeConsumerKey0123456789", "X_API_SECRET": "fakeConsumerSecretABCDEF",
          "X_ACCESS_TOKEN": f"{BRAND_ID}-fakeAccessTokenQwerty",
          "X_ACCESS_TOKEN_SECRET": "fakeAccessTokenSecretZxcvb"}
TWEETS = f"{API}/tweets"
TIMELINE = f"{API}/users/{BRAND_ID}/tweets"
MENTION_TWEET = "1853706321916866671"


def recorded_create() -> tuple[dict[str, Any], dict[str, str]]:
    """tweepy's recorded POST /2/tweets: 201 with {"data": {"id", "text"}}."""
    exchange = json.loads((DATA / "x_api" / "test_client_create_and_delete_tweet.json")
                          .read_text())[0]
    assert exchange["request"]["method"] == "POST"
    assert exchange["request"]["uri"] == f"https://api.twitter.com{TWEETS}"
    return exchange["response"]["json"], exchange["response"]["rate_limit"]


CREATED, CREATED_HEADERS = recorded_create()
POSTED_ID = CREATED["data"]["id"]  # 1456012973835788293


@pytest.fixture
def api() -> Iterator[ScriptedHTTP]:
    """X and the Mastodon instance: each answer once; nothing else is served."""
    with ScriptedHTTP() as server:
        yield server


def x_publisher(api: ScriptedHTTP, *, url: str = "",
                timeout: tuple[float, float] | None = None) -> XPublisher:
    settings = Settings(**X_KEYS, X_API_URL=url or api.url)
    client = build_x_client(settings) if timeout is None else build_x_client(settings,
                                                                             timeout=timeout)
    return XPublisher(client, username="NorthwindAir")


def x_created(api: ScriptedHTTP, status: int = 201) -> None:
    api.post(TWEETS, json=CREATED, status=status, headers=CREATED_HEADERS)


def x_error(api: ScriptedHTTP, status: int, detail: str, title: str = "Forbidden") -> None:
    api.post(TWEETS, status=status, json={"detail": detail, "type": "about:blank",
                                                 "title": title, "status": status})


def timeline(api: ScriptedHTTP, *posts: dict[str, Any], next_token: str | None = None) -> None:
    meta: dict[str, Any] = {"result_count": len(posts)}
    if next_token:
        meta["next_token"] = next_token
    api.get(TIMELINE, json={"data": list(posts), "meta": meta} if posts else
                  {"meta": meta})


def our_reply(post_id: str = POSTED_ID, to: str = MENTION_TWEET) -> dict[str, Any]:
    return {"id": post_id, "text": "@ana_travels Sorry about that, DM us your booking ref",
            "created_at": "2026-11-23T10:00:01.000Z", "in_reply_to_user_id": "1400000000000000777",
            "referenced_tweets": [{"type": "replied_to", "id": to}],
            "edit_history_tweet_ids": [post_id]}


def posts_to(api: ScriptedHTTP, path: str) -> list[Any]:
    return [c for c in api.calls if c.request.method == "POST" and c.request.path == path]


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# --- database helpers ----------------------------------------------------------------------

@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def desk(session, make_mention):
    """`desk(network, text, **mention)`: a committed mention in `approved` with a draft."""

    def make(network: str = "x", text: str = "Sorry about that! Please DM us your booking ref.",
             **overrides: Any) -> tuple[int, int]:
        values: dict[str, Any] = {"network": network, "status": "approved", "version": 4,
                                  "mentions_brand": True, "team": "care",
                                  "claimed_by": "U0AGENT"}
        if network == "x":
            values |= {"external_id": MENTION_TWEET,
                       "url": f"https://x.com/ana_travels/status/{MENTION_TWEET}"}
        mention = make_mention(**(values | overrides))
        draft = models.Draft(mention_id=mention.id, text=text, author="U0AGENT", created_at=NOW)
        session.add(draft)
        session.commit()
        return mention.id, draft.id

    return make


def begin_send(factory, mention_id: int, draft_id: int, *, by: str = "U0AGENT",
               now: datetime = NOW) -> int:
    """What the desk's Send does first: the intent, committed before any network call."""
    with factory() as s, s.begin():
        reply = start_send(s, s.get(models.Mention, mention_id), s.get(models.Draft, draft_id),
                           by, now, rules=RULES)
        return reply.id


def send(factory, mention_id: int, draft_id: int, publisher: Any,
         now: datetime = NOW) -> models.Reply:
    """The desk's Send: the intent, committed, then the one network call."""
    return deliver(factory, begin_send(factory, mention_id, draft_id, now=now), publisher, now,
                   **DESK)


def settle(factory, publishers: dict[str, Any], now: datetime) -> list[Any]:
    return reconcile(factory, publishers, now, **DESK)


def reply_row(factory, reply_id: int) -> models.Reply:
    with factory() as s:
        return s.get(models.Reply, reply_id)


def mention_row(factory, mention_id: int) -> models.Mention:
    with factory() as s:
        return s.get(models.Mention, mention_id)


def count(factory, model) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def audit(factory, mention_id: int) -> list[models.AuditEvent]:
    with factory() as s:
        return list(s.scalars(select(models.AuditEvent).where(
            models.AuditEvent.mention_id == mention_id).order_by(models.AuditEvent.id)))


# --- X: the happy path -----------------------------------------------------------------------

def test_x_reply_is_posted_once_and_recorded(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_created(api)

    reply_id = begin_send(factory, mention_id, draft_id)
    assert reply_row(factory, reply_id).state == "sending"  # committed before the call
    reply = deliver(factory, reply_id, x_publisher(api), NOW, **DESK)

    [call] = posts_to(api, TWEETS)
    assert json.loads(call.request.body) == {
        "text": "Sorry about that! Please DM us your booking ref.",
        "reply": {"in_reply_to_tweet_id": MENTION_TWEET}}
    assert call.request.headers["Authorization"].startswith("OAuth ")  # the brand's user keys
    assert reply.state == "sent" and reply.error is None
    assert reply.network_id == POSTED_ID
    assert reply.url == f"https://x.com/NorthwindAir/status/{POSTED_ID}"
    assert reply.sent_at == NOW and reply.sent_by == "U0AGENT"
    assert reply.idempotency_key == f"reply:{draft_id}"
    mention = mention_row(factory, mention_id)
    assert (mention.status, mention.version) == ("sent", 5)  # through bot.desk.commands.apply
    [event] = audit(factory, mention_id)
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "send", "U0AGENT", "approved", "sent")
    assert event.detail == {"reply_id": reply.id, "network_id": POSTED_ID, "url": reply.url}


def test_double_click_makes_one_reply_and_one_post(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_created(api)

    first = begin_send(factory, mention_id, draft_id)
    with pytest.raises(DuplicateSend, match=r"This reply is being sent \(by <@U0AGENT>\)\.") \
            as caught:
        begin_send(factory, mention_id, draft_id, by="U0OTHER")
    assert caught.value.reply_id == first and caught.value.state == "sending"
    deliver(factory, first, x_publisher(api), NOW, **DESK)
    deliver(factory, first, x_publisher(api), NOW, **DESK)  # a retried job: nothing left to do
    with pytest.raises(DuplicateSend, match="was already sent"):
        begin_send(factory, mention_id, draft_id)

    assert count(factory, models.Reply) == 1
    assert len(posts_to(api, TWEETS)) == 1


def test_simultaneous_sends_have_one_winner(factory, desk, backend):
    mention_id, draft_id = desk("x")
    barrier = threading.Barrier(4)
    results: list[object] = []

    def click(user: str) -> None:
        barrier.wait()
        try:
            results.append(begin_send(factory, mention_id, draft_id, by=user))
        except (DuplicateSend, OperationalError) as exc:  # SQLite: "database is locked"
            results.append(exc)

    threads = [threading.Thread(target=click, args=(f"U0CLICK{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    winners = [r for r in results if isinstance(r, int)]
    assert len(results) == 4 and len(winners) == 1
    assert count(factory, models.Reply) == 1
    if backend == "postgres":  # row locks make every loser see the winner's row
        assert all(isinstance(r, DuplicateSend) for r in results if r not in winners)


# --- policy first ----------------------------------------------------------------------------

def test_x_post_that_does_not_mention_the_brand_is_refused_before_any_call(api, factory, desk):
    mention_id, draft_id = desk("x", mentions_brand=False)
    with pytest.raises(PolicyRefused) as caught:
        begin_send(factory, mention_id, draft_id)
    [violation] = caught.value.violations
    assert violation.message.startswith("X only allows replies to posts that mention "
                                        "@NorthwindAir")
    assert count(factory, models.Reply) == 0
    assert len(api.calls) == 0


@pytest.mark.parametrize(("text", "code"), [
    ("We guarantee a refund", "banned_phrase"),
    ("Call Ana on 07700 900123", "personal_data"),
    ("x" * 281, "too_long"),
    ("  ", "empty"),
])
def test_policy_violations_store_nothing(factory, desk, text, code):
    mention_id, draft_id = desk("x", text=text)
    with pytest.raises(PolicyRefused) as caught:
        begin_send(factory, mention_id, draft_id)
    assert [v.code for v in caught.value.violations] == [code]
    assert count(factory, models.Reply) == 0


def test_rss_has_no_reply_channel(factory, desk):
    mention_id, draft_id = desk("rss", external_id="https://example.com/news/1")
    with pytest.raises(PolicyRefused, match="no reply channel"):
        begin_send(factory, mention_id, draft_id)


# --- X: failures -----------------------------------------------------------------------------

def test_x_refusal_fails_and_the_same_draft_can_be_sent_again(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_error(api, 403, "Reply to this conversation is not allowed because you have not been "
                 "mentioned or otherwise engaged by the author of the post you are replying to.")
    reply_id = begin_send(factory, mention_id, draft_id)
    reply = deliver(factory, reply_id, x_publisher(api), NOW, **DESK)
    assert reply.state == "failed"
    assert reply.error.startswith("rejected: X refused the reply (403): Forbidden: Reply to "
                                  "this conversation is not allowed")
    assert mention_row(factory, mention_id).status == "approved"

    api.replace("POST", TWEETS, json=CREATED, status=201)
    again = begin_send(factory, mention_id, draft_id, by="U0LEAD", now=LATER)
    assert again == reply_id  # the same row, re-armed, same key
    reply = deliver(factory, again, x_publisher(api), LATER, **DESK)
    assert (reply.state, reply.sent_by, reply.error) == ("sent", "U0LEAD", None)
    assert count(factory, models.Reply) == 1 and len(posts_to(api, TWEETS)) == 2


def test_a_reply_that_lands_after_the_mention_was_dismissed_is_still_recorded(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_created(api)
    reply_id = begin_send(factory, mention_id, draft_id)
    with factory() as s, s.begin():  # meanwhile a lead dismissed the mention
        s.get(models.Mention, mention_id).status = "closed"

    reply = deliver(factory, reply_id, x_publisher(api), NOW, **DESK)

    assert reply.state == "sent" and reply.network_id == POSTED_ID
    assert mention_row(factory, mention_id).status == "closed"
    [event] = audit(factory, mention_id)
    assert (event.action, event.from_status, event.to_status) == ("send", "closed", "closed")
    assert event.detail["note"].startswith("the reply went out but the mention stays closed")


@pytest.mark.parametrize(("answer", "state", "kind"), [
    ({"status": 429, "json": {"title": "Too Many Requests", "detail": "Too Many Requests"}},
     "failed", "unavailable"),
    ({"status": 401, "json": {"title": "Unauthorized", "detail": "Unauthorized"}},
     "failed", "auth"),
    ({"status": 503, "json": {"title": "Service Unavailable", "detail": "overloaded"}},
     "unknown", "maybe_sent"),
    # Real ones, with short client timeouts: the POST arrives and no answer ever comes (it may
    # have been posted), and a port that never accepts the connection (nothing was sent).
    ({"stall": True}, "unknown", "maybe_sent"),
    ({"connect_timeout": True}, "failed", "unavailable"),
])
def test_x_errors_map_to_failed_or_unknown(api, factory, desk, answer, state, kind):
    mention_id, draft_id = desk("x")
    with unanswered_port() as port:
        if answer.get("connect_timeout"):
            publisher = x_publisher(api, url=f"http://127.0.0.1:{port}", timeout=(0.3, 0.3))
        else:
            api.post(TWEETS, **answer)
            publisher = x_publisher(api, timeout=(0.3, 0.3))
        reply = send(factory, mention_id, draft_id, publisher)
    assert reply.state == state and reply.error.startswith(f"{kind}: ")
    assert mention_row(factory, mention_id).status == "approved"


def test_duplicate_content_is_unknown_then_reconciled_as_sent(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_error(api, 403, "You are not allowed to create a Tweet with duplicate content.")
    reply = send(factory, mention_id, draft_id, x_publisher(api))
    assert reply.state == "unknown" and "duplicate content" in reply.error

    assert settle(factory, {"x": x_publisher(api)}, NOW + timedelta(minutes=1)) == []  # too new
    other = our_reply("1859000000000000001", to="1859000000000000000")
    timeline(api, other, our_reply())
    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("unknown", "sent")
    reply = reply_row(factory, reply.id)
    assert (reply.state, reply.network_id, reply.sent_at) == ("sent", POSTED_ID, LATER)
    m = mention_row(factory, mention_id)
    assert (m.status, m.first_response_at) == ("sent", LATER)  # when it was confirmed out
    [lookup] = [c for c in api.calls if c.request.method == "GET"]
    q = query(lookup)
    assert q["start_time"][0].startswith("2026-11-23T09:59:00")  # the intent, less a minute
    assert set(q["tweet.fields"][0].split(",")) >= {"in_reply_to_user_id", "referenced_tweets"}
    assert len(posts_to(api, TWEETS)) == 1  # never retried
    assert settle(factory, {"x": x_publisher(api)}, LATER) == []  # settled


def test_duplicate_content_with_no_reply_found_is_failed(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_error(api, 403, "You are not allowed to create a Tweet with duplicate content.")
    reply = send(factory, mention_id, draft_id, x_publisher(api))
    timeline(api, our_reply("1859000000000000001", to="1859000000000000000"))

    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("unknown", "failed")
    error = reply_row(factory, reply.id).error
    assert error.startswith(f"not posted: no reply to post {MENTION_TWEET} among the brand's 1 "
                            "posts since 2026-11-23 10:00Z")
    assert "duplicate content" in error  # the first attempt's reason is kept
    assert len(posts_to(api, TWEETS)) == 1


def test_an_incomplete_lookup_stays_unknown(api, factory, desk):
    mention_id, draft_id = desk("x")
    api.post(TWEETS, status=502, json={"title": "Bad Gateway"})
    reply = send(factory, mention_id, draft_id, x_publisher(api))
    for n in range(5):  # the brand posted a lot: five full pages, and more behind them
        timeline(api, our_reply(f"18590000000000001{n:02d}", to="1"),
                 next_token=f"page{n + 1}")

    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("unknown", "unknown")
    assert reply_row(factory, reply.id).error.startswith("still unsure: more than 5 posts")


class CrashAfterCall:
    """The process dies right after the network answered: the publisher's result is lost."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.network = inner.network
        self.retry_window = inner.retry_window

    def reply(self, target: Target, text: str, key: str) -> Any:
        self.inner.reply(target, text, key)
        raise KeyboardInterrupt("killed")


def test_crash_after_the_call_is_unknown_then_found_and_never_resent(api, factory, desk):
    mention_id, draft_id = desk("x")
    x_created(api)
    reply_id = begin_send(factory, mention_id, draft_id)
    with pytest.raises(KeyboardInterrupt):
        deliver(factory, reply_id, CrashAfterCall(x_publisher(api)), NOW, **DESK)
    assert reply_row(factory, reply_id).state == "unknown"

    timeline(api, our_reply())
    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("unknown", "sent")
    assert reply_row(factory, reply_id).network_id == POSTED_ID
    assert len(posts_to(api, TWEETS)) == 1


def test_crash_before_anything_is_recorded_leaves_sending_which_reconcile_settles(
        api, factory, desk, monkeypatch):
    mention_id, draft_id = desk("x")
    x_created(api)
    reply_id = begin_send(factory, mention_id, draft_id)

    # The network posts, then the power goes: no session opens after the call.
    power = {"on": True}

    def sessions_while_powered() -> Any:
        if not power["on"]:
            raise SystemExit("power cut")
        return factory()

    publisher = x_publisher(api)
    post = publisher.reply

    def post_then_power_cut(*args: Any) -> Any:
        published = post(*args)
        power["on"] = False
        return published

    monkeypatch.setattr(publisher, "reply", post_then_power_cut)
    with pytest.raises(SystemExit):
        deliver(sessions_while_powered, reply_id, publisher, NOW, **DESK)
    monkeypatch.undo()
    assert reply_row(factory, reply_id).state == "sending"  # the network did post it

    timeline(api, our_reply())
    assert settle(factory, {"x": x_publisher(api)}, NOW + timedelta(seconds=90)) == []
    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("sending", "sent")
    assert mention_row(factory, mention_id).status == "sent"
    assert len(posts_to(api, TWEETS)) == 1


def test_crash_before_the_call_is_failed_and_can_be_sent_again(api, factory, desk):
    mention_id, draft_id = desk("x")
    reply_id = begin_send(factory, mention_id, draft_id)  # …and the process died here
    timeline(api)  # the brand posted nothing since

    [done] = settle(factory, {"x": x_publisher(api)}, LATER)

    assert (done.before, done.after) == ("sending", "failed")
    x_created(api)
    assert begin_send(factory, mention_id, draft_id, now=LATER) == reply_id
    assert deliver(factory, reply_id, x_publisher(api), LATER, **DESK).state == "sent"
    assert len(posts_to(api, TWEETS)) == 1


def test_x_like_and_repost_are_audited_once(api, factory, desk):
    mention_id, _ = desk("x")
    api.post(f"{API}/users/{BRAND_ID}/likes", json={"data": {"liked": True}})
    api.post(f"{API}/users/{BRAND_ID}/retweets", json={"data": {"retweeted": True}})

    event = amplify(factory, mention_id, x_publisher(api), "like", "U0AGENT", NOW)
    assert (event.action, event.actor, event.from_status) == ("like", "U0AGENT", "approved")
    with pytest.raises(AlreadyDone, match="Already liked by <@U0AGENT>"):
        amplify(factory, mention_id, x_publisher(api), "like", "U0OTHER", NOW)
    amplify(factory, mention_id, x_publisher(api), "repost", "U0AGENT", NOW)

    [like] = posts_to(api, f"{API}/users/{BRAND_ID}/likes")
    assert json.loads(like.request.body) == {"tweet_id": MENTION_TWEET}
    assert len(posts_to(api, f"{API}/users/{BRAND_ID}/retweets")) == 1
    assert [e.action for e in audit(factory, mention_id)] == ["like", "repost"]


def test_a_failed_like_is_not_audited(api, factory, desk):
    mention_id, _ = desk("x")
    api.post(f"{API}/users/{BRAND_ID}/likes", status=429, json={"title": "Too Many"})
    with pytest.raises(AmplifyFailed, match=r"^Couldn't like it on X: X rate limit reached "
                       r"\(429\): Too Many\. Try again later\.$") as caught:
        amplify(factory, mention_id, x_publisher(api), "like", "U0AGENT", NOW)
    assert caught.value.kind == "unavailable"
    assert audit(factory, mention_id) == []


def test_publishers_are_built_for_the_networks_with_write_credentials(monkeypatch):
    for name in ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, **X_KEYS, MASTODON_API_BASE_URL=BASE,
                        MASTODON_ACCESS_TOKEN="__MASTODON_PY_TEST_ACCESS_TOKEN")
    built = build_publishers(settings, RULES.brand, bluesky=None)
    assert sorted(built) == ["mastodon", "x"]
    assert built["x"].username == "NorthwindAir"
    bearer_only = Settings(_env_file=None, X_BEARER_TOKEN="AAAAAAAAAAAAAAAAAAAAAFakeBearer123")
    assert build_publishers(bearer_only, RULES.brand, bluesky=None) == {}  # cannot post


def test_x_publisher_needs_user_keys():
    bearer_only = build_x_client(Settings(X_BEARER_TOKEN="AAAAAAAAAAAAAAAAAAAAAFakeBearer123"))
    with pytest.raises(PublishError, match="X_API_KEY") as caught:
        XPublisher(bearer_only, username="NorthwindAir")
    assert caught.value.kind == "auth"


# --- Mastodon --------------------------------------------------------------------------------

BASE = "http://localhost:3000"  # where Mastodon.py's suite recorded (its bodies' URLs say so)
STATUSES = "/api/v1/statuses"


def mastodon_recorded(method: str, uri: str, *, body_contains: str = "") -> dict[str, Any]:
    for interaction in json.loads((DATA / "mastodon" / "test_status_reply.json").read_text()):
        request = interaction["request"]
        if request["method"] == method and request["uri"] == uri \
                and body_contains in (request["body"] or ""):
            return interaction["response"]
    raise KeyError(f"no {method} {uri}")


M_REPLY = mastodon_recorded("POST", f"{BASE}{STATUSES}", body_contains="in_reply_to_id")
M_ME = mastodon_recorded("GET", f"{BASE}/api/v1/accounts/verify_credentials")
M_MENTION = M_REPLY["json"]["in_reply_to_id"]  # 117020583245459824


def mastodon_publisher(api: ScriptedHTTP) -> MastodonPublisher:
    return MastodonPublisher(build_mastodon(Settings(
        MASTODON_API_BASE_URL=api.url, MASTODON_ACCESS_TOKEN="__MASTODON_PY_TEST_ACCESS_TOKEN"),
        timeout=5))


def mastodon_desk(desk, **kw: Any) -> tuple[int, int]:
    extra = {"notification_id": "21", "visibility": kw.pop("visibility", "public")}
    return desk("mastodon", text="@mastodonpy_test_2 same!", external_id=M_MENTION,
                url=f"{BASE}/@mastodonpy_test_2/{M_MENTION}", extra=extra, **kw)


def form(call: Any) -> dict[str, list[str]]:
    return parse_qs(call.request.body.decode(), keep_blank_values=True)


def test_mastodon_reply_carries_the_idempotency_key(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk)
    api.post(STATUSES, json=M_REPLY["json"], headers=M_REPLY["headers"])

    reply = send(factory, mention_id, draft_id, mastodon_publisher(api))

    [call] = posts_to(api, STATUSES)
    assert call.request.headers["Idempotency-Key"] == f"reply:{draft_id}"
    assert form(call)["status"] == ["@mastodonpy_test_2 same!"]
    assert form(call)["in_reply_to_id"] == [M_MENTION]
    assert form(call)["visibility"] == ["public"]
    assert reply.state == "sent" and reply.network_id == "117020583258292382"
    assert reply.url == f"{BASE}/@admin/117020583258292382"
    assert mention_row(factory, mention_id).status == "sent"


def test_mastodon_reply_never_widens_a_direct_mention(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk, visibility="direct")
    api.post(STATUSES, json=M_REPLY["json"])
    send(factory, mention_id, draft_id, mastodon_publisher(api))
    [call] = posts_to(api, STATUSES)
    assert form(call)["visibility"] == ["direct"]


def test_mastodon_unknown_outcome_is_retried_with_the_same_key(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk)
    api.post(STATUSES, status=502, json={"error": "Bad Gateway"})
    reply = send(factory, mention_id, draft_id, mastodon_publisher(api))
    assert reply.state == "unknown"

    # The server made the status the first time; the same key returns that very status.
    api.replace("POST", STATUSES, json=M_REPLY["json"])
    [done] = settle(factory, {"mastodon": mastodon_publisher(api)}, LATER)

    assert (done.before, done.after, done.note) == ("unknown", "sent",
                                                     "retried with the same key")
    first, second = posts_to(api, STATUSES)
    assert first.request.headers["Idempotency-Key"] == second.request.headers[
        "Idempotency-Key"] == f"reply:{draft_id}"
    assert reply_row(factory, reply.id).network_id == "117020583258292382"


def test_mastodon_past_the_key_window_looks_in_the_replies_instead(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk)
    reply_id = begin_send(factory, mention_id, draft_id)  # died before the call, 2 hours ago
    api.get("/api/v1/accounts/verify_credentials", json=M_ME["json"])
    api.get(f"{STATUSES}/{M_MENTION}/context",
                  json={"ancestors": [], "descendants": [M_REPLY["json"]]})

    [done] = settle(factory, {"mastodon": mastodon_publisher(api)}, NOW + timedelta(hours=2))

    assert (done.before, done.after) == ("sending", "sent")
    assert reply_row(factory, reply_id).url == f"{BASE}/@admin/117020583258292382"
    assert posts_to(api, STATUSES) == []  # no retry once the server may have forgotten the key


def test_mastodon_validation_error_fails(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk)
    api.post(STATUSES, status=422,
                   json={"error": "Validation failed: Text character limit of 500 exceeded"})
    reply = send(factory, mention_id, draft_id, mastodon_publisher(api))
    assert reply.state == "failed"
    assert "character limit of 500 exceeded" in reply.error


def test_mastodon_favourite_and_boost(api, factory, desk):
    mention_id, _ = mastodon_desk(desk)
    api.post(f"{STATUSES}/{M_MENTION}/favourite", json=M_REPLY["json"])
    api.post(f"{STATUSES}/{M_MENTION}/reblog", json=M_REPLY["json"])
    amplify(factory, mention_id, mastodon_publisher(api), "like", "U0AGENT", NOW)
    amplify(factory, mention_id, mastodon_publisher(api), "repost", "U0AGENT", NOW)
    assert [e.action for e in audit(factory, mention_id)] == ["like", "repost"]


# --- Bluesky ---------------------------------------------------------------------------------

OUR_POST = f"at://{BRAND_DID}/app.bsky.feed.post/3lc3zzreply2k"
OUR_CID = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    """Bluesky over HTTP: the search pages, and a reply's record made."""
    with FakeBluesky() as server:
        search_pages(server)
        server.routes["com.atproto.repo.createRecord"] = lambda r: httpx.Response(
            200, json={"uri": OUR_POST, "cid": OUR_CID})
        yield server


def ingest_bluesky(factory, fake: FakeBluesky) -> dict[str, int]:
    """Poll the search source and store what it found, as the scheduler does."""
    got = BlueskySearchSource(SEARCH, BLUESKY_BRAND, bluesky_session(fake)).fetch(
        SourceState(), now=NOW)
    with factory() as s, s.begin():
        source_row(s, SEARCH)
        s.flush()
        store_mentions(s, got.mentions, RULES, now=NOW, source_id=SEARCH.id)
    with factory() as s:
        return {m.author.handle: m.id for m in s.scalars(select(models.Mention))}


def draft_for(factory, mention_id: int, text: str) -> int:
    with factory() as s, s.begin():
        mention = s.get(models.Mention, mention_id)
        mention.status, mention.claimed_by = "approved", "U0AGENT"
        draft = models.Draft(mention_id=mention_id, text=text, author="U0AGENT", created_at=NOW)
        s.add(draft)
        s.flush()
        return draft.id


def created_records(fake: FakeBluesky) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in fake.calls("com.atproto.repo.createRecord")]


def test_bluesky_reply_uses_root_and_parent_strong_refs(factory, fake):
    ids = ingest_bluesky(factory, fake)
    with factory() as s:  # ingest keeps the refs in mention.extra
        benoit = s.get(models.Mention, ids["benoit.example.com"])
        parent_uri, parent_cid = benoit.extra["uri"], benoit.extra["cid"]
        root_uri, root_cid = benoit.extra["root_uri"], benoit.extra["root_cid"]
    assert root_uri != parent_uri  # Benoît answered someone: the thread root is another post
    text = "Bonjour Benoît, details here: https://northwind.com/help 🙏"
    draft_id = draft_for(factory, ids["benoit.example.com"], text)

    reply = deliver(factory, begin_send(factory, ids["benoit.example.com"], draft_id),
                    BlueskyPublisher(bluesky_session(fake)), NOW, **DESK)

    assert reply.state == "sent" and reply.network_id == OUR_POST
    assert reply.url == "https://bsky.app/profile/acmebank.bsky.social/post/3lc3zzreply2k"
    [created] = created_records(fake)
    assert created["repo"] == BRAND_DID and created["collection"] == "app.bsky.feed.post"
    record = created["record"]
    assert record["text"] == text
    assert record["reply"]["parent"] == strong_ref(parent_uri, parent_cid)
    assert record["reply"]["root"] == strong_ref(root_uri, root_cid)
    [facet] = record["facets"]  # the link is clickable; offsets are UTF-8 bytes
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert text.encode()[start:end] == b"https://northwind.com/help"
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link",
                                  "uri": "https://northwind.com/help"}]


def test_bluesky_timeout_is_unknown_then_found_in_the_author_feed(factory, fake):
    ids = ingest_bluesky(factory, fake)
    ana = ids["ana-lima.bsky.social"]
    draft_id = draft_for(factory, ana, "So sorry Ana, DM us please")

    fake.routes["com.atproto.repo.createRecord"] = lambda r: STALL  # sent, never answered
    reply = deliver(factory, begin_send(factory, ana, draft_id),
                    BlueskyPublisher(bluesky_session(fake, timeout=0.3)), NOW, **DESK)
    assert reply.state == "unknown" and "timed out" in reply.error

    with factory() as s:
        ana_uri = s.get(models.Mention, ana).extra["uri"]
    fake.routes["app.bsky.feed.getAuthorFeed"] = lambda r: httpx.Response(200, json={"feed": [
        feed_post("3lc3zzother1k", "at://did:plc:someone/app.bsky.feed.post/3x", "10:00:30"),
        feed_post("3lc3zzreply2k", ana_uri, "10:00:01"),
    ]})
    [done] = settle(factory, {"bluesky": BlueskyPublisher(bluesky_session(fake))}, LATER)

    assert (done.before, done.after) == ("unknown", "sent")
    assert reply_row(factory, reply.id).network_id == OUR_POST
    [feed_call] = fake.calls("app.bsky.feed.getAuthorFeed")
    assert feed_call.url.params["actor"] == BRAND_DID
    assert feed_call.url.params["filter"] == "posts_with_replies"
    assert len(fake.calls("com.atproto.repo.createRecord")) == 1


def test_bluesky_reply_not_in_the_feed_is_failed(factory, fake):
    ids = ingest_bluesky(factory, fake)
    ana = ids["ana-lima.bsky.social"]
    reply_id = begin_send(factory, ana, draft_for(factory, ana, "So sorry Ana"))
    fake.routes["app.bsky.feed.getAuthorFeed"] = lambda r: httpx.Response(200, json={
        "feed": [feed_post("3lbz9older0k", "at://did:plc:x/app.bsky.feed.post/1", "09:30:00",
                           day="2026-11-22")],
        "cursor": "more-but-older"})

    [done] = settle(factory, {"bluesky": BlueskyPublisher(bluesky_session(fake))}, LATER)

    assert (done.before, done.after) == ("sending", "failed")
    assert reply_row(factory, reply_id).error.startswith("not posted: no reply to at://")
    assert len(fake.calls("app.bsky.feed.getAuthorFeed")) == 1  # older posts: stop paging


def test_bluesky_like_writes_a_like_record(factory, fake):
    ids = ingest_bluesky(factory, fake)
    ana = ids["ana-lima.bsky.social"]
    amplify(factory, ana, BlueskyPublisher(bluesky_session(fake)), "like", "U0AGENT", NOW)
    [created] = created_records(fake)
    with factory() as s:
        extra = s.get(models.Mention, ana).extra
    assert created["collection"] == "app.bsky.feed.like"
    assert created["record"]["subject"] == strong_ref(extra["uri"], extra["cid"])


# --- one Bluesky login for the whole bot ------------------------------------------------------

BLUESKY_KEYS = {"BLUESKY_HANDLE": "acmebank.bsky.social",
                "BLUESKY_APP_PASSWORD": "app-pass-word-1234"}


def test_runtime_gives_its_bluesky_sources_and_publisher_one_session(migrated_url):
    # createSession is rate-limited (about 100 a day): `socialbot run` must log in once, for
    # both Bluesky sources of routing_rules.yaml and the publisher, and keep that session when
    # the rules are reloaded. Nothing is started, so nothing is sent anywhere.
    slack = dict(SLACK_BOT_TOKEN="xoxb-publish", SLACK_SIGNING_SECRET="publish",
                 SLACK_API_URL="http://127.0.0.1:9/api/")
    runtime = Runtime(Settings(_env_file=None, DATABASE_URL=migrated_url, **slack,
                               **BLUESKY_KEYS), RULES)
    try:
        runtime.schedule_sources()
        runtime.schedule_sources()  # a rules reload builds the sources again
        # The scheduler is not started: it keeps the jobs of both builds.
        sources = [job.args[0] for job in runtime.scheduler.get_jobs()]
        bluesky = [s for s in sources if s.spec.type.startswith("bluesky_")]
        assert sorted(s.spec.id for s in bluesky) == ["bluesky-mentions", "bluesky-mentions",
                                                      "bluesky-search", "bluesky-search"]
        sessions = {id(s.bluesky) for s in bluesky}
        sessions.add(id(runtime.publishers["bluesky"].bluesky))
        assert sessions == {id(runtime.bluesky)}
    finally:
        runtime.stop()


def test_one_create_session_serves_the_sources_and_the_publisher(fake):
    # The sources and the publisher built as `Runtime` builds them, around one session, over
    # the fake's HTTP: polling both sources and replying logs in once.
    notifications = json.loads((DATA / "bluesky" / "list_notifications.json").read_text())
    fake.routes["app.bsky.notification.listNotifications"] = lambda r: httpx.Response(
        200, json=notifications)
    settings = Settings(_env_file=None, **BLUESKY_KEYS)
    shared = bluesky_session(fake)
    sources = [s for s in build_sources(RULES, settings, bluesky=shared).sources
               if s.spec.type.startswith("bluesky_")]
    publisher = build_publishers(settings, RULES.brand, bluesky=shared)["bluesky"]

    mentions = [m for s in sources for m in s.fetch(SourceState(), now=NOW).mentions]
    first = mentions[0]
    publisher.reply(Target(network="bluesky", external_id=first.external_id,
                           extra=first.extra), "Sorry about that, DM us please", "reply:1")

    assert len(sources) == 2 and mentions
    assert len(fake.calls("app.bsky.notification.listNotifications")) == 1
    assert len(fake.calls("app.bsky.feed.searchPosts")) == 1
    assert len(fake.calls("com.atproto.repo.createRecord")) == 1
    assert len(fake.calls("com.atproto.server.createSession")) == 1


def strong_ref(uri: str, cid: str) -> dict[str, str]:
    return {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid}


def feed_post(rkey: str, parent_uri: str, time: str, day: str = "2026-11-23") -> dict[str, Any]:
    uri = f"at://{BRAND_DID}/app.bsky.feed.post/{rkey}"
    return {"post": {
        "uri": uri, "cid": OUR_CID,
        "author": {"did": BRAND_DID, "handle": "acmebank.bsky.social"},
        "record": {"$type": "app.bsky.feed.post", "text": "…", "createdAt": f"{day}T{time}.000Z",
                   "reply": {"root": {"uri": parent_uri, "cid": OUR_CID},
                             "parent": {"uri": parent_uri, "cid": OUR_CID}}},
        "indexedAt": f"{day}T{time}.100Z"}}


# --- answering the customer's latest message (issue 13) -----------------------------------------

def follow_up(factory, mention_id: int, external_id: str, network: str,
              extra: dict[str, str]) -> int:
    """The customer wrote again: their post in the card's thread, now what a reply answers
    (as bot.listening.follow_ups leaves it)."""
    with factory() as s, s.begin():
        post = models.ThreadPost(mention_id=mention_id, network=network, external_id=external_id,
                                 role="follow_up", author_handle="customer", text="hello??",
                                 priority="P3", sentiment="neutral", ingested_at=NOW,
                                 extra=extra)
        s.add(post)
        s.flush()
        s.get(models.Mention, mention_id).reply_to_post_id = post.id
        return post.id


def test_mastodon_reply_answers_the_latest_follow_up_with_its_visibility(api, factory, desk):
    mention_id, draft_id = mastodon_desk(desk)
    post_id = follow_up(factory, mention_id, "117020583245459999", "mastodon",
                        {"visibility": "direct", "notification_id": "22"})
    api.post(STATUSES, json=M_REPLY["json"])
    reply = send(factory, mention_id, draft_id, mastodon_publisher(api))
    [call] = posts_to(api, STATUSES)
    assert form(call)["in_reply_to_id"] == ["117020583245459999"]
    assert form(call)["visibility"] == ["direct"]  # the follow-up's, never wider
    assert reply_row(factory, reply.id).thread_post_id == post_id


def test_bluesky_reply_to_a_follow_up_keeps_the_thread_root(factory, fake):
    ids = ingest_bluesky(factory, fake)
    mention_id = ids["benoit.example.com"]
    with factory() as s:
        root_uri, root_cid = (s.get(models.Mention, mention_id).extra[k]
                              for k in ("root_uri", "root_cid"))
    later = "at://did:plc:benoit/app.bsky.feed.post/3lfollowup22"
    follow_up(factory, mention_id, later, "bluesky", {
        "uri": later, "cid": "bafyfollowup", "root_uri": root_uri, "root_cid": root_cid})
    draft_id = draft_for(factory, mention_id, "Merci Benoît, it's on its way.")
    reply = deliver(factory, begin_send(factory, mention_id, draft_id),
                    BlueskyPublisher(bluesky_session(fake)), NOW, **DESK)
    assert reply.state == "sent"
    [created] = created_records(fake)
    assert created["record"]["reply"]["parent"] == strong_ref(later, "bafyfollowup")
    assert created["record"]["reply"]["root"] == strong_ref(root_uri, root_cid)
