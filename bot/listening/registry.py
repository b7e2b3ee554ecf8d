"""Build the configured sources from the rules file and the credentials in Settings.

A source whose credentials are missing is left out with the names of the missing variables,
so `run` can log one clear line per source and keep going with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.domain.rules.schema import Rules
from bot.domain.rules.urgent import urgent_cues
from bot.networks.base import Source

if TYPE_CHECKING:
    import praw
    import tweepy
    from mastodon import Mastodon

    from bot.networks.app_store.client import AscApi
    from bot.networks.bluesky.client import BlueskySession
    from bot.networks.google_play.client import PlayApi
    from bot.networks.graph.client import GraphClient
    from bot.networks.reddit.client import RateWindow
    from bot.networks.threads.client import ThreadsApi


@dataclass
class Built:
    sources: list[Source] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source id → why


class _Clients:
    """One client per network, made when the first source of that network needs it and shared
    by all of its sources. The network modules are imported only when a source needs them."""

    def __init__(self, settings: Settings, bluesky: BlueskySession | None) -> None:
        self._settings = settings
        self._x: tweepy.Client | None = None
        self._mastodon: Mastodon | None = None
        self._bluesky = bluesky
        self._reddit: tuple[praw.Reddit, RateWindow] | None = None
        self._youtube: Any = None
        self._google_play: PlayApi | None = None
        self._facebook: GraphClient | None = None
        self._app_store: AscApi | None = None
        self._threads: ThreadsApi | None = None

    def x(self) -> tweepy.Client:
        if self._x is None:
            from bot.networks.x.client import build_x_client

            self._x = build_x_client(self._settings)
        return self._x

    def mastodon(self) -> Mastodon:
        if self._mastodon is None:
            from bot.networks.mastodon.client import build_mastodon

            self._mastodon = build_mastodon(self._settings)
        return self._mastodon

    def reddit(self, account: str | None) -> tuple[praw.Reddit, RateWindow]:
        """The client and the rate-limit window its answers fill (shared by the sources)."""
        if self._reddit is None:
            from bot.networks.reddit.client import RateWindow, build_reddit

            window = RateWindow()
            self._reddit = build_reddit(self._settings, account=account, window=window), window
        return self._reddit

    def youtube(self) -> Any:
        if self._youtube is None:
            from bot.networks.youtube.client import build_youtube

            self._youtube = build_youtube(self._settings)
        return self._youtube

    def google_play(self) -> PlayApi:
        if self._google_play is None:
            from bot.networks.google_play.client import PlayApi

            self._google_play = PlayApi(self._settings)
        return self._google_play

    def facebook(self) -> GraphClient:
        """The Page token's client: its Facebook and Instagram sources share Meta's usage
        readings."""
        if self._facebook is None:
            from bot.networks.facebook.client import build_graph

            self._facebook = build_graph(self._settings)
        return self._facebook
    def app_store(self) -> AscApi:
        if self._app_store is None:
            from bot.networks.app_store.client import AscApi

            self._app_store = AscApi(self._settings)
        return self._app_store

    def threads(self) -> ThreadsApi:
        if self._threads is None:
            from bot.networks.threads.client import build_threads

            self._threads = build_threads(self._settings)
        return self._threads

    def bluesky(self) -> BlueskySession:
        if self._bluesky is None:
            from bot.networks.bluesky.client import build_bluesky

            self._bluesky = build_bluesky(self._settings)
        return self._bluesky


def build_sources(rules: Rules, settings: Settings, *,
                  bluesky: BlueskySession | None = None) -> Built:
    """The enabled sources of `rules` whose credentials are set. `bluesky` is the bot's one
    Bluesky session, which the publisher uses too (createSession is rate-limited); without it
    the Bluesky sources get a session of their own."""
    built = Built()
    clients = _Clients(settings, bluesky)

    for spec in rules.sources:
        if not spec.enabled:
            built.skipped[spec.id] = "disabled in the rules file"
            continue
        missing = settings.missing_for_source(spec.type)
        if missing:
            built.skipped[spec.id] = f"missing {', '.join(missing)}"
            continue
        if spec.type == "rss":
            from bot.networks.rss.source import RssSource

            built.sources.append(RssSource(spec))
        elif spec.type in ("x_mentions", "x_search"):
            from bot.networks.x.source import XMentionsSource, XSearchSource

            x_cls = XMentionsSource if spec.type == "x_mentions" else XSearchSource
            built.sources.append(x_cls(spec, rules.brand, clients.x(), urgent=urgent_cues(
                rules, network="x", source_id=spec.id)))
        elif spec.network == "reddit":
            from bot.networks.reddit.source import RedditMentionsSource, RedditSearchSource

            reddit_cls = (RedditMentionsSource if spec.type == "reddit_mentions"
                          else RedditSearchSource)
            built.sources.append(reddit_cls(spec, rules.brand,
                                            *clients.reddit(rules.brand.reddit_username)))
        elif spec.type == "youtube_comments":
            from bot.networks.youtube.source import YouTubeCommentsSource

            built.sources.append(YouTubeCommentsSource(spec, rules.brand, clients.youtube()))
        elif spec.type == "google_play_reviews":
            from bot.networks.google_play.source import GooglePlaySource

            built.sources.append(GooglePlaySource(spec, rules.brand, clients.google_play()))
        elif spec.type == "facebook_page":
            from bot.networks.facebook.source import FacebookPageSource

            built.sources.append(FacebookPageSource(spec, rules.brand, clients.facebook()))
        elif spec.type == "app_store_reviews":
            from bot.networks.app_store.source import AppStoreSource

            built.sources.append(AppStoreSource(spec, rules.brand, clients.app_store()))
        elif spec.type == "instagram":
            from bot.networks.instagram.source import InstagramSource

            built.sources.append(InstagramSource(spec, rules.brand, clients.facebook()))
        elif spec.network == "threads":
            from bot.networks.threads.source import ThreadsSource

            built.sources.append(ThreadsSource(spec, rules.brand, clients.threads()))
        elif spec.type == "mastodon_mentions":
            from bot.networks.mastodon.source import MastodonSource

            built.sources.append(MastodonSource(spec, rules.brand, clients.mastodon()))
        else:
            from bot.networks.bluesky.source import BlueskyMentionsSource, BlueskySearchSource

            bluesky_cls = (BlueskyMentionsSource if spec.type == "bluesky_mentions"
                           else BlueskySearchSource)
            built.sources.append(bluesky_cls(spec, rules.brand, clients.bluesky()))
    return built
