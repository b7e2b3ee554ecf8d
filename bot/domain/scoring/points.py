"""The urgency score's parts: how many points each is worth, and the priority bands.

PURE. `bot.domain.scoring.enrich` sums the parts a mention earns (`Enrichment.score_parts`, so a
card can say *why*); every weight and band is data here, tuned on labelled posts without
touching the code that applies them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from bot.domain.scoring import language_cues
from bot.domain.scoring.cues import COMPLAINT_CUES, Found

# --- Priority bands ---------------------------------------------------------------------------
# score >= P1_FROM → P1, >= P2_FROM → P2, >= P3_FROM → P3, else P4. With the weights below a
# customer's complaint lands at P3, an angry one addressed to the brand at P2; a threat (legal,
# regulatory, …) with a complaint, or a negative post by the press, crosses into P1; praise
# and chatter stay in P4 whoever posts them, and a complaint, however mild, from a customer
# with a handful of followers outranks praise from a celebrity with a million (need over reach).
P1_FROM = 70
P2_FROM = 50
P3_FROM = 30

# --- Score parts (points) ---------------------------------------------------------------------
NEGATIVITY_MAX = 30  # × -compound, when the compound is below 0
LIKELY_COMPLAINT = 20  # flagged a complaint (bot.domain.scoring.complaint), cues or not
# What makes a complaint urgent: its cues by kind (money, access, safety, repeated, time waited),
# URGENT_POINTS each, at most URGENT_MAX. A likely complaint from a customer is at least P3, and
# P2 when it is negative or urgent: the `complaint_floor` part tops the score up to that band.
# A possible one (probability from the model's `review_from`, below its flag) is at least P3
# unless it reads as praise; from the model's `mixed_from` (upper half of that band) even then.
URGENT_CUES: dict[str, frozenset[str]] = {
    "money": frozenset({"charged", "charged_twice", "no_refund", "refund", "card_swallowed"}),
    "access": frozenset({"account_blocked", "cant_access", "outage", "not_working"}),
    "safety": frozenset({"safety"}),
    "repeated": frozenset({"again"}),
    "waited": frozenset({"still_waiting", "waiting_since", "on_hold", "no_answer", "hotline",
                        "stranded"}),
}
URGENT_POINTS = 5
URGENT_MAX = 15
FLOOR_AUTHORS = frozenset({"customer", "advocate", "influencer", "vip"})  # not press, brand, rival
COMPLAINT_MAX = 20  # cap on cue points + intensifiers
LANGUAGE_CUE_POINTS = 8  # another language's complaint cue (language_cues; English's: 5-10)
PRAISE_POINTS = -15  # labelled positive: praise wants a thank-you, not urgency
QUESTION_POINTS = 10  # a question expects an answer
REACH_PER_DECADE = 2.5  # × log10(followers + 1): 100 → 5, 10k → 10, 1M → 15
REACH_MAX = 15
AUTHOR_POINTS = {
    "press": 15,
    "vip": 15,
    "influencer": 8,
    "advocate": 3,
    "competitor": 2,
    "customer": 0,
    "brand": 0,
}
RISK_FIRST = 25  # the first risk found
RISK_EACH_MORE = 5  # every further one
RISK_MAX = 35
# Oldest threshold first: a post older than 72 h loses 20 points, older than 24 h loses 10.
AGE_PENALTIES: tuple[tuple[timedelta, int], ...] = (
    (timedelta(hours=72), -20),
    (timedelta(hours=24), -10),
)

# Intensifiers add to the complaint part only when a complaint cue was found.
ADDRESSED_TO_BRAND = 4  # mentions_brand, or "@brand" in the text
AGAIN_POINTS = 3
SHOUTING = re.compile(r"\b[A-Z]{4,}\b")  # an ALL-CAPS word (4+ letters: not LHR or FAA)
SHOUTING_POINTS = 3
REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")  # !!, ???, ?!
REPEATED_PUNCTUATION_POINTS = 3
_CUE_POINTS = {name: points for name, (points, _, _) in COMPLAINT_CUES.items()}


def complaint_points(text: str, found: Found, addressed: bool, other_cues: int,
                     other_kinds: frozenset[str]) -> int:
    """The cues' points (English's, and `other_cues` of another language with their urgency
    `other_kinds`) and the intensifiers; 0 without a cue."""
    if not found.cues and not other_cues:
        return 0
    points = sum(_CUE_POINTS[c] for c in found.cues) + LANGUAGE_CUE_POINTS * other_cues
    if addressed:
        points += ADDRESSED_TO_BRAND
    if found.again or language_cues.REPEATED in other_kinds:
        points += AGAIN_POINTS
    if SHOUTING.search(text):
        points += SHOUTING_POINTS
    if REPEATED_PUNCTUATION.search(text):
        points += REPEATED_PUNCTUATION_POINTS
    return min(COMPLAINT_MAX, points)


def urgent_points(found: Found, risks: tuple[str, ...], kinds: frozenset[str]) -> int:
    """URGENT_POINTS per kind of urgency among the cues (and a safety risk; `kinds`: those of
    another language's cues), at most URGENT_MAX."""
    present = {*found.cues, *risks, *(("again",) if found.again else ())}
    urgent = kinds | {kind for kind, cues in URGENT_CUES.items() if not cues.isdisjoint(present)}
    return min(URGENT_MAX, URGENT_POINTS * len(urgent))


def reach_points(followers: int) -> int:
    """REACH_PER_DECADE per tenfold of followers, at most REACH_MAX."""
    if followers <= 0:
        return 0
    return min(REACH_MAX, round(REACH_PER_DECADE * math.log10(followers + 1)))


def risk_points(risks: tuple[str, ...]) -> int:
    """RISK_FIRST for the first risk, RISK_EACH_MORE for each further one, at most RISK_MAX."""
    if not risks:
        return 0
    return min(RISK_MAX, RISK_FIRST + RISK_EACH_MORE * (len(risks) - 1))


def age_points(created_at: datetime | None, now: datetime) -> int:
    """The AGE_PENALTIES band the post's age falls in (0 when its time is unknown)."""
    if created_at is None:
        return 0
    if created_at.tzinfo is None:  # documented as aware UTC; be lenient with naive values
        created_at = created_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    age = now - created_at
    for older_than, points in AGE_PENALTIES:
        if age > older_than:
            return points
    return 0


def priority_for(score: int) -> str:
    """The priority band of a score (see P1_FROM, P2_FROM, P3_FROM)."""
    if score >= P1_FROM:
        return "P1"
    if score >= P2_FROM:
        return "P2"
    if score >= P3_FROM:
        return "P3"
    return "P4"
