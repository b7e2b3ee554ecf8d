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
from bot.networks.bluesky.source import BlueskySearchSource
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.source import GooglePlaySource
from bot.networks.instagram.source import InstagramSource
from bot.networks.mastodon.client import build_mastodon
from bot.networks.mastodon.source import MastodonSource
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.source import RedditMentionsSource
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.source import YouTubeCommentsSource
from tests.support.fake_app_store import APP_ID, FakeAppStore, review
from tests.support.fake_bluesky import FakeBluesky, search_posts
from tests.support.fake_bluesky import session as bluesky_session
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay
from tests.support.fake_mastodon import FakeMastodon
from tests.support.fake_meta import IG_USER_ID, PAGE_ID, FakeMeta
from tests.support.fake_reddit import BRAND as REDDIT_BRAND
from tests.support.fake_reddit import FakeReddit
from tests.support.fake_threads import FakeThreads
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.fault_world import Process

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600
CAP = {"page_limit": 5, "max_pages": 2}
BUSY_REPLIES = 6  # one more than a thread carries inline
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


def youtube_busy() -> Case:
    """Every item a new thread with more replies than YouTube shows inline: past 5 a poll,
    busy threads wait in the source's gaps (scope `replies:`). The kill points go before
    every request (`_call`): thread pages, reply pages, watched threads."""
    fake = FakeYouTube().start()
    fake.clock = NOW.timestamp()
    spec = SourceSpec(id="youtube", type="youtube_comments", channel_id=CHANNEL)

    def post(i: int, at: float) -> None:
        fake.thread(f"k{i:03d}", f"user{i % 3}", f"help {i}", at)
        for r in range(BUSY_REPLIES):
            fake.reply_in(f"k{i:03d}", f"r{r}", f"fan{r}", f"same here {r}", at + (r + 1) / 10)

    return Case(spec, "_call",
                lambda: YouTubeCommentsSource(spec, BRAND, build_youtube(fake.settings()), **CAP),
                post, lambda n: {f"k{i:03d}{reply}" for i in range(n) for reply in
                                 ["", *(f".r{r}" for r in range(BUSY_REPLIES))]}, fake.stop)


def threads() -> Case:
    fake = FakeThreads(clock=lambda: NOW.timestamp()).start()
    spec = SourceSpec(id="threads", type="threads_mentions")
    return Case(spec, "_page",
                lambda: ThreadsSource(spec, BRAND, build_threads(fake.settings(),
                                                                 clock=lambda: NOW), **CAP),
                lambda i, at: fake.post(str(7000 + i), f"user{i % 3}", f"@acme help {i}", at,
                                        mentions_us=True),
                lambda n: {str(7000 + i) for i in range(n)}, fake.stop)


def facebook() -> Case:
    fake = FakeMeta(clock=lambda: NOW.timestamp()).start()
    spec = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID)
    post = fake.post("555000000000042", "Outage update", T0 - 600)

    def comment(i: int, at: float) -> None:
        fake.comment(post, f"k{i:02d}", f"down for me {i}", at)

    return Case(spec, "_comment_page",
                lambda: FacebookPageSource(spec, BRAND, build_graph(fake.settings(),
                                                                    clock=lambda: NOW),
                                           comment_page=5, max_comment_pages=2),
                comment,
                lambda n: {f"555000000000042_k{i:02d}" for i in range(n)}, fake.stop)


def instagram() -> Case:
    fake = FakeMeta(clock=lambda: NOW.timestamp()).start()
    spec = SourceSpec(id="ig", type="instagram", ig_user_id=IG_USER_ID)
    media = fake.ig_post("17900000000000042", "New route!", T0 - 600)

    def comment(i: int, at: float) -> None:
        fake.ig_comment(media, str(18000000000000000 + i), f"when? {i}", at)

    return Case(spec, "_comment_page",
                lambda: InstagramSource(spec, BRAND, build_graph(fake.settings(),
                                                                 clock=lambda: NOW),
                                        comment_page=5, max_comment_pages=2),
                comment, lambda n: {str(18000000000000000 + i) for i in range(n)}, fake.stop)


def bluesky() -> Case:
    fake = FakeBluesky().start()
    post = search_posts(fake)
    spec = SourceSpec(id="bluesky", type="bluesky_search", query="acme bank")
    uris: dict[int, str] = {}

    def add(i: int, at: float) -> None:
        uris[i] = post(f"3lk{i:03d}", f"user{i % 3}.bsky.social", f"acme bank help {i}", at)

    return Case(spec, "_read_page",
                lambda: BlueskySearchSource(spec, BRAND, bluesky_session(fake), **CAP), add,
                lambda n: {uris[i] for i in range(n)}, fake.stop)


def mastodon() -> Case:
    fake = FakeMastodon().start()
    spec = SourceSpec(id="mastodon", type="mastodon_mentions")
    return Case(spec, "_page",
                lambda: MastodonSource(spec, BRAND, build_mastodon(fake.settings()), **CAP),
                lambda i, at: fake.mention(100 + i, str(117020577157690000 + i), f"user{i % 3}",
                                           f"@acme help {i}", at),
                lambda n: {str(117020577157690000 + i) for i in range(n)}, fake.stop)


CASES: dict[str, Callable[[], Case]] = {
    "reddit": reddit, "google_play": google_play, "app_store": app_store, "youtube": youtube,
    "youtube_busy": youtube_busy,
    "threads": threads, "facebook": facebook, "instagram": instagram, "bluesky": bluesky,
    "mastodon": mastodon}


def killable(source: Any, method: str, process: Process, kind: str = "page") -> Any:
    """`source` with a kill point (of `kind`) before each page it reads (fault injection on
    the real source: the page is then read over HTTP as always)."""
    read = getattr(source, method)

    def page(*args: Any, **kw: Any) -> Any:
        process.point(kind)
        return read(*args, **kw)

    setattr(source, method, page)
    return source
