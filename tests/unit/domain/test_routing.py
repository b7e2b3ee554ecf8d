"""bot.domain.scoring.routing: the rules, top to bottom, over the shipped policy and small inline ones."""

from __future__ import annotations

import re
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.mention import NETWORKS, Author, Mention
from bot.domain.rules.load import load_rules, parse_rules
from bot.domain.rules.schema import PRIORITIES, Condition
from bot.domain.scoring.cues import lower_for_matching
from bot.domain.scoring.enrich import Enrichment, enrich
from bot.domain.scoring.routing import RouteDecision, matches, required_text, route
from tests.support.paths import ROOT

SHIPPED = load_rules(ROOT / "routing_rules.yaml")


def mention(text: str = "hello", handle: str = "someone", followers: int = 100, *,
            network: str = "x", lang: str | None = "en", source_id: str | None = None
            ) -> Mention:
    return Mention(network=network, external_id="1", text=text,
                   author=Author(handle=handle, followers=followers), lang=lang,
                   source_id=source_id)


def scored(sentiment: str = "neutral", author_type: str = "customer",
           risk: tuple[str, ...] = (), priority: str = "P4") -> Enrichment:
    return Enrichment(compound=0.0, sentiment=sentiment, author_type=author_type, risk=risk,
                      score=10, priority=priority)


def decided(team, priority, approval, risk=(), hint=None, matched=()) -> RouteDecision:
    return RouteDecision(team=team, priority=priority, approval_required=approval,
                         risk=tuple(risk), outcome_hint=hint, matched_rules=tuple(matched))


# --- the shipped routing_rules.yaml (Northwind Air) ----------------------------------------

SHIPPED_CASES = [
    ("nothing matches", mention("Nice flight today"), scored(),
     decided("care", "P4", False)),
    ("legal threat", mention("I will SUE you"), scored(),
     decided("pr", "P1", True, ["legal"], None, ["legal threat"])),
    ("lost luggage", mention("You lost my bag at LHR"), scored(),
     decided("baggage", "P2", False, [], "case_opened", ["lost luggage"])),
    ("first team wins, hint from a later rule", mention("lost my luggage, calling my lawyer"),
     scored(), decided("pr", "P1", True, ["legal"], "case_opened",
                       ["legal threat", "lost luggage"])),
    ("regulator", mention("complaint sent to the ombudsman"), scored(),
     decided("pr", "P1", True, ["regulatory"], None, ["regulator"])),
    ("safety", mention("smoke in the cabin!"), scored(),
     decided("pr", "P1", True, ["safety"], None, ["safety"])),
    ("booking reference", mention("my booking ref: ABC123, please help"), scored(),
     decided("care", "P2", True, ["privacy"], None, ["personal data shared"])),
    ("card number (any: second branch)", mention("charged on 4111 1111 1111 1111 twice"),
     scored(), decided("care", "P2", True, ["privacy"], None, ["personal data shared"])),
    ("press", mention("Story on Northwind Air", "travelwirenews"), scored(author_type="press"),
     decided("pr", "P1", True, ["reputational"], None, ["press"])),
    ("competitor", mention("our fares beat theirs"), scored(author_type="competitor"),
     decided("pr", "P3", False, [], "competitor_intel", ["competitor talk"])),
    ("corporate lead, not negative", mention("looking for corporate travel rates"), scored(),
     decided("sales", "P4", False, [], "lead", ["corporate lead"])),
    ("corporate talk, negative: the not() fails", mention("corporate travel desk is useless"),
     scored(sentiment="negative"), decided("care", "P4", False)),
    ("feature wish", mention("please add wifi to the app"), scored(sentiment="positive"),
     decided("care", "P4", False, [], "feature_request", ["feature wish"])),
    ("angry influencer", mention("awful", followers=10_000), scored(sentiment="negative"),
     decided("care", "P1", True, ["reputational"], None, ["angry influencer"])),
    ("angry, 9,999 followers", mention("awful", followers=9_999), scored(sentiment="negative"),
     decided("care", "P4", False)),
    ("vip", mention("hi", "ceo_northwind"), scored(author_type="vip"),
     decided("care", "P2", True, [], None, ["vip"])),
    ("news and blogs", mention("Airline news", network="rss"), scored(),
     decided("pr", "P3", False, [], None, ["news and blogs"])),
    # The languages scoring reads go to the language team; one it can't read is P3 (unknown).
    ("international desk", mention("vol annulé", lang="fr"), scored(),
     decided("international", "P4", False, [], None, ["international desk"])),
    ("language not read", mention("東京", lang="ja"), scored(sentiment="unknown"),
     decided("care", "P3", False, [], None, ["language not read"])),
    ("no language is und", mention("hmm", lang=None), scored(), decided("care", "P4", False)),
    ("en-GB is English", mention("cheers", lang="en-GB"), scored(), decided("care", "P4", False)),
    ("the enrichment's P1 beats a rule's P3", mention("Airline news", network="rss"),
     scored(priority="P1"), decided("pr", "P1", False, [], None, ["news and blogs"])),
    # (legal and regulatory risks also match a shipped rule's `risk:` condition)
    ("an enrichment risk in approval_for_risk", mention("hello"), scored(risk=("safety",)),
     decided("care", "P4", True, ["safety"])),
    ("an enrichment's legal risk, in any language", mention("hola"), scored(risk=("legal",)),
     decided("pr", "P1", True, ["legal"], None, ["legal or regulator, any language"])),
    ("an enrichment risk outside approval_for_risk", mention("hello"),
     scored(risk=("privacy",)), decided("care", "P4", False, ["privacy"])),
    ("risks: the enrichment's first, then the rules', no repeats",
     mention("sue you", "travelwirenews"), scored(author_type="press", risk=("security", "legal")),
     decided("pr", "P1", True, ["security", "legal", "reputational"], None,
             ["legal threat", "legal or regulator, any language", "press"])),
]


