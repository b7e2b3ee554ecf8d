"""bot.offline.tune.patch: `socialbot tune --write` edits a copy of the rules file as text, keeping its
comments and layout, and the result parses to what was replayed."""

from __future__ import annotations

import io

import pytest

from bot.cli import main
from bot.domain.rules.load import parse_rules
from bot.offline.tune import proposals as tune
from bot.offline.tune.patch import PatchError, patch
from tests.support.paths import ROOT

SHIPPED = (ROOT / "routing_rules.yaml").read_text("utf-8")

RULE = {"name": "tune: care to sales", "when": {"text_matches": [r"\bcharter\b"]},
        "then": {"team": "sales"}}
ALL_KINDS = [
    {"op": "lexicon", "word": "rerouted", "valence": -2.5},
    {"op": "lexicon", "word": "on hold", "valence": -3.0},  # an existing entry: replaced
    {"op": "lexicon", "word": "yes", "valence": 1.5},  # YAML would read a bare yes as true
    {"op": "authors", "kind": "press", "handles": ["TravelBloggr"]},
    {"op": "authors", "kind": "customer", "handles": ["skylark_airways"]},  # out of competitor
    {"op": "drop_rule_priority", "index": 11, "name": "vip"},
    {"op": "add_rule", "rule": RULE, "before": 7},
    {"op": "add_rule", "rule": {**RULE, "name": "tune: raise to P1",
                                "then": {"priority": "P1"}}, "before": None},
]


