"""Every network's rate-limit wait is the network's word, not trusted blindly (issue 18, break
6, past X): a wait too long to hold (`99999999999999` seconds, a reset in year 3 million, an
estimate of 10^15 minutes) raised OverflowError out of the Reddit, Google Play, App Store,
Bluesky and Meta adapters at every poll, so the source backed off as if the network were down
and called again and again; Slack's Retry-After was believed whatever it said. Now each goes
through `bot.domain.waits`: at most an hour (logged), a garbage value the network's default.
Each network's real client against its fake, polled through `poll_source`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.domain.rules.schema import Brand, SourceSpec
from bot.domain.waits import MAX_WAIT
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.source import AppStoreSource
from bot.networks.base import Source
from bot.networks.bluesky.source import BlueskySearchSource
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.source import GooglePlaySource
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.source import RedditMentionsSource
from bot.outbox.errors import RateLimited, classify
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_app_store import APP_ID, FakeAppStore, asc_error
from tests.support.fake_bluesky import FakeBluesky, session
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay, play_error_body
from tests.support.fake_meta import PAGE_ID, FakeMeta
from tests.support.fake_reddit import BRAND as REDDIT_ACCOUNT
from tests.support.fake_reddit import FakeReddit
from tests.support.fault_scenarios import RULES

NOW = datetime.now(UTC).replace(microsecond=0)
BRAND = Brand(name="Acme Bank", reddit_username=REDDIT_ACCOUNT)
ABSURD = "99999999999999"  # seconds: past what timedelta holds


def reddit(value: str) -> tuple[Source, Callable[[], None]]:
    fake = FakeReddit().start()
    fake.fail("/message/inbox", 429, headers={"retry-after": value})
    window = RateWindow()
    spec = SourceSpec(id="reddit-mentions", type="reddit_mentions")
    return RedditMentionsSource(spec, BRAND, build_reddit(
        fake.settings(), account=REDDIT_ACCOUNT, window=window), window), fake.stop


def google_play(value: str) -> tuple[Source, Callable[[], None]]:
    fake = FakeGooglePlay().start()
    fake.fail("list", 429, play_error_body("quota_429"), retry_after=int(value))
    spec = SourceSpec(id="play", type="google_play_reviews", package=PACKAGE)
    return GooglePlaySource(spec, BRAND, PlayApi(fake.settings())), fake.stop


def app_store(value: str) -> tuple[Source, Callable[[], None]]:
    fake = FakeAppStore().start()
    fake.fail("list", 429, asc_error("rate_limited"), retry_after=int(value))
    spec = SourceSpec(id="ios", type="app_store_reviews", app_id=APP_ID)
    return AppStoreSource(spec, BRAND, AscApi(fake.settings())), fake.stop


def bluesky(value: str) -> tuple[Source, Callable[[], None]]:
    fake = FakeBluesky().start()
    fake.routes["app.bsky.feed.searchPosts"] = lambda r: httpx.Response(
        429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"ratelimit-remaining": "0", "ratelimit-reset": value})
    spec = SourceSpec(id="bluesky", type="bluesky_search", query="acme bank")
    return BlueskySearchSource(spec, BRAND, session(fake)), fake.stop


def facebook(value: str) -> tuple[Source, Callable[[], None]]:
    fake = FakeMeta().start()
    fake.usage = {"x-business-use-case-usage": json.dumps({PAGE_ID: [{
        "type": "pages", "call_count": 100, "total_cputime": 25, "total_time": 25,
        "estimated_time_to_regain_access": int(value)}]})}  # minutes
    spec = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID)
    return FacebookPageSource(spec, BRAND, build_graph(fake.settings())), fake.stop


NETWORKS: dict[str, Callable[[str], tuple[Source, Callable[[], None]]]] = {
    "reddit": reddit, "google_play": google_play, "app_store": app_store, "bluesky": bluesky,
    "facebook": facebook}


@pytest.mark.parametrize("network", list(NETWORKS))
def test_an_absurd_wait_is_cut_to_an_hour(engine, network, caplog):
    source, stop = NETWORKS[network](ABSURD)
    try:
        factory = make_session_factory(engine)
        rules = RULES.model_copy(update={"sources": [*RULES.sources, source.spec]})
        clock = Clock(NOW)
        with caplog.at_level(logging.WARNING):
            outcome = poll_source(factory, source, rules, clock=clock)
            if network == "facebook":  # Meta says it in the headers of an answer: next poll
                assert outcome.status == "ok", outcome
                clock.advance(60)
                outcome = poll_source(factory, source, rules, clock=clock)
        fault_figures.tried("hostile inputs")
        assert outcome.status == "rate_limited", outcome
        with session_scope(factory) as s:
            next_run = s.get(models.Source, source.spec.id).next_run_at
        assert next_run is not None and next_run <= clock.now + MAX_WAIT
        assert "at most" in caplog.text
    finally:
        stop()


def slack_429(retry_after: Any) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url="chat.postMessage",
                             req_args={}, data={"ok": False, "error": "ratelimited"},
                             headers={"Retry-After": retry_after}, status_code=429)
    return SlackApiError("ratelimited", response)


@pytest.mark.parametrize("value, wait", [
    (ABSURD, MAX_WAIT.total_seconds()), ("86400", MAX_WAIT.total_seconds()), ("30", 30.0),
    ("soon", 1.0), ("-3", 1.0), ("nan", 1.0),
])
def test_slack_retry_after_is_believed_for_an_hour_at_most(value, wait):
    outcome = classify(slack_429(value))
    fault_figures.tried("hostile inputs")
    assert isinstance(outcome, RateLimited) and outcome.retry_after == wait
