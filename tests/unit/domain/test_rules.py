"""The rules file: the shipped example and the ARCHITECTURE.md example load; every kind of broken
file is refused with `file:line: key: problem`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.domain.rules.load import RulesError, load_rules, parse_rules
from bot.domain.rules.schema import most_urgent, parse_duration
from tests.support.paths import DATA, ROOT

MINIMAL = """\
version: 1
brand: {name: Acme}
teams:
  support: {channel: C0123SUPPORT}
default_team: support
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "rules.yaml")
    return [str(p) for p in info.value.problems]


def test_shipped_rules_load_and_use_every_feature():
    rules = load_rules(ROOT / "routing_rules.yaml")
    assert rules.default_team in rules.teams
    assert {s.type for s in rules.sources} == {
        "x_mentions", "x_search", "rss", "mastodon_mentions", "bluesky_search",
        "bluesky_mentions"}
    keys = set()

    def condition_keys(cond):
        for k, v in cond:
            if v is None:
                continue
            keys.add(k)
            for sub in v if k in ("all", "any") else [v] if k == "not_" else []:
                condition_keys(sub)

    for rule in rules.rules:
        condition_keys(rule.when)
        keys |= {k for k, v in rule.then if v}
    assert {"text_matches", "author_type", "sentiment", "followers_at_least", "network",
            "lang", "all", "any", "not_"} <= keys
    assert {"team", "priority", "approval", "risk", "outcome_hint"} <= keys
    assert rules.alerts.spike and rules.reports.weekly and rules.templates
    assert rules.teams["care"].sla["P1"] == timedelta(minutes=15)
    assert any(" " in phrase for phrase in rules.sentiment.lexicon)


def test_architecture_example_loads():
    rules = load_rules(DATA / "architecture_example.yaml")
    assert rules.brand.x_username == "AcmeBank"
    assert [r.name for r in rules.rules][:2] == ["legal threat", "press"]
    assert rules.teams["support"].approvers == ["U0123LEAD", "S0123LEADS"]


def test_minimal_file_gets_defaults():
    rules = parse_rules(MINIMAL)
    assert rules.outcomes[0] == "resolved"
    assert rules.sentiment.negative_below == -0.05
    assert rules.authors.influencer_min_followers == 10_000


@pytest.mark.parametrize(
    ("addition", "line", "key", "message"),
    [
        ("colour: blue\n", 6, "colour", "unknown key"),
        ("rules:\n  - name: x\n    when: {text_matches: 'refund'}\n    then: {team: legal}\n",
         9, "rules[0].then.team", "unknown team 'legal'"),
        ("rules:\n  - name: x\n    when: {text_matches: '(unclosed'}\n    then: {priority: P1}\n",
         8, "rules[0].when.text_matches", "invalid regular expression '(unclosed'"),
        ("rules:\n  - name: x\n    when: {sentiment: negative}\n    then: {priority: P5}\n",
         9, "rules[0].then.priority", "'P1', 'P2', 'P3' or 'P4'"),
        ("sources:\n  - {id: x, type: x_mentions, every: 5 minutes}\n",
         7, "sources[0].every", "is not a duration"),
        ("sources:\n  - {id: x, type: x_mentions, every: 0s}\n",
         7, "sources[0].every", "is not a duration"),
        ("sources:\n  - {id: s, type: x_search}\n", 7, "sources[0]", "needs a query"),
        ("sources:\n  - {id: f, type: rss}\n", 7, "sources[0]", "needs a url"),
        ("sources:\n  - {id: f, type: telegram}\n", 7, "sources[0].type", "Input should be"),
        ("rules:\n  - name: x\n    when: {sentiment: angry}\n    then: {priority: P1}\n",
         8, "rules[0].when.sentiment[0]", "'negative', 'neutral', 'positive' or 'unknown'"),
        ("rules:\n  - name: x\n    when: {}\n    then: {priority: P1}\n",
         8, "rules[0].when", "an empty condition"),
        ("rules:\n  - name: x\n    when: {txt_matches: a}\n    then: {priority: P1}\n",
         8, "rules[0].when.txt_matches", "unknown key"),
        ("rules:\n  - name: x\n    when: {any: [{not: {lang: en}}, {text_matches: '['}]}\n"
         "    then: {priority: P1}\n",
         8, "rules[0].when.any[1].text_matches", "invalid regular expression"),
        ("alerts:\n  spike: {channel: C0PR, window: 30 mins}\n", 7, "alerts.spike.window",
         "is not a duration"),
        ("reports:\n  weekly: {channel: C0EX, at: 'monday 8am'}\n", 7, "reports.weekly.at",
         "use a weekday"),
        ("reports:\n  weekly: {channel: C0EX, timezone: Mars/Olympus}\n", 7,
         "reports.weekly.timezone", "not a known time zone"),
        ("authors:\n  influencer_min_followers: -1\n", 7, "authors.influencer_min_followers",
         "greater than or equal to 0"),
        ("sentiment:\n  lexicon: {meh: 9}\n", 7, "sentiment.lexicon", "outside VADER"),
    ],
)
def test_broken_files_are_refused_with_file_line_key(addition, line, key, message):
    found = problems_of(MINIMAL + addition)
    expected = f"rules.yaml:{line}: {key}: "
    assert any(p.startswith(expected) and message in p for p in found), found


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        # missing channel
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {approvers: [U01]}\n"
         "default_team: support\n", 4, "teams.support.channel", "required key is missing"),
        # channel that is not a channel
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {channel: support}\n"
         "default_team: support\n", 4, "teams.support.channel", "is not a Slack channel"),
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {channel: C01, approvers: [bob]}\n"
         "default_team: support\n", 4, "teams.support.approvers", "not a Slack user"),
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {channel: C01, sla: {P1: soon}}\n"
         "default_team: support\n", 4, "teams.support.sla.P1", "is not a duration"),
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {channel: C01, sla: {P9: 1h}}\n"
         "default_team: support\n", 4, "teams.support.sla.P9", "'P1', 'P2', 'P3' or 'P4'"),
        ("version: 1\nbrand: {name: A}\nteams:\n  support: {channel: C01}\n"
         "default_team: sales\n", 5, "default_team", "unknown team 'sales'"),
        ("version: 1\nbrand: {name: A}\nteams: {}\ndefault_team: x\n", 3, "teams",
         "at least 1 item"),
        ("version: 2\nbrand: {name: A}\nteams:\n  s: {channel: C01}\ndefault_team: s\n",
         1, "version", "Input should be 1"),
        ("brand: {name: A}\nteams:\n  s: {channel: C01}\ndefault_team: s\nteams: {}\n",
         5, "teams", "duplicate key"),
        ("brand: {name: A}\nteams:\n  s: {channel: C01\n", 4, "(yaml)", ""),
        ("- just\n- a list\n", 1, "(top)", "expected a mapping"),
        ("", 1, "(top)", "the file is empty"),
    ],
)
def test_structural_problems(text, line, key, message):
    found = problems_of(text)
    assert any(p.startswith(f"rules.yaml:{line}: {key}: ") and message in p for p in found), found


