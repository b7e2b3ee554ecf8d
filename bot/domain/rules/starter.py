"""The shipped sample's placeholders, and the starter rules file `socialbot init` writes. PURE.

`routing_rules.yaml` is a complete policy for a fictional airline: its channel and user ids,
its brand and its feed addresses are placeholders that `check` passes as valid. `placeholders`
names the keys still holding them; `starter_rules` writes a small policy for a real brand from
ids already looked up, and refuses to leave a placeholder in it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import yaml

from bot.domain.rules.schema import Rules

SAMPLE_BRAND = "Northwind Air"
SAMPLE_IDS = frozenset({"C0CARE00001", "C0BAGGAGE01", "C0PRESS0001", "C0SALES0001",
                        "C0EXEC00001", "U0CARELEAD1", "S0CARELEADS", "U0BAGLEAD01",
                        "S0PRLEADS01", "U0SALESLEAD"})
# Feeds no brand reads: example domains, a Google Alerts address with a zero user id.
_SAMPLE_URL = re.compile(r"^https?://([^/]*\.)?example\.(org|com|net)(/|$)"
                         r"|/alerts/feeds/0+/", re.IGNORECASE)


def placeholders(rules: Rules) -> list[str]:
    """`key: value` of every sample placeholder still in `rules`, in file order."""
    return list(_placeholders(rules))


def _placeholders(rules: Rules) -> Iterator[str]:
    if rules.brand.name == SAMPLE_BRAND:
        yield f"brand.name: {SAMPLE_BRAND}"
    for i, source in enumerate(rules.sources):
        if source.url and _SAMPLE_URL.search(source.url):
            yield f"sources[{i}].url: {source.url}"
    for team_id, team in rules.teams.items():
        if team.channel in SAMPLE_IDS:
            yield f"teams.{team_id}.channel: {team.channel}"
        for approver in team.approvers:
            if approver in SAMPLE_IDS:
                yield f"teams.{team_id}.approvers: {approver}"
    weekly, spike = rules.reports.weekly, rules.alerts.spike
    if weekly is not None and weekly.channel in SAMPLE_IDS:
        yield f"reports.weekly.channel: {weekly.channel}"
    if spike is not None and spike.channel in SAMPLE_IDS:
        yield f"alerts.spike.channel: {spike.channel}"


@dataclass(frozen=True)
class StarterTeam:
    id: str  # lowercase
    channel_id: str  # looked up: C…/G…
    channel_name: str  # as the person gave it, for the comment
    approver_ids: Sequence[str]  # looked up: U…/W…/S…


_STARTER_RULES = [  # what most desks want on day one; tune with `socialbot tune`
    {"name": "legal threat",
     "when": {"text_matches": [r"\bsue\b", "lawyer", "solicitor", "ombudsman"]},
     "then": {"priority": "P1", "approval": "required", "risk": "legal"}},
    {"name": "legal or regulator, any language",  # the risks scoring reads in every language
     "when": {"risk": ["legal", "regulatory"]},
     "then": {"priority": "P1", "approval": "required"}},
    {"name": "press", "when": {"author_type": "press"},
     "then": {"priority": "P1", "approval": "required", "risk": "reputational"}},
    {"name": "angry influencer",
     "when": {"all": [{"sentiment": "negative"}, {"author_type": "influencer"}]},
     "then": {"priority": "P1"}},
]


def starter_rules(brand: str, teams: Sequence[StarterTeam], *, x_username: str | None = None,
                  feeds: Sequence[str] = ()) -> str:
    """The text of a starter rules file. Raises ValueError naming what is missing or still a
    placeholder; the text it returns loads (`parse_rules`) with no placeholder in it."""
    if not brand.strip() or brand.strip() == SAMPLE_BRAND:
        raise ValueError("--brand: give your brand's name")
    if not teams:
        raise ValueError("--team: give at least one team and its channel (--team care=#social)")
    sources: list[dict[str, object]] = []
    if x_username:
        sources.append({"id": "x-mentions", "type": "x_mentions", "every": "60s"})
    for i, url in enumerate(feeds, 1):
        if _SAMPLE_URL.search(url):
            raise ValueError(f"--feed: {url} is an example address; give your feed's")
        sources.append({"id": f"feed-{i}", "type": "rss", "url": url, "every": "15m"})
    doc: dict[str, object] = {
        "version": 1,
        "brand": {"name": brand.strip(), **({"x_username": x_username.lstrip("@")}
                                            if x_username else {})},
        "sources": sources,
        "teams": {t.id: {"channel": t.channel_id, "approvers": list(t.approver_ids),
                         "sla": {"P1": "15m", "P2": "1h", "P3": "4h", "P4": "1d"}}
                  for t in teams},
        "default_team": teams[0].id,
        "rules": _STARTER_RULES,
        "policy": {"banned_phrases": ["guarantee"], "block_personal_data": True},
    }
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    for t in teams:  # the channel's name beside its id, for people reading the file
        body = body.replace(f"channel: {t.channel_id}\n",
                            f"channel: {t.channel_id}  # {t.channel_name}\n", 1)
    return (f"# socialbot policy for {brand.strip()}, written by `socialbot init`.\n"
            "# Every key is documented in README.md (\"The rules file\"). "
            "Validate with: socialbot check\n" + body)
