"""The page-capped networks as the gap kill points replay them: each a fake over real HTTP,
the real source with a small cap (pages of 5, 2 a poll), and a way to post `i` at a time.

`killable(source, process)` puts a kill point before every page the source reads (its own
page method, the one `bot.networks.gaps.Backfill` calls): a kill there is a crash between
two pages of one poll, with the earlier pages read and nothing of them stored yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.source import AppStoreSource
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.source import GooglePlaySource
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.source import RedditMentionsSource
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.source import YouTubeCommentsSource
from tests.support.fake_app_store import APP_ID, FakeAppStore, review
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay
from tests.support.fake_reddit import BRAND as REDDIT_BRAND
from tests.support.fake_reddit import FakeReddit
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.fault_world import Process

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600
CAP = {"page_limit": 5, "max_pages": 2}
BRAND = Brand(name="Northwind Air", reddit_username=REDDIT_BRAND)


@dataclass
class Case:
    """One network: `post(i, at)` writes item i at epoch `at`; `source()` a new source (a new
    process's); `ids(n)` the external ids of items 0..n-1; `stop()`."""

    spec: SourceSpec
    page_method: str  # the source's one-page method, where the kill points go
    source: Callable[[], Any]
    post: Callable[[int, float], None]
    ids: Callable[[int], set[str]]
    stop: Callable[[], None]


def reddit() -> Case:
    fake = FakeReddit().start()
    spec = SourceSpec(id="reddit-mentions", type="reddit_mentions")

    def source() -> RedditMentionsSource:
        window = RateWindow()
        return RedditMentionsSource(spec, BRAND, build_reddit(fake.settings(), account=REDDIT_BRAND,
                                                              window=window), window, **CAP)

    return Case(spec, "_page", source,
                lambda i, at: fake.mention(f"k{i}", f"user{i % 3}", f"u/NorthwindAir help {i}", at),
                lambda n: {f"t1_k{i}" for i in range(n)}, fake.stop)


def google_play() -> Case:
    fake = FakeGooglePlay().start()
    spec = SourceSpec(id="play", type="google_play_reviews", package=PACKAGE)

    def post(i: int, at: float) -> None:
        fake.add({"reviewId": f"gp:k{i}", "authorName": f"user {i}",
                  "comments": [{"userComment": {"text": f"crashes {i}", "starRating": 1,
                                                "lastModified": {"seconds": str(int(at))}}}]})

    return Case(spec, "_page",
                lambda: GooglePlaySource(spec, BRAND, PlayApi(fake.settings()), **CAP), post,
                lambda n: {f"gp:k{i}" for i in range(n)}, fake.stop)


def app_store() -> Case:
    fake = FakeAppStore(clock=NOW.timestamp).start()
    spec = SourceSpec(id="ios", type="app_store_reviews", app_id=APP_ID)
    return Case(spec, "_reviews",
                lambda: AppStoreSource(spec, BRAND, AscApi(fake.settings(), clock=fake.clock),
                                       **CAP),
                lambda i, at: fake.add(review(f"k{i}", rating=1, body=f"crash {i}",
                                              created=at)),
                lambda n: {f"k{i}" for i in range(n)}, fake.stop)


def youtube() -> Case:
    fake = FakeYouTube().start()
    fake.clock = NOW.timestamp()
    spec = SourceSpec(id="youtube", type="youtube_comments", channel_id=CHANNEL)
    return Case(spec, "_page",
                lambda: YouTubeCommentsSource(spec, BRAND, build_youtube(fake.settings()), **CAP),
                lambda i, at: fake.thread(f"k{i:03d}", f"user{i % 3}", f"help {i}", at),
                lambda n: {f"k{i:03d}" for i in range(n)}, fake.stop)


CASES: dict[str, Callable[[], Case]] = {
    "reddit": reddit, "google_play": google_play, "app_store": app_store, "youtube": youtube}


def killable(source: Any, method: str, process: Process) -> Any:
    """`source` with a kill point before each page it reads (fault injection on the real
    source: the page is then read over HTTP as always)."""
    read = getattr(source, method)

    def page(*args: Any, **kw: Any) -> Any:
        process.point("page")
        return read(*args, **kw)

    setattr(source, method, page)
    return source
