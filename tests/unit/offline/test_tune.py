"""bot.offline.tune.proposals: proposals from corrections, and their replayed effect (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules, parse_rules
from bot.offline.tune import proposals as tune
from tests.support.paths import ROOT

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules():
    return load_rules(ROOT / "routing_rules.yaml")


def case(i: int, text: str, handle: str = "bob", followers: int = 50, **truth: str) -> tune.Case:
    m = Mention("x", str(i), text, Author(handle, followers=followers), created_at=NOW)
    return tune.Case(i, m, NOW, truth=truth)


BACKGROUND = [
    "lovely flight today", "seat 12A was comfy", "landed in Oslo", "Denver is cold",
    "what time is boarding?", "crew were friendly on the way to Leeds", "booked for June",
    "Northwind app works fine", "window seat again", "first time in Lisbon",
]


def background(start: int = 100) -> list[tune.Case]:
    return [case(start + k, t) for k, t in enumerate(BACKGROUND)]


def by_kind(proposals: list[tune.Proposal], kind: str) -> list[tune.Proposal]:
    return [p for p in proposals if p.kind == kind]


def test_lexicon_word_for_mentions_corrected_to_negative(rules):
    cases = [
        case(1, "@NorthwindAir my flight got rerouted through Denver", sentiment="negative"),
        case(2, "@NorthwindAir they rerouted my trip via Oslo", sentiment="negative"),
        case(3, "rerouted to Leeds, @NorthwindAir", sentiment="negative"),
        case(4, "@NorthwindAir rerouted twice this week", sentiment="negative"),
        case(5, "@NorthwindAir rerouted via Paris"),  # not corrected: a side effect
        *background(),
    ]
    proposals, replay, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "lexicon")
    # The smallest valence of the grid that puts all four right.
    assert p.edit == {"op": "lexicon", "word": "rerouted", "valence": -1.5}
    fe = p.effect.of("sentiment")
    assert fe.corrected == 4 and fe.right_before == 0 and fe.right_after == 4
    assert set(fe.fixed) == {1, 2, 3, 4} and fe.broken == ()
    # Mention 5 has the word and no correction: it turns negative too, and is counted.
    assert replay.base[4].sentiment == "neutral"
    assert fe.changed_others == 1
    assert {(c.mention_id, c.after) for c in p.effect.changes if c.field == "sentiment"} == \
        {(1, "negative"), (2, "negative"), (3, "negative"), (4, "negative"), (5, "negative")}
    assert p.effect.of("priority").changed_others == 5  # negative → likely complaint points
    assert "4 of the 4" in p.why and "1 of the 11 others" in p.why


def test_lexicon_words_of_another_language_go_to_its_own_lexicon(rules):
    def fr(i: int, text: str, **truth: str) -> tune.Case:
        m = Mention("x", str(i), text, Author("marie", followers=50), created_at=NOW, lang="fr")
        return tune.Case(i, m, NOW, truth=truth)
    cases = [
        fr(1, "@NorthwindAir mon vol est dérouté par Oslo", sentiment="negative"),
        fr(2, "@NorthwindAir encore dérouté, par Denver cette fois", sentiment="negative"),
        fr(3, "dérouté vers Leeds avec @NorthwindAir", sentiment="negative"),
        fr(4, "@NorthwindAir dérouté deux fois cette semaine", sentiment="negative"),
        *[fr(100 + k, t) for k, t in enumerate((
            "bonjour depuis Oslo", "le vol part à midi", "arrivée à Lisbonne", "siège 12A",
            "réservé pour juin", "première fois à Leeds"))],
        *background(200),  # English: compared with its own, never proposed for French
    ]
    assert {tune.score(c, rules).enrichment.lang for c in cases[:4]} == {"fr"}
    proposals, _, _ = tune.propose(cases, rules)
    found = by_kind(proposals, "lexicon")
    assert [p.edit["word"] for p in found] == ["dérouté"]
    [p] = found
    assert p.edit["lang"] == "fr" and p.edit["valence"] < 0
    assert "sentiment.lexicons.fr" in p.title and "in fr" in p.why
    assert p.effect.of("sentiment").right_after == 4
    applied = tune.apply(rules, [p.edit])
    assert applied.sentiment.lexicons["fr"]["dérouté"] == p.edit["valence"]
    assert "dérouté" not in applied.sentiment.lexicon


def test_lexicon_needs_min_support(rules):
    cases = [case(1, "rerouted via Oslo", sentiment="negative"),
             case(2, "rerouted via Rome", sentiment="negative"), *background()]
    proposals, _, _ = tune.propose(cases, rules, min_support=3)
    assert by_kind(proposals, "lexicon") == []
    proposals, _, _ = tune.propose(cases, rules, min_support=2)
    assert [p.edit["word"] for p in by_kind(proposals, "lexicon")] == ["rerouted"]


def test_positive_direction_gets_positive_valence(rules):
    cases = [case(k, f"the lounge had shakshuka {k}", sentiment="positive") for k in range(1, 5)]
    proposals, _, _ = tune.propose([*cases, *background()], rules)
    found = {p.edit["word"]: p.edit["valence"] for p in by_kind(proposals, "lexicon")}
    assert set(found) == {"lounge", "shakshuka"}  # both only in staff's four
    assert all(v > 0 for v in found.values())


def test_author_list_addition(rules):
    cases = [
        case(1, "great blog post about lounges", handle="TravelBloggr", author_type="press"),
        case(2, "another post about lounges", handle="travelbloggr"),  # same author, uncorrected
        *background(),
    ]
    proposals, _, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "authors")
    assert p.edit == {"op": "authors", "kind": "press", "handles": ["TravelBloggr"]}
    fe = p.effect.of("author_type")
    assert fe.fixed == (1,) and fe.broken == ()
    assert fe.changed_others == 1  # the same author's other mention
    # The press rule then sends both to pr: shown as team changes.
    assert p.effect.of("team").changed_others == 2
    changed = tune.apply(rules, [p.edit])
    assert "TravelBloggr" in changed.authors.press


def test_author_moved_out_of_a_list_that_outranks_it(rules):
    # skylark_airways is listed as a competitor; staff say it is a customer.
    cases = [case(1, "my skylark flight was late", handle="skylark_airways",
                  author_type="customer"), *background()]
    proposals, _, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "authors")
    changed = tune.apply(rules, [p.edit])
    assert "skylark_airways" not in changed.authors.competitor
    assert "skylark_airways" in changed.authors.customer
    assert p.effect.of("author_type").fixed == (1,)
    assert "out of authors.competitor" in p.title


def test_influencer_correction_is_a_note_not_a_proposal(rules):
    cases = [case(1, "hello", handle="bigname", followers=500, author_type="influencer"),
             *background()]
    proposals, _, notes = tune.propose(cases, rules)
    assert by_kind(proposals, "authors") == []
    assert any("influencer" in n for n in notes)


CHARTER = [
    "Do you run charter flights for our football club?",
    "Quote for a charter to Ibiza please @NorthwindAir",
    "Looking at charter options for 40 people",
    "need a charter for the choir",
]


def test_team_rule_for_repeated_reassignment(rules):
    cases = [*(case(k, t, team="sales") for k, t in enumerate(CHARTER, 1)),
             case(9, "charter flight was cancelled, furious"),  # care, uncorrected: moved too
             *background()]
    proposals, _, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "rule")
    rule = p.edit["rule"]
    assert rule["then"] == {"team": "sales"}
    assert rule["when"] == {"text_matches": [r"\bcharter\b"]}
    assert p.edit["before"] is None  # care is the default team: no rule to get above
    fe = p.effect.of("team")
    assert set(fe.fixed) == {1, 2, 3, 4} and fe.broken == ()
    assert fe.changed_others == 1
    assert "4 mentions from care to sales" in p.why


def test_team_rule_goes_above_the_rule_that_routed_them(rules):
    # The "news and blogs" rule sends RSS items to pr; staff move the fare ones to sales.
    def rss(i: int, text: str, **truth: str) -> tune.Case:
        m = Mention("rss", str(i), text, Author("feed"), created_at=NOW)
        return tune.Case(i, m, NOW, truth=truth)

    cases = [rss(1, "Northwind fare sale to Rome", team="sales"),
             rss(2, "fare sale: Lisbon from 49", team="sales"),
             rss(3, "Big fare sale this weekend", team="sales"),
             rss(4, "Northwind CEO interview"), *background()]
    proposals, _, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "rule")
    names = [r.name for r in rules.rules]
    assert p.edit["before"] == names.index("news and blogs")
    changed = tune.apply(rules, [p.edit])
    assert [r.name for r in changed.rules].index(p.edit["rule"]["name"]) == \
        names.index("news and blogs")
    assert set(p.effect.of("team").fixed) == {1, 2, 3}
    assert p.effect.of("team").changed_others == 0  # the interview stays with pr


def test_priority_raise_rule(rules):
    cases = [case(1, "Is a wheelchair available at gate 5?", priority="P1"),
             case(2, "wheelchair assistance never showed up", priority="P1"),
             case(3, "no wheelchair at arrival", priority="P1"), *background()]
    proposals, _, _ = tune.propose(cases, rules)
    [p] = by_kind(proposals, "rule")
    assert p.edit["rule"]["then"] == {"priority": "P1"}
    assert set(p.effect.of("priority").fixed) == {1, 2, 3}


def test_priority_lowered_by_a_rule_drops_its_priority(rules):
    cases = [case(k, t, handle="ceo_northwind", priority="P4") for k, t in enumerate(
        ["Thank you so much, best crew", "Proud of the team today", "New route to Lisbon!"], 1)]
    proposals, _, _ = tune.propose([*cases, *background()], rules)
    [p] = by_kind(proposals, "rule_priority")
    assert p.edit == {"op": "drop_rule_priority", "index": 11, "name": "vip"}
    assert rules.rules[11].name == "vip"
    assert set(p.effect.of("priority").fixed) == {1, 2, 3}
    changed = tune.apply(rules, [p.edit])
    assert changed.rules[11].then.priority is None
    assert changed.rules[11].then.approval == "required"  # the rest of the rule stays


def test_priority_lowered_below_the_score_is_a_note(rules):
    cases = [case(1, "@NorthwindAir flight cancelled, stranded, no one answers, furious!!",
                  priority="P4"), *background()]
    proposals, replay, notes = tune.propose(cases, rules)
    assert replay.base[0].priority != "P4"
    assert not by_kind(proposals, "rule_priority")
    assert any("a rule can only raise a priority" in n for n in notes)


def test_corrections_already_right_propose_nothing(rules):
    cases = [case(k, f"flight cancelled and stranded again {k}", sentiment="negative")
             for k in range(1, 6)]
    proposals, replay, _ = tune.propose(cases, rules)
    assert proposals == []
    assert tune.right_now(replay)["sentiment"] == 5


def test_targeted_replay_equals_full_replay(rules):
    """The shortcuts (only texts with the word, only the handles, routing only) give what
    scoring everything again gives."""
    cases = [*(case(k, t, team="sales") for k, t in enumerate(CHARTER, 1)),
             case(5, "rerouted again", sentiment="negative"),
             case(6, "post", handle="skiftnews"), case(7, "post", handle="other"),
             *background()]
    replay = tune.Replay(cases, rules)
    lex = tune.with_lexicon(rules, {"rerouted": -3.5, "lovely": -3.0})
    assert replay.effect(lex, words=["rerouted", "lovely"]) == replay.effect(lex)
    lists = tune.author_lists_after(rules, "customer", ["skiftnews", "other"])
    authors = tune.with_author_lists(rules, lists)
    assert replay.effect(authors, handles=["skiftnews", "other"]) == replay.effect(authors)
    ruled = tune.with_rule(rules, {"name": "x", "when": {"text_matches": ["charter"]},
                                   "then": {"team": "sales", "priority": "P1"}}, 0)
    assert replay.effect(ruled, routing_only=True) == replay.effect(ruled)


def test_targeted_complaint_replay_equals_full_replay(rules):
    """A cue replays only the texts with it, a threshold shift only the mentions whose
    probability lies between a threshold's old and new places: both as scoring all again."""
    texts = ["@NorthwindAir my bag got zorbled on the way to Leeds",
             "@NorthwindAir the app zorbled my booking", "my seat was zorbled",
             "@NorthwindAir flight cancelled, stranded again, no refund", *BACKGROUND]
    cases = [case(k, t, complaint="not_complaint") for k, t in enumerate(texts)]
    swahili = [tune.Case(50 + k, Mention("x", f"s{k}", t, Author("amina"), created_at=NOW,
                                         lang="sw"), NOW, truth={"complaint": "complaint"})
               for k, t in enumerate(["Tiketi yangu imekwama", "Pesa imekwama kwenye akaunti",
                                      "Habari za asubuhi"])]
    replay = tune.Replay([*cases, *swahili], rules)
    for cue, lang in (("zorbled", "en"), ("imekwama", "sw")):
        changed = tune.with_complaint_cue(rules, lang, cue)
        assert replay.effect(changed, words=[cue]) == replay.effect(changed)
    for shift in tune.THRESHOLD_SHIFTS:
        changed = tune.with_threshold_shift(rules, shift)
        moved = tune._thresholds(0.0) + tune._thresholds(shift)  # noqa: SLF001
        targeted = replay.effect(changed, probability_within=(min(moved), max(moved)))
        assert targeted == replay.effect(changed), shift


