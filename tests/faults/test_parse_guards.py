"""A post the parser refuses beside a good one, on every network past X, Mastodon, Bluesky and
RSS (issue 18, break 3): Reddit, YouTube, Google Play, Facebook, Instagram, Threads and the
App Store. Before, such a post raised out of the adapter at every poll (nothing after it
stored, the cursor stuck, the source backing off for ever) or was dropped without a trace
(a comment without a time read as "older than the cursor" even ended the paging). Now it is
quarantined (kept raw, counted, shown by `check --live`), the good post of the same page is
stored and the cursor moves. Each network's real client against its fake over HTTP, polled
through `poll_source` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.source import AppStoreSource
from bot.networks.base import Source
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.source import GooglePlaySource
from bot.networks.instagram.source import InstagramSource
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.source import RedditMentionsSource
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.source import YouTubeCommentsSource
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_app_store import APP_ID, FakeAppStore, review
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay, play_body
from tests.support.fake_meta import IG_USER_ID, PAGE_ID, FakeMeta
from tests.support.fake_reddit import BRAND as REDDIT_ACCOUNT
from tests.support.fake_reddit import FakeReddit
from tests.support.fake_threads import FakeThreads
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.fault_scenarios import RULES

NOW = datetime.now(UTC).replace(microsecond=0)  # the fakes date their items by the real clock
T0 = NOW.timestamp() - 600
BRAND = Brand(name="Acme Bank", reddit_username=REDDIT_ACCOUNT)


# Each: (the source, the fake to stop) after one good post and one the parser must refuse.
def reddit() -> tuple[Source, Any]:
    fake = FakeReddit().start()
    fake.mention("c1", "ana", f"u/{REDDIT_ACCOUNT} my bag never arrived", T0)
    bad = fake.mention("c2", "ben", f"u/{REDDIT_ACCOUNT} hello", T0 + 60)
    bad["created_utc"] = "yesterday"  # not epoch seconds
    window = RateWindow()
    spec = SourceSpec(id="reddit-mentions", type="reddit_mentions")
    return RedditMentionsSource(spec, BRAND, build_reddit(
        fake.settings(), account=REDDIT_ACCOUNT, window=window), window), fake


def youtube() -> tuple[Source, Any]:
    fake = FakeYouTube().start()
    fake.thread("t1", "ana", "my card was declined twice", T0)
    bad = fake.thread("t2", "ben", "hello", T0 + 60)
    bad["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = "yesterday"
    spec = SourceSpec(id="yt", type="youtube_comments", channel_id=CHANNEL)
    return YouTubeCommentsSource(spec, BRAND, build_youtube(fake.settings())), fake


def google_play() -> tuple[Source, Any]:
    fake = FakeGooglePlay().start()
    good = play_body("reviews_list")["reviews"][0]
    good["comments"][0]["userComment"]["lastModified"] = {"seconds": str(int(T0))}
    fake.add(good, {"reviewId": "bad-1", "authorName": "Eve",
                    "comments": [{"userComment": "not an object"}]})
    spec = SourceSpec(id="play", type="google_play_reviews", package=PACKAGE)
    return GooglePlaySource(spec, BRAND, PlayApi(fake.settings())), fake


def app_store() -> tuple[Source, Any]:
    fake = FakeAppStore(clock=time.time).start()
    fake.add(review("r1", rating=1, body="The app logs me out", created=T0),
             {"type": "customerReviews", "id": "bad-1", "attributes": "not an object"})
    spec = SourceSpec(id="ios", type="app_store_reviews", app_id=APP_ID)
    return AppStoreSource(spec, BRAND, AscApi(fake.settings())), fake


def facebook() -> tuple[Source, Any]:
    fake = FakeMeta().start()
    fake.post("1", "Where is my refund?", T0, by=("6201234567890123", "Dana Whitfield"))
    fake.posts.insert(0, {"id": f"{PAGE_ID}_2", "message": "hello", "created_time": "yesterday",
                          "updated_time": "yesterday", "from": {"id": "7", "name": "Eve"}})
    spec = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID)
    return FacebookPageSource(spec, BRAND, build_graph(fake.settings())), fake


def instagram() -> tuple[Source, Any]:
    fake = FakeMeta().start()
    fake.ig_post("17900000000000001", "@acmebank my card is blocked", T0, by="dana.w")
    fake.ig_tags.insert(0, {"id": "17900000000000002", "caption": "hello",
                            "timestamp": "yesterday", "username": "eve"})
    spec = SourceSpec(id="ig", type="instagram", ig_user_id=IG_USER_ID)
    return InstagramSource(spec, BRAND, build_graph(fake.settings())), fake


def threads() -> tuple[Source, Any]:
    fake = FakeThreads().start()
    fake.post("18000000000000001", "dana.w", "@acmebank my card is blocked", T0,
              mentions_us=True)
    fake.posts.insert(0, {"id": "18000000000000002", "username": "eve", "text": "hello",
                          "timestamp": "yesterday", "media_type": "TEXT_POST",
                          "_mentions_us": True})
    spec = SourceSpec(id="threads", type="threads_mentions")
    return ThreadsSource(spec, BRAND, build_threads(fake.settings())), fake


NETWORKS: dict[str, Callable[[], tuple[Source, Any]]] = {
    "reddit": reddit, "youtube": youtube, "google_play": google_play, "app_store": app_store,
    "facebook": facebook, "instagram": instagram, "threads": threads}


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[Source]:
    source, fake = NETWORKS[request.param]()
    yield source
    fake.stop()


@pytest.mark.parametrize("world", list(NETWORKS), indirect=True)
def test_a_post_the_parser_refuses_is_quarantined_and_the_page_stored(engine, world):
    source = world
    factory = make_session_factory(engine)
    rules = RULES.model_copy(update={"sources": [*RULES.sources, source.spec]})
    outcome = poll_source(factory, source, rules, clock=Clock(NOW))
    fault_figures.tried("hostile inputs")
    assert (outcome.status, outcome.new, outcome.quarantined) == ("ok", 1, 1), outcome
    with session_scope(factory) as s:
        stored = s.scalars(select(models.Mention)).all()
        assert fault_figures.invariant("mentions lost", 1 - len(stored)) == 0
        q = s.scalars(select(models.QuarantinedPost)).one()
        assert (q.stage, q.source_id) == ("parse", source.spec.id)
        assert q.raw and q.reason
        assert s.get(models.Source, source.spec.id).cursor is not None  # the cursor moved
    # The next poll is not blocked by it either.
    again = poll_source(factory, source, rules, clock=Clock(NOW.replace(hour=(NOW.hour + 1) % 24)))
    assert again.status in ("ok", "skipped"), again