@pytest.mark.parametrize(("m", "e", "expected"), [c[1:] for c in SHIPPED_CASES],
                         ids=[c[0] for c in SHIPPED_CASES])
def test_shipped_rules(m, e, expected):
    assert route(m, e, SHIPPED) == expected


def test_shipped_rules_end_to_end_with_enrich():
    from datetime import UTC, datetime

    m = Mention(network="x", external_id="9", text="@NorthwindAir you lost my bag, I will sue",
                author=Author("jo", followers=40), lang="en", mentions_brand=True)
    e = enrich(m, SHIPPED, now=datetime(2026, 3, 2, tzinfo=UTC))
    d = route(m, e, SHIPPED)
    assert (d.team, d.priority, d.approval_required) == ("pr", "P1", True)
    assert d.risk == ("legal",)  # built-in and rule risk, once
    assert d.matched_rules == (
        "legal threat", "legal or regulator, any language", "lost luggage")


# --- small inline rule sets ---------------------------------------------------------------

BASE = """
version: 1
brand: {name: Acme, x_username: Acme}
teams:
  a: {channel: C0AAAAAAAAA}
  b: {channel: C0BBBBBBBBB}
  c: {channel: C0CCCCCCCCC}
default_team: a
outcomes: [lead, resolved, no_action]
policy: {approval_for_risk: [legal]}
"""


def rules_of(rules_yaml: str):
    return parse_rules(BASE + "rules:\n" + rules_yaml)


