"""The complaint signal (bot.domain.scoring.complaint) and the priority it gives a complaint."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.domain.scoring import complaint, points
from bot.domain.scoring.enrich import complaint_features, enrich
from tests.support.paths import ROOT

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
SHIPPED = load_rules(ROOT / "routing_rules.yaml")


def mention(text: str, followers: int = 0, handle: str = "a_customer") -> Mention:
    return Mention(network="x", external_id="1", text=text,
                   author=Author(handle=handle, followers=followers), lang="en")


@pytest.mark.parametrize("text", [
    "@AcmeBank your ATM on Main St swallowed my card at 2am and the hotline just rings. Furious.",
    "my account has been frozen for a week, I can't pay rent",
])
def test_the_banking_examples_of_issue_15_are_p2_or_higher(text):
    e = enrich(mention(text, followers=312), SHIPPED, now=NOW)
    assert e.is_complaint
    assert e.priority in ("P1", "P2")
    assert "likely_complaint" in e.score_parts  # the card names why


@pytest.mark.parametrize("text", [
    "@ShopCo my parcel never arrived and nobody answers the chat",
    "@TelcoUK no signal since yesterday, still waiting for an update",
    "@AppCo I can't log in since the update, keeps crashing",
])
def test_complaints_of_other_industries_are_flagged_and_at_least_p3(text):
    e = enrich(mention(text, followers=40), SHIPPED, now=NOW)
    assert e.is_complaint and e.complaint_probability >= complaint.model().threshold
    assert e.priority in ("P1", "P2", "P3")


@pytest.mark.parametrize("text", [
    "@ShopCo thank you so much, the delivery came early and the team was lovely",
    "Just watched the match with friends, what a goal",
    "Happy Friday everyone!",
])
def test_praise_and_chatter_are_not_complaints_and_stay_p4(text):
    e = enrich(mention(text, followers=40), SHIPPED, now=NOW)
    assert not e.is_complaint
    assert e.priority == "P4"


def test_a_complaint_that_is_not_negative_nor_urgent_is_lifted_to_p3_only():
    text = "@ShopCo my order is not what I ordered"
    e = enrich(mention(text), SHIPPED, now=NOW)
    if not e.is_complaint or e.sentiment == "negative" or "urgent" in e.score_parts:
        pytest.skip("the model reads this one differently; the floor is checked elsewhere")
    assert e.priority == "P3"


def test_the_floor_tops_the_score_up_to_p2_for_an_urgent_complaint_and_is_named():
    e = enrich(mention("my account has been frozen for a week, I can't pay rent"), SHIPPED,
               now=NOW)
    assert e.score_parts["urgent"] == 2 * points.URGENT_POINTS  # access, time waited
    assert e.score >= points.P2_FROM
    assert sum(e.score_parts.values()) == e.score


def test_the_brand_itself_gets_no_complaint_floor():
    brand = SHIPPED.brand.x_username
    e = enrich(mention("our app is down again, sorry, we are on it", handle=brand), SHIPPED,
               now=NOW)
    assert "complaint_floor" not in e.score_parts


def test_handles_and_links_are_not_features():
    feats, vader = complaint_features(
        mention("@AcmeBank https://t.co/abc my card was declined"), SHIPPED)
    assert "acmebank" not in feats and "t" not in feats and "co" not in feats
    assert {"my", "card", "my card", "cue:card_swallowed", "starts_with_handle"} <= feats
    assert set(vader) == {"neg", "neu", "pos", "compound"}


def test_the_probability_is_the_logistic_of_the_files_weights_and_sentiment_part():
    m, data = complaint.model(), complaint.load_weights()
    feats, vader = complaint_features(mention("nobody answers"), SHIPPED)
    negative, positive = m.sentiment(feats, vader)
    z = data["bias"] + sum(data["weights"].get(f, 0.0) for f in feats) + sum(
        data["numeric"][k] * x for k, x in zip(
            complaint.NUMERIC, (vader["compound"], vader["neg"], vader["pos"], negative, positive),
            strict=True))
    assert enrich(mention("nobody answers"), SHIPPED, now=NOW).complaint_probability == \
        pytest.approx(1 / (1 + 2.718281828459045 ** -z))


def test_the_weights_file_names_its_sources_and_licences():
    w = complaint.load_weights()
    assert "tools/derive_complaint_weights.py" in w["derived"]
    for source in ("nigeria_bank", "ibm_twitter_customer_care", "Apache-2.0", "liiyq"):
        assert source in w["derived"]
    assert 0.3 <= w["threshold"] <= 0.9
    assert set(w["folds"]) >= {"airline", "banking", "software"}
    size = (ROOT / "bot" / "domain" / "scoring" / "data" / complaint.WEIGHTS_FILE).stat().st_size
    assert size < 5_000_000


def test_the_sentiment_part_is_the_log_odds_against_neutral_of_its_weights():
    data = {"bias": 0.0, "weights": {}, "threshold": 0.6,
            "numeric": {**dict.fromkeys(complaint.NUMERIC, 0.0), "sentiment_negative": 1.0,
                        "sentiment_positive": -0.5},
            "sentiment": {"bias": [0.1, -0.2], "weights": {"awful": [2.0, -1.0]},
                          "numeric": {"vader_neg": [1.0, 0.0]}}}
    m = complaint.Model(data)
    vader = {"compound": -0.5, "neg": 0.4, "pos": 0.0, "neu": 0.6}
    assert m.sentiment({"awful", "flight"}, vader) == pytest.approx((2.5, -1.2))
    assert m.probability({"awful", "flight"}, vader) == pytest.approx(1 / (1 + math.exp(-3.1)))


def test_the_shipped_sentiment_part_reads_negative_and_positive_posts():
    m = complaint.model()
    bad = m.sentiment(*complaint_features(mention("this is awful, I hate it"), SHIPPED))
    good = m.sentiment(*complaint_features(mention("love it, thank you so much"), SHIPPED))
    assert bad[0] > 0 > good[0] and good[1] > 0 > bad[1]


def test_weights_without_a_sentiment_part_still_load():
    m = complaint.Model({"bias": -1.0, "weights": {"late": 1.0}, "threshold": 0.5,
                         "numeric": {"vader_compound": 0.0, "vader_neg": 0.0, "vader_pos": 0.0}})
    assert m.probability({"late"}, {"compound": 0.0, "neg": 0.0, "pos": 0.0}) == 0.5


def _model_at(probability: float) -> dict:
    """Weights under which every post has this complaint probability (bias only)."""
    return {"bias": math.log(probability / (1 - probability)), "weights": {},
            "numeric": dict.fromkeys(complaint.NUMERIC, 0.0), "threshold": 0.6,
            "review_from": 0.2}


PRAISE = "@ShopCo lovely, great, thank you!"


@pytest.mark.parametrize(("probability", "lifted"), [
    (0.10, False),  # below review_from: no floor
    (0.30, False),  # lower half of the review band: praise stays P4
    (0.45, True),  # upper half (mixed_from = 0.4): at least P3 even though it reads as praise
    (0.65, True),  # flagged
])
def test_a_post_that_reads_as_praise_is_lifted_only_from_the_middle_of_the_review_band(
        probability, lifted):
    with complaint.use(_model_at(probability)) as m:
        assert m.mixed_from == pytest.approx(0.4)
        e = enrich(mention(PRAISE), SHIPPED, now=NOW)
    assert e.sentiment == "positive"
    assert (e.priority != "P4") is lifted
    assert ("complaint_floor" in e.score_parts) is lifted


def test_the_shipped_bands_are_ordered():
    m = complaint.model()
    assert m.review_from < m.mixed_from < m.threshold


def test_a_cue_is_read_with_its_context():
    feats = complaint.features(["still", "no", "refund", "from", "you"], ["refund", "refund"],
                               ["question"])
    assert {"cue:refund&NEG", "cue:refund&YOU", "cue:refund&TIME", "cue:refund&question",
            "anycue&NEG", "NEG&YOU", "TIME&question", "ncues:1"} <= feats
    plain = complaint.features(["hello", "there"], [], [])
    assert "ncues:0" in plain and not any("&" in f for f in plain)
