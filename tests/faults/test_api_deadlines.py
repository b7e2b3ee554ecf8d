"""Every network's API answer trickling in cannot hold a poll, nor `SIGTERM` (issue 18, break
7, for the networks past feeds, X, Mastodon and Reddit).

Bluesky (atproto on httpx), YouTube and Google Play (google-api-python-client on httplib2),
Facebook, Instagram and Threads (the Graph client on httpx) and the App Store (requests) each
read a slow loris — the status line or the body a byte at a time — for as long as it trickled:
their read timeouts count from the last byte. Now each client, built as the bot builds it, ends
a whole request within the one deadline of `bot.networks.guarded_http`, and `abort_all` (what
`socialbot run` calls on SIGTERM) ends one in flight at once.

Real sockets on 127.0.0.1 (`tests.support.slow_feed.SlowFeed` answers whatever is asked); the
deadline is shortened through the module constant the clients read when they are built.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks import guarded_http
from bot.networks.app_store import client as app_store_client
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.source import AppStoreSource
from bot.networks.base import Source, SourceState, SourceUnavailable
from bot.networks.bluesky import client as bluesky_client
from bot.networks.bluesky.client import build_bluesky
from bot.networks.bluesky.source import BlueskySearchSource
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.google_play import client as google_play_client
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.source import GooglePlaySource
from bot.networks.graph import client as graph_client
from bot.networks.instagram.source import InstagramSource
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from bot.networks.youtube import client as youtube_client
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.source import YouTubeCommentsSource
from tests.support import fault_figures
from tests.support.fake_app_store import ISSUER_ID, KEY_ID, new_key, pem
from tests.support.fake_bluesky import BRAND_DID, HANDLE, jwt
from tests.support.fake_google_play import FakeGooglePlay
from tests.support.fake_meta import IG_USER_ID, PAGE_ID
from tests.support.fake_meta import TOKEN as META_TOKEN
from tests.support.fake_meta import VERSION as META_VERSION
from tests.support.fake_threads import TOKEN as THREADS_TOKEN
from tests.support.fake_threads import VERSION as THREADS_VERSION
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.slow_feed import SlowFeed

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BRAND = Brand(name="Acme Bank", bluesky_handle=HANDLE)
DEADLINE = 1.0


def _bluesky(base: str) -> Source:
    now = int(time.time())  # atproto compares token expiry with the real clock
    saved = ":::".join([HANDLE, BRAND_DID, jwt(now + 7200), jwt(now + 86400, "com.atproto.refresh"),
                        base])  # the session's PDS: the slow server
    session = build_bluesky(Settings(_env_file=None, BLUESKY_HANDLE=HANDLE,
                                     BLUESKY_APP_PASSWORD="app-pass-word-1234"),
                            session_string=saved, base_url=base + "/xrpc")
    spec = SourceSpec(id="bluesky", type="bluesky_search", query="acme bank", every="5m")
    return BlueskySearchSource(spec, BRAND, session)


def _youtube(base: str, token_server: FakeYouTube) -> Source:
    settings = token_server.settings().model_copy(  # the token from the fake
        update={"YOUTUBE_API_URL": base + "/"})
    spec = SourceSpec(id="yt", type="youtube_comments", channel_id=CHANNEL, every="5m")
    return YouTubeCommentsSource(spec, BRAND, build_youtube(settings))


def _google_play(base: str, token_server: FakeGooglePlay) -> Source:
    settings = token_server.settings().model_copy(update={"GOOGLE_PLAY_API_URL": base + "/"})
    spec = SourceSpec(id="play", type="google_play_reviews", package="com.acme.bank", every="5m")
    return GooglePlaySource(spec, BRAND, PlayApi(settings))


def _facebook(base: str) -> Source:
    settings = Settings(_env_file=None, META_PAGE_ACCESS_TOKEN=META_TOKEN,
                        META_GRAPH_API_URL=base, META_GRAPH_API_VERSION=META_VERSION)
    spec = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID, every="5m")
    return FacebookPageSource(spec, BRAND, build_graph(settings))


def _instagram(base: str) -> Source:
    settings = Settings(_env_file=None, META_PAGE_ACCESS_TOKEN=META_TOKEN,
                        META_GRAPH_API_URL=base, META_GRAPH_API_VERSION=META_VERSION)
    spec = SourceSpec(id="ig", type="instagram", ig_user_id=IG_USER_ID, every="5m")
    return InstagramSource(spec, BRAND, build_graph(settings))


def _threads(base: str) -> Source:
    settings = Settings(_env_file=None, THREADS_ACCESS_TOKEN=THREADS_TOKEN,
                        THREADS_API_URL=base, THREADS_API_VERSION=THREADS_VERSION)
    spec = SourceSpec(id="threads", type="threads_mentions", every="5m")
    return ThreadsSource(spec, BRAND, build_threads(settings))


def _app_store(base: str) -> Source:
    settings = Settings(_env_file=None, APP_STORE_KEY_ID=KEY_ID, APP_STORE_ISSUER_ID=ISSUER_ID,
                        APP_STORE_PRIVATE_KEY=pem(new_key()), APP_STORE_API_URL=base)
    spec = SourceSpec(id="ios", type="app_store_reviews", app_id="1234567890", every="5m")
    return AppStoreSource(spec, BRAND, AscApi(settings))


NETWORKS = ["bluesky", "youtube", "google_play", "facebook", "instagram", "threads", "app_store"]


@pytest.fixture
def build(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], Source]]:
    """`build(network, base_url)`: the network's source, its client built as the bot builds
    it (the deadline shortened), reading from `base_url`; the token servers are fakes."""
    for module in (bluesky_client, youtube_client, google_play_client, graph_client,
                   app_store_client):
        monkeypatch.setattr(module, "REQUEST_DEADLINE", DEADLINE)
    youtube, play = FakeYouTube().start(), FakeGooglePlay().start()
    makers: dict[str, Callable[[str], Source]] = {
        "bluesky": _bluesky, "youtube": lambda b: _youtube(b, youtube),
        "google_play": lambda b: _google_play(b, play), "facebook": _facebook,
        "instagram": _instagram, "threads": _threads, "app_store": _app_store}
    yield lambda network, base: makers[network](base)
    youtube.stop()
    play.stop()


def base_of(slow: SlowFeed) -> str:
    return f"http://127.0.0.1:{slow.server.server_address[1]}"


def fetch_in_thread(source: Source) -> tuple[threading.Thread, list[BaseException]]:
    failure: list[BaseException] = []

    def poll() -> None:
        try:
            source.fetch(SourceState(), now=NOW)
        except BaseException as exc:
            failure.append(exc)

    poller = threading.Thread(target=poll, daemon=True)  # a hung poll must not hang the suite
    poller.start()
    return poller, failure


@pytest.mark.parametrize("stage", ["body", "headers"])
@pytest.mark.parametrize("network", NETWORKS)
def test_an_api_answer_trickling_in_cannot_hold_a_poll(build, network, stage):
    slow = SlowFeed(interval=0.2, stage=stage)
    try:
        source = build(network, base_of(slow))
        started = time.monotonic()
        poller, failure = fetch_in_thread(source)
        poller.join(DEADLINE + 4)
        took = time.monotonic() - started
        fault_figures.tried("faults injected")
        assert not poller.is_alive(), f"{network}: the poll still reads after {took:.1f} s"
        assert slow.requested.is_set()  # the slow server was asked: its answer was cut
        assert failure and isinstance(failure[0], SourceUnavailable), (network, failure)
        assert took < DEADLINE + 3, took
    finally:
        slow.stop()


@pytest.mark.parametrize("network", ["bluesky", "youtube", "facebook", "app_store"])
def test_a_request_in_flight_ends_at_once_when_the_bot_stops(build, monkeypatch, network):
    """One network per HTTP stack (httpx by atproto, httplib2, httpx by Graph, requests)."""
    for module in (bluesky_client, youtube_client, graph_client, app_store_client):
        monkeypatch.setattr(module, "REQUEST_DEADLINE", 600.0)  # far away
    slow = SlowFeed(interval=0.5)
    try:
        poller, failure = fetch_in_thread(build(network, base_of(slow)))
        assert slow.requested.wait(10)
        time.sleep(0.3)  # the poll is now reading the body, a byte at a time
        started = time.monotonic()
        assert guarded_http.abort_all() >= 1  # SIGTERM
        poller.join(5)
        fault_figures.tried("faults injected")
        assert not poller.is_alive() and time.monotonic() - started < 2
        assert failure and isinstance(failure[0], SourceUnavailable), failure
    finally:
        slow.stop()
