"""How long a reply may be on each network, counted the way the network counts. PURE.

    X          280 weighted characters (twitter-text v3, `bot.domain.tweet_text`): most
               characters weigh 1; CJK, emoji and anything outside Latin/punctuation ranges
               weigh 2; an emoji sequence (ZWJ family, skin tone) weighs 2 in all; any URL,
               with or without `https://`, counts 23; text is NFC-normalised first.
    Mastodon   500 characters by default; each instance sets its own
               (`/api/v2/instance` → `configuration.statuses.max_characters`): pass it as
               `max_chars`. Mastodon counts grapheme clusters of a "countable" text in which
               every URL with a scheme is 23 characters and a remote mention `@user@domain`
               counts as `@user` (app/validators/status_length_validator.rb).
    Bluesky    300 graphemes (the post lexicon's `maxGraphemes`), and 3,000 bytes of UTF-8
               (its `maxLength`): long emoji sequences can hit the byte limit first.
    Reddit     10,000 characters of a comment's markdown body (Unicode code points: the
               server measures the decoded string).
    YouTube    10,000 characters of a comment's `textOriginal` (code points).
    Google Play 350 characters (reviews.reply: "replies of more than approximately 350
               characters will be rejected"), counted as UTF-16 code units, the way Java's
               String.length() counts: an emoji outside the BMP counts 2, which can only
               over-count.
    Facebook   8,000 characters of a comment's `message` (code points; Meta's comment box
               stops there, and the Graph API refuses longer with error 100).
    App Store  5,970 characters of a review response (App Store Connect's limit), counted as
               UTF-16 code units like Google Play (NSString's length): over-counting only.
    Instagram  2,200 characters of a comment (code points), as for captions.
    Threads    500 characters of a post's `text` (code points; Threads' own count of an
               emoji sequence is not documented, and counting each code point can only
               over-count).

Graphemes are counted by `bot.domain.graphemes` (UAX #29), URLs found and X's weighted
length computed by `bot.domain.tweet_text` (twitter-text v3).
"""

from __future__ import annotations

import re
from typing import Final

from bot.domain.graphemes import grapheme_count
from bot.domain.tweet_text import extract_urls, weighted_length

X_MAX: Final = 280
MASTODON_MAX: Final = 500  # Mastodon's default; instances change it
BLUESKY_MAX: Final = 300
BLUESKY_MAX_BYTES: Final = 3000  # the post lexicon's maxLength, in UTF-8 bytes
MASTODON_URL_LENGTH: Final = 23  # every URL with a scheme counts this much
REDDIT_MAX: Final = 10_000
YOUTUBE_MAX: Final = 10_000
GOOGLE_PLAY_MAX: Final = 350
FACEBOOK_MAX: Final = 8_000
APP_STORE_MAX: Final = 5970
INSTAGRAM_MAX: Final = 2_200
THREADS_MAX: Final = 500

_LIMITS: Final[dict[str, tuple[int, str]]] = {
    "x": (X_MAX, "weighted characters"),
    "mastodon": (MASTODON_MAX, "characters"),
    "bluesky": (BLUESKY_MAX, "graphemes"),
    "reddit": (REDDIT_MAX, "characters"),
    "youtube": (YOUTUBE_MAX, "characters"),
    "google_play": (GOOGLE_PLAY_MAX, "characters"),
    "facebook": (FACEBOOK_MAX, "characters"),
    "app_store": (APP_STORE_MAX, "characters"),
    "instagram": (INSTAGRAM_MAX, "characters"),
    "threads": (THREADS_MAX, "characters"),
}


class NoReplyChannel(ValueError):
    """The network has no way to reply (RSS items, web pages)."""


def reply_limit(network: str, *, max_chars: int | None = None) -> tuple[int, str]:
    """`(maximum, unit label)` for a reply on `network`, e.g. `(280, "weighted characters")`.

    `max_chars` overrides the maximum: a Mastodon instance's own limit, or a longer X limit the
    account has. RSS (or any unknown network) raises `NoReplyChannel`."""
    try:
        default, unit = _LIMITS[network]
    except KeyError:
        raise NoReplyChannel(f"{network or 'this source'} has no reply channel") from None
    if max_chars is not None and max_chars <= 0:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    return (max_chars or default), unit


def reply_length(network: str, text: str) -> int:
    """The length of `text` as `network` counts it against `reply_limit(network)`."""
    if network == "x":
        return x_weighted_length(text)
    if network == "mastodon":
        return mastodon_length(text)
    if network == "bluesky":
        return grapheme_count(text)
    if network in ("reddit", "youtube", "facebook", "instagram", "threads"):
        return len(text)
    if network in ("google_play", "app_store"):
        return utf16_length(text)
    raise NoReplyChannel(f"{network or 'this source'} has no reply channel")


def reply_problem(network: str, text: str, limit: tuple[int, str] | None) -> str | None:
    """What a person must fix before `text` can be a reply (empty, too long), or None.
    `limit` is `reply_limit(network)`, None where there is no reply channel."""
    if not text:
        return "Write something first."
    if limit is None:
        return None
    try:
        used = reply_length(network, text)
    except NoReplyChannel:
        return None
    return f"{used} of {limit[0]} {limit[1]}: shorten it." if used > limit[0] else None


def x_weighted_length(text: str) -> int:
    """twitter-text v3 weighted length (the count X's own composer shows)."""
    return weighted_length(text)


# Mastodon's Account::MENTION_RE, the part that matters for counting: `@user@domain` → `@user`.
_MASTODON_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)(?:@[\w.\-]+\w)?", re.IGNORECASE)


def mastodon_countable_text(text: str) -> str:
    """The text Mastodon measures: URLs (with a scheme) as 23 `x`, remote mentions shortened."""
    out: list[str] = []
    pos = 0
    for url in extract_urls(text, without_scheme=False):  # scheme required, as Mastodon does
        out.append(_MASTODON_MENTION.sub(r"@\1", text[pos:url.start]))
        out.append("x" * MASTODON_URL_LENGTH)
        pos = url.end
    out.append(_MASTODON_MENTION.sub(r"@\1", text[pos:]))
    return "".join(out)


def mastodon_length(text: str) -> int:
    return grapheme_count(mastodon_countable_text(text))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_length(text: str) -> int:
    """UTF-16 code units: what Java and Objective-C strings call their length."""
    return len(text.encode("utf-16-le")) // 2

