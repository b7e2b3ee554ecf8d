"""PURE scoring of one mention: sentiment, author type, risk, urgency score and priority.

No I/O. Takes a `Mention`, the `Rules` and the current time; returns an `Enrichment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.mention import Mention
from bot.rules_schema import Rules


@dataclass(frozen=True, slots=True)
class Enrichment:
    compound: float  # VADER compound with the rules lexicon, -1..1
    sentiment: str  # negative | neutral | positive
    author_type: str  # customer | press | competitor | advocate | influencer | vip | brand
    risk: tuple[str, ...]  # legal, regulatory, privacy, reputational, security, safety
    score: int  # 0..100 urgency
    priority: str  # P1..P4 from the score alone (routing may raise it)
    score_parts: dict[str, int] = field(default_factory=dict)  # why: part → points
    is_question: bool = False
    is_complaint: bool = False


def enrich(mention: Mention, rules: Rules, *, now: datetime) -> Enrichment:
    raise NotImplementedError