def test_shipped_file_patched_with_every_kind_of_edit(tmp_path):
    text = patch(SHIPPED, ALL_KINDS)
    rules = parse_rules(text)
    assert rules.sentiment.lexicon["rerouted"] == -2.5
    assert rules.sentiment.lexicon["on hold"] == -3.0
    assert rules.sentiment.lexicon["yes"] == 1.5
    assert rules.authors.press[-1] == "TravelBloggr"
    assert "skylark_airways" in rules.authors.customer
    assert "skylark_airways" not in rules.authors.competitor
    names = [r.name for r in rules.rules]
    assert names[7] == "tune: care to sales" and names[8] == "lost luggage"
    assert names[-1] == "tune: raise to P1"
    vip = next(r for r in rules.rules if r.name == "vip")
    assert vip.then.priority is None and vip.then.approval == "required"
    # Everything else is as it was: comments and untouched lines kept.
    kept = [line for line in SHIPPED.splitlines() if line not in text.splitlines()]
    assert len(kept) == 5, kept  # on hold; the press, competitor and customer lists; vip
    assert "# socialbot policy for Northwind Air" in text
    assert "# domain words and phrases on top of VADER" in text
    # And `socialbot check` accepts it.
    path = tmp_path / "proposed.yaml"
    path.write_text(text, "utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "--rules", str(path)], out=out, err=err) == 0, err.getvalue()
    assert "ok — 5 teams, 17 rules" in out.getvalue()


MINIMAL = """\
brand: {name: Acme}
teams: {care: {channel: C0CARE}, sales: {channel: C0SALES}}
default_team: care
"""


@pytest.mark.parametrize("text", [
    MINIMAL,  # no sentiment, authors or rules at all
    MINIMAL + "sentiment: {lexicon: {}}\nauthors: {press: []}\nrules: []\n",
    MINIMAL + "sentiment: {lexicon: {late: -1}}\nauthors: {press: [a]}\n"
              "rules: [{name: r, when: {text_matches: [x]}, then: {team: care, priority: P2}}]\n",
    MINIMAL + "sentiment:\n  lexicon:\n    late: -1   # a comment\n  negative_below: -0.1\n"
              "authors:\n  press:\n    - a\n    - b\n  vip: [c]\n\n# rules\nrules:\n"
              "  - name: r\n    when:\n      text_matches: [x]\n    then:\n      team: care\n"
              "      priority: P2\n\n# the end\n",
    MINIMAL + "sentiment:\n  negative_below: -0.1\nauthors:\n  influencer_min_followers: 5\n"
              "rules:\n- {name: r, when: {text_matches: [x]}, then: {priority: P2, team: care}}",
], ids=["missing", "empty-flow", "flow", "block", "block-no-lexicon"])
def test_layouts(text):
    edits = [{"op": "lexicon", "word": "rerouted", "valence": -2.5},
             {"op": "authors", "kind": "press", "handles": ["newsy"]},
             {"op": "add_rule", "rule": RULE, "before": None}]
    original = parse_rules(text)
    if original.rules:
        edits += [{"op": "add_rule", "rule": {**RULE, "name": "first"}, "before": 0},
                  {"op": "drop_rule_priority", "index": 0, "name": "r"}]
    patched = patch(text, edits)  # raises unless it parses to tune.apply(...)
    rules = parse_rules(patched)
    assert rules.model_dump() == tune.apply(original, edits).model_dump()
    assert rules.sentiment.lexicon["rerouted"] == -2.5 and "newsy" in rules.authors.press
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            assert line in patched  # comments stay


@pytest.mark.parametrize("then", ["{priority: P2}", "\n      priority: P2"])
def test_dropping_the_only_key_leaves_an_empty_then(then):
    text = MINIMAL + f"rules:\n  - name: r\n    when: {{text_matches: [x]}}\n    then: {then}\n"
    patched = patch(text, [{"op": "drop_rule_priority", "index": 0, "name": "r"}])
    assert "{}" in patched and "P2" not in patched
    assert parse_rules(patched).rules[0].then.priority is None


def test_patch_refuses_a_file_that_would_not_say_what_was_replayed(monkeypatch):
    from bot.offline.tune import patch as rules_patch

    # A patcher that forgets the edit: the check at the end catches it.
    monkeypatch.setattr(rules_patch, "_apply_one", lambda text, edit: text)
    with pytest.raises(PatchError, match="does not say what was replayed"):
        patch(MINIMAL, [{"op": "lexicon", "word": "late", "valence": -1.0}])


@pytest.mark.parametrize("text", [
    MINIMAL,  # no sentiment at all
    MINIMAL + "sentiment: {lexicon: {late: -1}}\n",  # no lexicons
    MINIMAL + "sentiment:\n  lexicons:\n    es: {retraso: -1.5}\n",  # another language only
    MINIMAL + "sentiment:\n  lexicons:\n    fr:\n      retard: -1.5   # late\n",  # block
], ids=["missing", "no-lexicons", "other-language", "block"])
def test_a_word_of_another_language_goes_to_its_lexicon(text):
    edits = [{"op": "lexicon", "word": "dérouté", "valence": -2.5, "lang": "fr"}]
    patched = patch(text, edits)
    rules = parse_rules(patched)
    assert rules.model_dump() == tune.apply(parse_rules(text), edits).model_dump()
    assert rules.sentiment.lexicons["fr"]["dérouté"] == -2.5
    assert "dérouté" not in rules.sentiment.lexicon
    assert rules.sentiment.lexicons.get("es", {}) == parse_rules(text).sentiment.lexicons.get("es", {})


@pytest.mark.parametrize("text", [
    MINIMAL,  # no complaint section
    MINIMAL + "complaint: {cues: {sw: [imekwama]}}\n",  # flow, the language there
    MINIMAL + "complaint:\n  threshold_shift: -0.05   # flag more\n  cues:\n    en:\n"
              "      - card swallowed\n",  # block, another language and a shift already
], ids=["missing", "flow", "block"])
def test_complaint_cues_and_the_threshold_shift(text):
    edits = [{"op": "complaint_cue", "lang": "sw", "cue": "imekwama"},
             {"op": "complaint_cue", "lang": "sw", "cue": "hamna huduma"},
             {"op": "complaint_threshold", "shift": 0.1}]
    patched = patch(text, edits)
    rules = parse_rules(patched)
    assert rules.model_dump() == tune.apply(parse_rules(text), edits).model_dump()
    assert rules.complaint.cues["sw"] == ["imekwama", "hamna huduma"]
    assert rules.complaint.threshold_shift == 0.1
    assert rules.complaint.cues.get("en") == parse_rules(text).complaint.cues.get("en")
    assert ("# flag more" in patched) == ("# flag more" in text)
