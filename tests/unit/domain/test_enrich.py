"""bot.domain.scoring.enrich: sentiment with the rules lexicon, author type, risk, cues, score and priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules, parse_rules
from bot.domain.rules.schema import SentimentConfig, priority_rank
from bot.domain.scoring import enrich as E
from bot.domain.scoring.cues import complaint_cues, is_question, risks_of
from bot.domain.scoring.enrich import author_type_of, compound_of, enrich, sentiment_label
from bot.domain.scoring.points import AGE_PENALTIES, P1_FROM, P2_FROM, P3_FROM, priority_for
from bot.domain.scoring.vader import Analyzer
from tests.support.paths import ROOT

SHIPPED = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STOCK = SentimentIntensityAnalyzer()

MINIMAL = """
version: 1
brand: {name: Acme Air, x_username: AcmeAir}
teams: {care: {channel: C0CARE00001}}
default_team: care
"""


def rules_with(extra: str = ""):
    return parse_rules(MINIMAL + extra)


def mention(text: str, handle: str = "someone", followers: int = 100, *, network: str = "x",
            created_at: datetime | None = None, mentions_brand: bool = False) -> Mention:
    return Mention(network=network, external_id="1", text=text,
                   author=Author(handle=handle, followers=followers), created_at=created_at,
                   lang="en", mentions_brand=mentions_brand)


# --- sentiment and the rules lexicon ------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "I have been on hold for an hour",
    "ON HOLD. Again.",
    "on\n  hold since nine",
])
def test_a_lexicon_phrase_changes_the_compound(text):
    plain = rules_with()
    with_phrase = rules_with('sentiment: {lexicon: {"on hold": -3.0}}')
    assert compound_of(text, plain) == STOCK.polarity_scores(text)["compound"]
    assert compound_of(text, with_phrase) < compound_of(text, plain) - 0.3


def test_a_phrase_only_matches_its_words_in_order_and_whole():
    with_phrase = rules_with('sentiment: {lexicon: {"on hold": -3.0}}')
    for text in ("on the hold", "hold on", "moon holdings", "upon holders"):
        assert compound_of(text, with_phrase) == STOCK.polarity_scores(text)["compound"], text


def test_single_words_and_positive_phrases_from_the_lexicon():
    rules = rules_with('sentiment: {lexicon: {Delayed: -3.5, "on time": 2.5}}')
    assert compound_of("flight delayed", rules) < STOCK.polarity_scores("flight delayed")["compound"]
    assert compound_of("landed on time", rules) > 0.3
    assert STOCK.polarity_scores("landed on time")["compound"] == 0.0


def test_one_analyzer_per_distinct_lexicon_and_vader_itself_is_untouched():
    def analyzer(extra: str = "") -> Analyzer:
        return E.analyzer_for(rules_with(extra).sentiment.lexicon)

    a = analyzer('sentiment: {lexicon: {"on hold": -1.5}}')
    b = analyzer('sentiment: {lexicon: {"on hold": -1.5}}')
    c = analyzer('sentiment: {lexicon: {"on hold": -2.5}}')
    assert a is b and a is not c
    assert a.lexicon is not c.lexicon
    vader = analyzer()  # no lexicon: VADER's own
    assert vader is analyzer() and vader not in (a, c)
    assert "on_hold" not in vader.lexicon and vader.lexicon == STOCK.lexicon


def test_enrich_scores_with_bot_vader():
    # bot.domain.scoring.vader's Analyzer scores exactly like stock VADER
    # (tests/unit/domain/test_vader.py)
    vader = E.analyzer_for({})
    assert isinstance(vader, Analyzer)
    assert vader.polarity_scores("not bad at all, but slow 😀") == STOCK.polarity_scores(
        "not bad at all, but slow 😀")


@pytest.mark.parametrize(("compound", "label"), [
    (-1.0, "negative"), (-0.0501, "negative"), (-0.05, "neutral"), (0.0, "neutral"),
    (0.05, "neutral"), (0.0501, "positive"), (1.0, "positive"),
])
def test_labels_at_the_default_thresholds(compound, label):
    assert sentiment_label(compound, SentimentConfig()) == label


def test_labels_follow_the_rules_thresholds():
    # The label is the triage compound's, at the rules file's thresholds (bot.domain.scoring.triage maps its
    # own cut points to the default ±0.05; a rules file may ask for more).
    good = enrich(mention("good"), rules_with(), now=NOW)
    sad = enrich(mention("sad"), rules_with(), now=NOW)
    assert (good.sentiment, sad.sentiment) == ("positive", "negative")
    assert 0.05 < good.compound < 0.95 and -0.95 < sad.compound < -0.05
    strict = rules_with(f"sentiment: {{negative_below: {sad.compound - 0.01:.4f}, "
                        f"positive_above: {good.compound + 0.01:.4f}}}")
    assert enrich(mention("good"), strict, now=NOW).sentiment == "neutral"
    assert enrich(mention("sad"), strict, now=NOW).sentiment == "neutral"
    assert STOCK.polarity_scores("disaster")["compound"] < -0.5
    assert enrich(mention("disaster"), strict, now=NOW).sentiment == "negative"


# --- author type -------------------------------------------------------------------------------

@pytest.mark.parametrize(("handle", "followers", "network", "expected"), [
    ("travelwirenews", 10, "x", "press"),
    ("@TravelWireNews", 10, "x", "press"),
    ("skylark_airways", 900_000, "x", "competitor"),
    ("ceo_northwind", 50, "x", "vip"),
    ("milehighhanna", 50_000, "x", "advocate"),  # a listed type beats the follower count
    ("someone", 10_000, "x", "influencer"),  # influencer_min_followers is inclusive
    ("someone", 9_999, "x", "customer"),
    ("NorthwindAir", 1_000_000, "x", "brand"),
    ("@northwindair", 5, "x", "brand"),
    ("northwind@mastodon.social", 5, "mastodon", "brand"),
    ("northwind", 5, "mastodon", "brand"),  # a local account on the brand's own instance
    ("northwindair.bsky.social", 5, "bluesky", "brand"),
    ("NorthwindAir", 5, "bluesky", "customer"),  # the X name is not the brand on Bluesky
    ("northwindair_fan", 5, "x", "customer"),
])
def test_author_types(handle, followers, network, expected):
    m = mention("hello", handle, followers, network=network)
    assert author_type_of(m, SHIPPED) == expected
    assert enrich(m, SHIPPED, now=NOW).author_type == expected


# --- risk --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "risks"), [
    ("I will SUE you", ("legal",)),
    ("suing them in small claims", ("legal",)),
    ("my lawyer will be in touch", ("legal",)),
    ("filing a lawsuit", ("legal",)),
    ("talking to an attorney", ("legal",)),
    ("considering legal action", ("legal",)),
    ("writing to the ombudsman", ("regulatory",)),
    ("the regulator will hear about this", ("regulatory",)),
    ("filed an FAA complaint", ("regulatory",)),
    ("I'm reporting you to the CFPB", ("regulatory",)),
    ("complaint with the FCA today", ("regulatory",)),
    ("GDPR complaint incoming", ("regulatory",)),
    ("was there a data breach?", ("privacy",)),
    ("you leaked my personal data", ("privacy",)),
    ("they doxxed me", ("privacy",)),
    ("your agent shared my personal details on a call", ("privacy",)),
    ("my account was hacked", ("privacy", "security")),
    ("somebody hacked my account", ("privacy", "security")),
    ("#BoycottNorthwind", ("reputational",)),
    ("this is going viral", ("reputational",)),
    ("I'm going to the press", ("reputational",)),
    ("got a phishing email from you", ("security",)),
    ("is this a scam?", ("security",)),
    ("fraudulent charge on my card", ("security",)),
    ("I'll sue, my account got hacked, #boycott", ("legal", "privacy", "reputational",
                                                    "security")),
])
def test_each_risk(text, risks):
    assert risks_of(text) == risks
    assert enrich(mention(text), SHIPPED, now=NOW).risk == risks


@pytest.mark.parametrize("text", [
    "that's an issue", "give me a sec", "pursue your dreams", "the press release was nice",
    "second seat", "I love this airline", "suede seats", "lawn chairs", "scampi on board",
    "hackathon flight", "regular flyer", "viralness",
])
def test_no_risk_from_look_alikes(text):
    assert risks_of(text) == ()


# --- question and complaint cues ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("How do I change my seat", True),
    ("@NorthwindAir can you help me", True),
    (".@NorthwindAir why is my flight late", True),
    ("Is there wifi on board", True),
    ("anyone know if the lounge is open", True),
    ("Seat 3A?", True),
    ("what's the baggage allowance", True),
    ("When I landed my bag was gone", False),
    ("What a flight!", False),
    ("see https://example.com/page?ref=1", False),
    ("Loved it", False),
])
def test_question_cues(text, expected):
    assert is_question(text) is expected
    assert enrich(mention(text), SHIPPED, now=NOW).is_question is expected


@pytest.mark.parametrize(("text", "cues"), [
    ("My flight is delayed", ("delayed",)),
    ("Flight CANCELLED", ("cancelled",)),
    ("I can't believe it's delayed again", ("delayed",)),
    ("my flight was not delayed", ()),
    ("wasn't even delayed", ()),
    ("no problem at all", ()),
    ("not the worst airline", ()),
    ("the app isn't working", ("not_working",)),
    ("wifi doesn’t work", ("not_working",)),  # typographic apostrophe
    ("still waiting for my bag", ("still_waiting",)),
    ("on hold for two hours", ("on_hold", "waiting_since")),
    ("no one answers the phone", ("no_answer",)),
    ("still no refund", ("no_refund", "no_answer", "refund")),
    ("charged me twice for one seat", ("charged", "charged_twice")),
    # beyond airlines
    ("the ATM swallowed my card", ("card_swallowed",)),
    ("my account has been frozen", ("account_blocked",)),
    ("I was debited but the transfer failed", ("charged", "cant_access")),
    ("I was not charged", ()),
    ("my parcel never arrived", ("not_delivered",)),
    ("internet is down again", ("outage",)),
    ("I can't log in to the app", ("cant_access",)),
    ("I am able to log in now", ()),
    ("the hotline just rings", ("hotline",)),
    ("waiting since monday", ("waiting_since",)),
    ("lost my bag, worst airline", ("lost", "bad_service")),
    ("stuck at JFK, delayed, delayed, delayed", ("stranded", "delayed")),
    # industries no labelled set covers: food, apparel, devices, cars, rides
    ("got the wrong order again and the fries were cold", ("not_delivered", "broken")),
    ("my shoes fell apart after two weeks", ("broken",)),
    ("my watch won't sync anymore", ("not_working",)),
    ("the check engine light is on and it's still not fixed", ("problem",)),
    ("the driver never showed up", ("not_delivered",)),
    ("love the new cold brew", ()),
    ("the food was not cold at all", ()),
    ("Lovely crew and a smooth flight", ()),
])
def test_complaint_cues_and_negation(text, cues):
    assert complaint_cues(text) == cues
    e = enrich(mention(text), SHIPPED, now=NOW)
    assert e.cues == cues
    # is_complaint is the model's flag (test_complaint.py), not "any cue": cues are its features


def test_intensifiers_add_to_a_complaint_only():
    rules = rules_with()
    calm = enrich(mention("my flight is delayed"), rules, now=NOW).score_parts["complaint"]
    loud = enrich(mention("@AcmeAir my flight is delayed AGAIN!!!"), rules, now=NOW)
    assert loud.score_parts["complaint"] > calm
    addressed = enrich(mention("my flight is delayed", mentions_brand=True), rules, now=NOW)
    assert addressed.score_parts["complaint"] > calm
    cheer = enrich(mention("@AcmeAir AMAZING crew again!!!"), rules, now=NOW)
    assert "complaint" not in cheer.score_parts
    assert not cheer.is_complaint


# --- score, age and priority -------------------------------------------------------------------

@pytest.mark.parametrize(("created_at", "penalty"), [
    (None, 0),
    (NOW - timedelta(hours=1), 0),
    (NOW - timedelta(hours=24), 0),  # "after 24 h": strictly older
    (NOW - timedelta(hours=24, seconds=1), -10),
    (NOW - timedelta(hours=72), -10),
    (NOW - timedelta(hours=72, seconds=1), -20),
    (NOW - timedelta(days=30), -20),
    (NOW + timedelta(hours=5), 0),  # clock skew: a post "from the future" is fresh
    (datetime(2026, 2, 20, 12, 0), -20),  # naive: taken as UTC
])
def test_age_penalty_with_an_injected_clock(created_at, penalty):
    e = enrich(mention("my flight is delayed", created_at=created_at), SHIPPED, now=NOW)
    assert e.score_parts.get("age", 0) == penalty
    fresh = enrich(mention("my flight is delayed"), SHIPPED, now=NOW)
    assert e.score == max(0, fresh.score + penalty)


def test_age_penalties_are_ordered_oldest_first():
    assert [t for t, _ in AGE_PENALTIES] == sorted((t for t, _ in AGE_PENALTIES), reverse=True)


SAMPLES = [
    mention("@NorthwindAir flight delayed AGAIN, still waiting at the gate!!! worst airline",
            followers=120, mentions_brand=True),
    mention("Loved my @NorthwindAir flight, upgraded and on time!", "celeb", 3_000_000),
    mention("@NorthwindAir how do I change my seat?", followers=50),
    mention("I'm going to sue you, lost my bag and no one answers", "travelwirenews", 80_000),
    mention("nice", followers=0, created_at=NOW - timedelta(days=9)),
    mention("", followers=0),
]


@pytest.mark.parametrize("m", SAMPLES, ids=range(len(SAMPLES)))
def test_score_is_the_clamped_sum_of_its_parts(m):
    e = enrich(m, SHIPPED, now=NOW)
    assert all(isinstance(v, int) and v != 0 for v in e.score_parts.values())
    assert set(e.score_parts) <= {"negativity", "likely_complaint", "complaint", "praise",
                                  "question", "reach", "author", "risk", "age", "urgent",
                                  "complaint_floor"}
    assert e.score == max(0, min(100, sum(e.score_parts.values())))
    assert e.priority == priority_for(e.score)


def test_clamping_at_both_ends():
    stale = enrich(mention("nice", followers=0, created_at=NOW - timedelta(days=9)), SHIPPED,
                   now=NOW)
    assert sum(stale.score_parts.values()) < 0 and stale.score == 0
    worst = enrich(mention("@NorthwindAir WHY?? I'll sue: my account was hacked, it's a scam, "
                           "#boycott, worst airline, delayed AGAIN!!! terrible, awful",
                           "travelwirenews", 2_000_000, mentions_brand=True), SHIPPED, now=NOW)
    assert sum(worst.score_parts.values()) > 100 and worst.score == 100
    assert worst.priority == "P1"


def test_a_customer_complaint_outranks_celebrity_praise():
    complaint = enrich(mention("@NorthwindAir flight cancelled, stuck at the airport and no "
                               "one answers the phone", "jo_bloggs", 150, mentions_brand=True),
                       SHIPPED, now=NOW)
    praise = enrich(mention("Flying @NorthwindAir today, the crew were amazing, best flight "
                            "ever!", "megastar", 25_000_000), SHIPPED, now=NOW)
    assert praise.author_type == "influencer" and complaint.author_type == "customer"
    assert complaint.score > praise.score
    assert priority_rank(complaint.priority) < priority_rank(praise.priority)


@pytest.mark.parametrize(("score", "priority"), [
    (100, "P1"), (P1_FROM, "P1"), (P1_FROM - 1, "P2"), (P2_FROM, "P2"), (P2_FROM - 1, "P3"),
    (P3_FROM, "P3"), (P3_FROM - 1, "P4"), (0, "P4"),
])
def test_priority_bands(score, priority):
    assert priority_for(score) == priority


def test_bands_are_70_50_30():
    assert (P1_FROM, P2_FROM, P3_FROM) == (70, 50, 30)


def test_a_legal_threat_with_a_complaint_is_p1_on_its_own():
    e = enrich(mention("@NorthwindAir you lost my bag and no one answers. I will sue.",
                       mentions_brand=True), SHIPPED, now=NOW)
    assert e.risk == ("legal",)
    assert e.priority == "P1"


def test_chatter_is_p4():
    e = enrich(mention("Flying to Lisbon with Northwind Air tomorrow"), SHIPPED, now=NOW)
    assert e.priority == "P4"
    assert e.sentiment == "neutral"


def test_odd_inputs_do_not_break_scoring():
    for m in (mention("", followers=-5), mention("🔥" * 300), mention("x" * 20_000),
              mention("İSTANBUL ſcam K\u0000")):
        e = enrich(m, SHIPPED, now=NOW)
        assert 0 <= e.score <= 100