def test_every_problem_is_reported_not_just_the_first():
    found = problems_of(MINIMAL + "colour: blue\nsources:\n  - {id: a, type: rss, every: 1y}\n"
                        "  - {id: b, type: rss}\n")
    assert len(found) >= 3  # unknown key, bad duration, missing url
    assert all(re.match(r"^rules\.yaml:\d+: \S+: .+", p) for p in found)


def test_duplicate_source_ids_and_rule_names():
    found = problems_of(MINIMAL + "sources:\n  - {id: a, type: rss, url: 'http://x'}\n"
                        "  - {id: a, type: rss, url: 'http://y'}\n"
                        "rules:\n  - {name: r, when: {source: b}, then: {priority: P1}}\n"
                        "  - {name: r, when: {lang: en}, then: {priority: P2}}\n")
    joined = "\n".join(found)
    assert "sources[1].id: duplicate source id 'a'" in joined
    assert "rules[1].name: duplicate rule name 'r'" in joined
    assert "rules[0].when.source[0]: unknown source 'b'" in joined


def test_load_rules_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(RulesError, match="no such file") as missing:
        load_rules(tmp_path / "nope.yaml")
    assert "socialbot init --brand" in str(missing.value)  # the fix, on the same line
    assert "\n" not in str(missing.value)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("brand: {name: Caf\xe9}\n".encode("latin-1"))
    with pytest.raises(RulesError, match="not UTF-8"):
        load_rules(bad)


@pytest.mark.parametrize(("text", "seconds"),
                         [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), (" 2h ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5", "5 minutes", "1w", "-5m", "0m", "", 5])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_most_urgent():
    assert most_urgent("P3", None, "P2", "P4") == "P2"
    assert most_urgent(None) is None


def test_schema_and_reference_errors_come_in_one_report():
    text = ("version: 1\n"
            "brand: {name: A}\n"
            "sources:\n"
            "  - {id: feed, type: rss, url: 'https://a.example/f', every: 5x}\n"
            "  - {id: feed, type: rss, url: 'https://a.example/g'}\n"
            "teams:\n"
            "  support: {channel: C01}\n"
            "default_team: support\n"
            "rules:\n"
            "  - {name: r, when: {source: nope}, then: {team: sales, outcome_hint: win}}\n")
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "r.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "r.yaml:4: sources[0].every: '5x' is not a duration; use a positive number with s, m, "
        "h or d (30s, 5m, 1h, 1d)",
        "r.yaml:5: sources[1].id: duplicate source id 'feed'",
        "r.yaml:10: rules[0].then.outcome_hint: unknown outcome 'win' (outcomes: resolved, lead, "
        "case_opened, feature_request, competitor_intel, no_action)",
        "r.yaml:10: rules[0].then.team: unknown team 'sales' (teams: support)",
        "r.yaml:10: rules[0].when.source[0]: unknown source 'nope'",
    ]