@pytest.mark.parametrize(("rules_yaml", "expected"), [
    pytest.param("""
  - {name: one, when: {text_matches: x}, then: {team: b}}
  - {name: two, when: {text_matches: x}, then: {team: c}}
""", decided("b", "P4", False, [], None, ["one", "two"]), id="first team wins"),
    pytest.param("""
  - {name: teamless, when: {text_matches: x}, then: {priority: P3}}
  - {name: two, when: {text_matches: x}, then: {team: c}}
  - {name: three, when: {text_matches: x}, then: {team: b}}
""", decided("c", "P3", False, [], None, ["teamless", "two", "three"]),
        id="first rule that names a team"),
    pytest.param("""
  - {name: p3, when: {text_matches: x}, then: {priority: P3}}
  - {name: p2, when: {text_matches: x}, then: {priority: P2}}
  - {name: p4, when: {text_matches: x}, then: {priority: P4}}
""", decided("a", "P2", False, [], None, ["p3", "p2", "p4"]), id="most urgent priority wins"),
    pytest.param("""
  - {name: needs, when: {text_matches: x}, then: {approval: required}}
  - {name: waives, when: {text_matches: x}, then: {approval: not_required}}
""", decided("a", "P4", True, [], None, ["needs", "waives"]), id="required then not_required"),
    pytest.param("""
  - {name: waives, when: {text_matches: x}, then: {approval: not_required}}
  - {name: needs, when: {text_matches: x}, then: {approval: required}}
""", decided("a", "P4", True, [], None, ["waives", "needs"]), id="not_required then required"),
    pytest.param("""
  - {name: waives, when: {text_matches: x}, then: {approval: not_required}}
""", decided("a", "P4", False, [], None, ["waives"]), id="not_required alone"),
    pytest.param("""
  - {name: waives, when: {text_matches: x}, then: {approval: not_required, risk: legal}}
""", decided("a", "P4", True, ["legal"], None, ["waives"]),
        id="approval_for_risk beats not_required"),
    pytest.param("""
  - {name: r, when: {text_matches: x}, then: {risk: [privacy, reputational]}}
""", decided("a", "P4", False, ["privacy", "reputational"], None, ["r"]),
        id="risks outside approval_for_risk"),
    pytest.param("""
  - {name: first, when: {text_matches: x}, then: {}}
  - {name: never, when: {text_matches: zzz}, then: {team: c}}
  - {name: second, when: {text_matches: x}, then: {outcome_hint: lead}}
  - {name: third, when: {text_matches: x}, then: {outcome_hint: resolved}}
""", decided("a", "P4", False, [], "lead", ["first", "second", "third"]),
        id="matched_rules in file order; first hint"),
    pytest.param("""
  - {name: switched off, enabled: false, when: {text_matches: x}, then: {team: b,
     priority: P1, approval: required, risk: legal}}
  - {name: live, when: {text_matches: x}, then: {team: c}}
""", decided("c", "P4", False, [], None, ["live"]), id="disabled rules are skipped"),
    pytest.param("""
  - {name: never, when: {text_matches: zzz}, then: {team: c}}
""", decided("a", "P4", False), id="default team"),
    pytest.param("""
  - {name: r1, when: {text_matches: x}, then: {risk: [legal, privacy]}}
  - {name: r2, when: {text_matches: x}, then: {risk: [privacy, security, legal]}}
""", decided("a", "P4", True, ["legal", "privacy", "security"], None, ["r1", "r2"]),
        id="risk is an ordered union"),
])
def test_inline_rule_sets(rules_yaml, expected):
    assert route(mention("x marks the spot"), scored(), rules_of(rules_yaml)) == expected


def test_no_rules_at_all():
    rules = parse_rules(BASE)
    assert route(mention(), scored(priority="P2", risk=("legal",)), rules) == decided(
        "a", "P2", True, ["legal"])


def test_a_reloaded_rules_value_is_used_not_a_stale_plan():
    one = rules_of("  - {name: r, when: {text_matches: x}, then: {team: b}}\n")
    two = rules_of("  - {name: r, when: {text_matches: x}, then: {team: c}}\n")
    for _ in range(3):
        assert route(mention("x"), scored(), one).team == "b"
        assert route(mention("x"), scored(), two).team == "c"


# --- conditions, one key at a time and nested ---------------------------------------------

def cond(when_yaml: str) -> Condition:
    return Condition.model_validate(yaml.safe_load(when_yaml))


