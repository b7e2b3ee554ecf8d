"""`/social …` text → a typed request (pure). Words may come in any order after the
subcommand: a period, a team id, `public`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.errors import NotAllowed
from bot.reports.period import PERIOD_HELP, looks_like_period
from bot.slack.ids import SocialSubcommand

PUBLIC = "public"
DEFAULT_PERIOD = {SocialSubcommand.REPORT: "7d", SocialSubcommand.EXPORT: "30d"}


@dataclass(frozen=True, slots=True)
class SocialRequest:
    sub: SocialSubcommand
    period: str | None = None  # validated by bot.reports.parse_period when used
    team: str | None = None
    public: bool = False


def parse_social(text: str, teams: Collection[str]) -> SocialRequest:
    """Unknown subcommands (and none) mean help. Raises `NotAllowed` naming a word that is
    neither a period, a team nor `public`."""
    words = text.split()
    try:
        sub = SocialSubcommand(words[0].lower()) if words else SocialSubcommand.HELP
    except ValueError:
        return SocialRequest(SocialSubcommand.HELP)
    if sub not in DEFAULT_PERIOD:
        return SocialRequest(sub)
    period = team = None
    public = False
    for word in words[1:]:
        w = word.lower()
        if w == PUBLIC and sub is SocialSubcommand.REPORT:
            public = True
        elif looks_like_period(w) and period is None:
            period = w
        elif w in teams and team is None:
            team = w
        else:
            raise NotAllowed(
                f"`{word[:40]}` is not a period, a team or `public`. Periods: {PERIOD_HELP}. "
                f"Teams: {', '.join(sorted(teams))}.")
    return SocialRequest(sub, period or DEFAULT_PERIOD[sub], team, public)
