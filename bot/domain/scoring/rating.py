"""The star rating of an app-store review as part of its score. PURE.

A review's rating (1–5, `Mention.extra["rating"]`, set by the Google Play and App Store
sources) says more than its words: a 1- or 2-star review is a complaint whatever it says
("great app, but" with one star is not praise). `points` is the `rating` part of the score: it
tops up what the words already scored as a complaint (negativity, likely complaint, complaint
cues, less the praise discount) to the rating's floor, so a 1-star review in kind words lands at P3 like a customer's
complaint, and an angry one scores what its words say, not the stars counted twice.
"""

from __future__ import annotations

from typing import Final

from bot.domain.mention import Mention

RATING_KEY: Final = "rating"
COMPLAINT_AT_MOST: Final = 2  # stars: this many or fewer is a complaint
FLOOR: Final[dict[int, int]] = {1: 35, 2: 30, 3: 10}  # complaint points at least; 4-5: none


def stars(mention: Mention) -> int | None:
    """The review's rating, None for a post that is not a rated review."""
    value = mention.extra.get(RATING_KEY)
    if value is None or not str(value).isdigit():
        return None
    n = int(value)
    return n if 1 <= n <= 5 else None


def points(mention: Mention, *, words: int = 0) -> int:
    """The rating part: what lifts `words` (the complaint points the text earned) to the
    rating's floor; 0 when the words already reach it or there is no rating."""
    n = stars(mention)
    # 4-5 stars have no floor: their praise stays praise (a floor of 0 would undo it).
    return max(0, FLOOR[n] - words) if n in FLOOR else 0


def is_complaint(mention: Mention) -> bool:
    n = stars(mention)
    return n is not None and n <= COMPLAINT_AT_MOST
