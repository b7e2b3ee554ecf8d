"""PURE routing: the rules file's rules, top to bottom, applied to one scored mention.

Every matching rule applies; the first `team` wins; the most urgent `priority` wins;
any `approval: required` wins; `matched_rules` records why.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.enrich import Enrichment
from bot.mention import Mention
from bot.rules_schema import Rules


@dataclass(frozen=True, slots=True)
class RouteDecision:
    team: str
    priority: str  # P1..P4
    approval_required: bool
    risk: tuple[str, ...]
    outcome_hint: str | None
    matched_rules: tuple[str, ...]


def route(mention: Mention, enrichment: Enrichment, rules: Rules) -> RouteDecision:
    raise NotImplementedError
