"""The publishers the bot can use, from the settings: one per network with credentials."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.domain.rules.schema import Brand
from bot.networks.base import Publisher, PublishError
from bot.networks.bluesky.client import BlueskySession

log = logging.getLogger(__name__)


def build_publishers(settings: Settings, brand: Brand, *,
                     bluesky: BlueskySession | None) -> dict[str, Publisher]:
    """`{network: Publisher}` for every network whose write credentials are set (Reddit and
    YouTube reply with the credentials their sources read with). X needs the
    four user keys (an app-only bearer token cannot post) and `brand.x_username`. Bluesky
    replies go through `bluesky`, the session the Bluesky sources use (`build_bluesky_if_set`;
    createSession is rate-limited, so the bot logs in once): None means no Bluesky replies."""
    out: dict[str, Publisher] = {}
    if all(settings.is_set(n) for n in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
                                        "X_ACCESS_TOKEN_SECRET")) and brand.x_username:
        from bot.networks.x.client import build_x_client
        from bot.networks.x.publisher import XPublisher
        try:
            out["x"] = XPublisher(build_x_client(settings), username=brand.x_username)
        except PublishError as exc:
            log.warning("X replies disabled: %s", exc.detail)
    if settings.is_set("MASTODON_API_BASE_URL") and settings.is_set("MASTODON_ACCESS_TOKEN"):
        from bot.networks.mastodon.client import build_mastodon
        from bot.networks.mastodon.publisher import MastodonPublisher
        out["mastodon"] = MastodonPublisher(build_mastodon(settings))
    if settings.missing_for_source("reddit_mentions") == []:
        from bot.networks.reddit.client import RateWindow, build_reddit
        from bot.networks.reddit.publisher import RedditPublisher
        window = RateWindow()
        out["reddit"] = RedditPublisher(
            build_reddit(settings, account=brand.reddit_username, window=window),
            account=brand.reddit_username or settings.REDDIT_USERNAME, window=window)
    if settings.missing_for_source("youtube_comments") == []:
        from bot.networks.youtube.client import build_youtube
        from bot.networks.youtube.publisher import YouTubePublisher
        out["youtube"] = YouTubePublisher(build_youtube(settings))
    if settings.is_set("GOOGLE_PLAY_SERVICE_ACCOUNT_JSON"):
        from bot.networks.google_play.client import PlayApi
        from bot.networks.google_play.publisher import GooglePlayPublisher
        out["google_play"] = GooglePlayPublisher(PlayApi(settings))
    if settings.is_set("META_PAGE_ACCESS_TOKEN"):
        from bot.networks.facebook.client import build_graph
        from bot.networks.facebook.publisher import FacebookPublisher
        from bot.networks.instagram.publisher import InstagramPublisher
        graph = build_graph(settings)  # one token, one usage meter
        out["facebook"] = FacebookPublisher(graph)
        out["instagram"] = InstagramPublisher(graph)
    if not settings.missing_for_source("app_store_reviews"):
        from bot.networks.app_store.client import AscApi
        from bot.networks.app_store.publisher import AppStorePublisher
        out["app_store"] = AppStorePublisher(AscApi(settings))
    if settings.is_set("THREADS_ACCESS_TOKEN"):
        from bot.networks.threads.client import build_threads
        from bot.networks.threads.publisher import ThreadsPublisher
        out["threads"] = ThreadsPublisher(build_threads(settings))
    if bluesky is not None:
        from bot.networks.bluesky.publisher import BlueskyPublisher
        out["bluesky"] = BlueskyPublisher(bluesky)
    return out