CONDITION_CASES = [
    # (id, when, mention, enrichment, holds)
    ("regex, case-insensitive", "{text_matches: 'LOST (my )?bag'}", mention("Lost my BAG"),
     scored(), True),
    ("any regex of a list", "{text_matches: [zzz, 'b.g']}", mention("big"), scored(), True),
    ("no regex matches", "{text_matches: [zzz, yyy]}", mention("big"), scored(), False),
    ("author_type", "{author_type: [press, vip]}", mention(), scored(author_type="vip"), True),
    ("author_type, other", "{author_type: press}", mention(), scored(), False),
    ("author_in, @ and case", "{author_in: ['@Jo_B', ann]}", mention(handle="jo_b"), scored(),
     True),
    ("author_in, handle with @", "{author_in: [jo_b]}", mention(handle="@JO_B"), scored(), True),
    ("author_in, other", "{author_in: [jo_b]}", mention(handle="jo_bb"), scored(), False),
    ("sentiment", "{sentiment: [negative, neutral]}", mention(), scored(), True),
    ("sentiment, other", "{sentiment: positive}", mention(), scored(), False),
    ("followers_at_least, equal", "{followers_at_least: 100}", mention(followers=100), scored(),
     True),
    ("followers_at_least, below", "{followers_at_least: 101}", mention(followers=100), scored(),
     False),
    ("network", "{network: [mastodon, rss]}", mention(network="rss"), scored(), True),
    ("network, other", "{network: x}", mention(network="bluesky"), scored(), False),
    ("source", "{source: x-search}", mention(source_id="x-search"), scored(), True),
    ("source, none", "{source: x-search}", mention(source_id=None), scored(), False),
    ("lang", "{lang: en}", mention(lang="EN"), scored(), True),
    ("lang, subtag", "{lang: en}", mention(lang="en-GB"), scored(), True),
    ("lang, not a prefix", "{lang: e}", mention(lang="en"), scored(), False),
    ("lang, none is und", "{lang: und}", mention(lang=None), scored(), True),
    ("risk", "{risk: [legal, safety]}", mention(), scored(risk=("privacy", "safety")), True),
    ("risk, other", "{risk: legal}", mention(), scored(risk=("privacy",)), False),
    ("two keys: both hold", "{text_matches: bag, network: x}", mention("bag"), scored(), True),
    ("two keys: one fails", "{text_matches: bag, network: rss}", mention("bag"), scored(),
     False),
    ("all", "{all: [{text_matches: bag}, {sentiment: neutral}]}", mention("bag"), scored(),
     True),
    ("all, one fails", "{all: [{text_matches: bag}, {sentiment: negative}]}", mention("bag"),
     scored(), False),
    ("any", "{any: [{text_matches: zzz}, {network: x}]}", mention(), scored(), True),
    ("any, none", "{any: [{text_matches: zzz}, {network: rss}]}", mention(), scored(), False),
    ("not", "{not: {network: rss}}", mention(), scored(), True),
    ("not, fails", "{not: {network: x}}", mention(), scored(), False),
    ("all › any › not",
     "{all: [{text_matches: bag}, {any: [{network: rss}, {not: {sentiment: negative}}]}]}",
     mention("bag"), scored(), True),
    ("all › any › not, negative",
     "{all: [{text_matches: bag}, {any: [{network: rss}, {not: {sentiment: negative}}]}]}",
     mention("bag"), scored(sentiment="negative"), False),
    ("not › any › all",
     "{not: {any: [{all: [{network: x}, {followers_at_least: 10}]}, {lang: fr}]}}",
     mention(followers=5), scored(), True),
    ("not › any › all, inner holds",
     "{not: {any: [{all: [{network: x}, {followers_at_least: 10}]}, {lang: fr}]}}",
     mention(followers=50), scored(), False),
    ("a key beside all/any/not must hold too",
     "{network: rss, any: [{text_matches: bag}]}", mention("bag"), scored(), False),
]


