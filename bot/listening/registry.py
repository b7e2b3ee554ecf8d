"""Build the configured sources from the rules file and the credentials in Settings.

A source whose credentials are missing is left out with the names of the missing variables,
so `run` can log one clear line per source and keep going with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.domain.rules.schema import Rules
from bot.networks.base import Source


@dataclass
class Built:
    sources: list[Source] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source id → why


def build_sources(rules: Rules, settings: Settings) -> Built:
    built = Built()
    clients: dict[str, object] = {}  # one client per network, shared by its sources

    def client(network: str) -> object:
        if network not in clients:
            if network == "x":
                from bot.networks.x.source import build_x_client

                clients[network] = build_x_client(settings)
            elif network == "mastodon":
                from bot.networks.mastodon.source import build_mastodon

                clients[network] = build_mastodon(settings)
            elif network == "bluesky":
                from bot.networks.bluesky.source import build_bluesky

                clients[network] = build_bluesky(settings)
        return clients[network]

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

            cls = XMentionsSource if spec.type == "x_mentions" else XSearchSource
            built.sources.append(cls(spec, rules.brand, client("x")))
        elif spec.type == "mastodon_mentions":
            from bot.networks.mastodon.source import MastodonSource

            built.sources.append(MastodonSource(spec, rules.brand, client("mastodon")))
        else:
            from bot.networks.bluesky.source import BlueskyMentionsSource, BlueskySearchSource

            cls = BlueskyMentionsSource if spec.type == "bluesky_mentions" else BlueskySearchSource
            built.sources.append(cls(spec, rules.brand, client("bluesky")))
    return built
