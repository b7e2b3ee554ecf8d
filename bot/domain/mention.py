"""The normalised mention: what every source produces and what scoring and routing read.

Pure values, no I/O. The stored form is `bot.kit.models.Mention`; ingest copies one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

NETWORKS = ("x", "mastodon", "bluesky", "rss",
            "reddit",
            "youtube",
            "google_play",
            "facebook",
            "app_store",
            "instagram",
            "threads",
            )


@dataclass(frozen=True, slots=True)
class Author:
    handle: str
    name: str = ""
    followers: int = 0
    external_id: str | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Mention:
    network: str  # one of NETWORKS
    external_id: str  # unique per network: tweet id, status id, post uri, entry id
    text: str
    author: Author
    url: str | None = None
    created_at: datetime | None = None  # timezone-aware UTC when known
    lang: str | None = None
    source_id: str | None = None  # the rules file's sources[].id that found it
    # X only lets the brand reply programmatically when the post mentions or quotes it.
    mentions_brand: bool = False
    in_reply_to_id: str | None = None
    conversation_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)