@pytest.mark.parametrize(("when", "m", "e", "holds"), [c[1:] for c in CONDITION_CASES],
                         ids=[c[0] for c in CONDITION_CASES])
def test_conditions(when, m, e, holds):
    assert matches(cond(when), m, e) is holds


# --- the substring shortcut in front of text_matches ---------------------------------------

@pytest.mark.parametrize(("pattern", "needles"), [
    (r"\bsue\b", ("sue",)),
    (r"\bdot\b complaint", ("dot complaint",)),
    (r"booking ref(erence)?:? ?[A-Z0-9]{6}", ("booking ref",)),
    (r"eu ?261", ("261",)),
    (r"lost (my )?(bag|luggage|suitcase)", ("lost ",)),
    (r"(wish|would love|please add).*(app|wifi)", ("wish", "would love", "please add")),
    (r"(?:bag|suitcase)s? (lost|gone)", ("lost", "gone")),  # the longer of two choices
    (r"(?:bag|suitcase)s? (lost|go)", ("bag", "suitcase")),
    (r"Passport", ("passport",)),
    (r"a|b", None),
    (r"\b\d{4}", None),
    (r"(?:foo|ba)r", None),  # "ba" is too short to be worth a test
    (r"ab", None),
    (r"x*yz", None),
    (r"(abc)\1", ("abc",)),
    (r"(?=abc)x", None),
    (r"café", ("caf",)),  # non-ASCII ends a run
    (r"ñoño", None),
    (r"(?x) lost \s my", ("lost",)),
])
def test_required_text(pattern, needles):
    assert required_text(pattern) == needles


def test_lower_for_matching_covers_every_letter_regex_equates_with_ascii():
    """For each character that re.IGNORECASE matches to an ASCII letter, lower_for_matching
    gives that letter: so `needle in lower_for_matching(text)` never misses a match."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if letter.fullmatch(ch):
            low = lower_for_matching(ch)
            assert len(low) == 1 and re.fullmatch(low, ch, re.IGNORECASE), (hex(cp), low)


PATTERNS = [r"\bsue\b", r"lost (my )?(bag|luggage)", r"(wish|would love).*(app|wifi)",
            r"kiss", r"SIS", r"\bdot\b complaint", r"\d{3}"]


PATTERN_RULES = rules_of("".join(
    f"  - {{name: r{i}, when: {{text_matches: '{p}'}}, then: {{}}}}\n"
    for i, p in enumerate(PATTERNS)))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="sueİıſKkiIlostmybagwh dpcomlnt9ΣσςẞßLOST!\n", max_size=40))
def test_the_shortcut_never_changes_what_matches(text):
    expected = tuple(f"r{i}" for i, p in enumerate(PATTERNS)
                     if re.search(p, text, re.IGNORECASE))
    assert route(mention(text), scored(), PATTERN_RULES).matched_rules == expected


# --- whatever comes in, a decision comes out ----------------------------------------------

@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), followers=st.integers(min_value=-10, max_value=10**10),
       network=st.sampled_from(NETWORKS), lang=st.none() | st.text(max_size=6),
       handle=st.text(max_size=20), mentions_brand=st.booleans())
def test_routing_never_raises_and_always_decides(text, followers, network, lang, handle,
                                                  mentions_brand):
    from datetime import UTC, datetime

    m = Mention(network=network, external_id="1", text=text,
                author=Author(handle=handle, followers=followers), lang=lang,
                mentions_brand=mentions_brand)
    e = enrich(m, SHIPPED, now=datetime(2026, 3, 2, tzinfo=UTC))
    d = route(m, e, SHIPPED)
    assert d.team in SHIPPED.teams
    assert d.priority in PRIORITIES
    assert 0 <= e.score <= 100 and e.priority in PRIORITIES
    assert set(d.matched_rules) <= {r.name for r in SHIPPED.rules}
    assert len(set(d.risk)) == len(d.risk)
