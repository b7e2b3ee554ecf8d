"""The rules' P1s as search cues (bot.domain.rules.urgent): what a network's search can ask
for first while a storm's backlog is read."""

from __future__ import annotations

import pytest

from bot.domain.rules.schema import Rules
from bot.domain.rules.urgent import Cue, phrases_of, urgent_cues
from tests.support.fault_scenarios import RULES


@pytest.mark.parametrize(("pattern", "phrases"), [
    (r"\bsue\b", ["sue"]),
    ("small claims", ["small claims"]),
    ("eu ?261", ["eu 261", "eu261"]),
    (r"\bdot\b complaint", ["dot complaint"]),
    ("Lost (my )?(bag|luggage)", ["lost my bag", "lost my luggage", "lost bag", "lost luggage"]),
    ("(?:sue|suing) you", ["sue you", "suing you"]),
    (r"booking ref(erence)?:? ?[A-Z0-9]{6}", None),  # a class: no search can say it
    (r"\b\d{4}\b", None),
    ("smoke.*cabin", None),
    ("^sue$", None),
    ("(a|b)(c|d)(e|f)(g|h)(i|j)", None),  # 32 phrases: more than a query should carry
    ("(unbalanced", None),
])
def test_phrases_of_a_pattern(pattern, phrases):
    assert phrases_of(pattern) == phrases


def test_the_shipped_rules_p1_cues_come_from_the_p1_rules_only():
    cues = urgent_cues(RULES, network="x")
    words = [c.value for c in cues if c.kind == "words"]
    assert words[:5] == ["sue", "lawsuit", "lawyer", "attorney", "small claims"]
    assert {"ombudsman", "eu 261", "smoke", "unsafe"} <= set(words)
    assert "lost my bag" not in words  # lost luggage is P2
    assert [c.value for c in cues if c.kind == "author"] == RULES.authors.press
    # the angry influencer (sentiment and followers) gives none: no search can say it


def rules(*rules: dict) -> Rules:
    return RULES.model_copy(update={"rules": [
        RULES.rules[0].model_validate(r) for r in rules]})


def p1(when: dict) -> dict:
    return {"name": "r", "when": when, "then": {"priority": "P1"}}


def test_conditions_reduce_to_cues_every_match_carries():
    both = rules(p1({"all": [{"sentiment": "negative"}, {"text_matches": ["refund now"]}]}))
    assert urgent_cues(both, network="x") == (Cue("words", "refund now"),)
    either = rules(p1({"any": [{"text_matches": "sue"}, {"author_in": ["@Critic"]}]}))
    assert urgent_cues(either, network="x") == (Cue("words", "sue"), Cue("author", "critic"))
    loose = rules(p1({"any": [{"text_matches": "sue"}, {"followers_at_least": 10}]}))
    assert urgent_cues(loose, network="x") == ()  # one branch no search can say
    negated = rules(p1({"not": {"text_matches": "thanks"}}))
    assert urgent_cues(negated, network="x") == ()


def test_rules_of_other_networks_or_sources_or_below_p1_give_no_cue():
    other = rules(p1({"network": "rss", "text_matches": "sue"}),
                  p1({"source": "x-search", "text_matches": "lawyer"}),
                  {"name": "p2", "when": {"text_matches": "refund"}, "then": {"priority": "P2"}},
                  {**p1({"text_matches": "off"}), "name": "off", "enabled": False})
    assert urgent_cues(other, network="x", source_id="x-mentions") == ()
    assert urgent_cues(other, network="x", source_id="x-search") == (Cue("words", "lawyer"),)