def test_complaint_cues_need_min_support_and_go_to_their_language(rules):
    stuck = [tune.Case(k, Mention("x", str(k), t, Author("amina"), created_at=NOW, lang="sw"),
                       NOW, truth={"complaint": "complaint"})
             for k, t in enumerate(["Tiketi yangu imepotea", "Mzigo imepotea uwanjani",
                                    "Pesa imepotea kwenye akaunti"], 1)]
    others = [tune.Case(10 + k, Mention("x", f"o{k}", t, Author("juma"), created_at=NOW,
                                        lang="sw"), NOW)
              for k, t in enumerate(["Habari za asubuhi marafiki", "Tunasafiri kwenda Mombasa",
                                     "Chakula kilikuwa kitamu sana"])]
    proposals, _, _ = tune.propose([*stuck, *others, *background()], rules)
    (cue,) = by_kind(proposals, "complaint_cue")
    assert cue.edit == {"op": "complaint_cue", "lang": "sw", "cue": "imepotea"}
    assert cue.net == 3
    proposals, _, _ = tune.propose([*stuck[:2], *others, *background()], rules)
    assert by_kind(proposals, "complaint_cue") == []


def test_compare_counts_fixed_broken_and_others(rules):
    cases = [case(1, "a", sentiment="negative"), case(2, "b", sentiment="neutral"),
             case(3, "c")]

    def o(s: str) -> tune.Outcome:
        return tune.Outcome(s, "P4", "customer", "care", "not_complaint", None, None)  # type: ignore[arg-type]

    eff = tune.compare(cases, [o("neutral"), o("neutral"), o("neutral")],
                       [o("negative"), o("positive"), o("positive")])
    fe = eff.of("sentiment")
    assert (fe.corrected, fe.right_before, fe.right_after) == (2, 1, 1)
    assert fe.fixed == (1,) and fe.broken == (2,) and fe.changed_others == 1
    assert eff.of("team").changed_others == 0 and len(eff.changes) == 3


def test_apply_keeps_inserted_rules_in_order():
    rules = parse_rules("""
brand: {name: Acme}
teams: {care: {channel: C0CARE}, sales: {channel: C0SALES}}
default_team: care
rules:
  - {name: one, when: {text_matches: [a]}, then: {team: care}}
  - {name: two, when: {text_matches: [b]}, then: {team: care}}
""")
    r = lambda n: {"name": n, "when": {"text_matches": [n]}, "then": {"team": "sales"}}  # noqa: E731
    edits = [{"op": "add_rule", "rule": r("x"), "before": 1},
             {"op": "add_rule", "rule": r("y"), "before": None},
             {"op": "add_rule", "rule": r("z"), "before": 1},
             {"op": "add_rule", "rule": r("w"), "before": 0}]
    assert [x.name for x in tune.apply(rules, edits).rules] == ["w", "one", "x", "z", "two", "y"]
