"""bot.domain.scoring.triage: the learned customer-care valence, its weights file, and its figures on real
tweets (held-out airlines; skipped when the research corpora are absent)."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules, parse_rules
from bot.domain.scoring import cues, points, triage
from bot.domain.scoring.enrich import enrich, triage_features, triage_scores
from tests.support.paths import ROOT

SHIPPED = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BIAS = tuple(triage.load_weights()["bias"])  # (negativity, positivity) before any signal
STOCK = SentimentIntensityAnalyzer()
ACME = parse_rules("""
version: 1
brand: {name: Acme Air, x_username: AcmeAir}
teams: {care: {channel: C0CARE00001}}
default_team: care
""")

TEXTS = [
    "@AcmeAir flight Cancelled, rebooked for tomorrow, no one answers the phone",
    "@AcmeAir still waiting for my bag?? 3 days now!!!",
    "@AcmeAir thank you, the crew were lovely 😍❤️",
    "@AcmeAir is the lounge open at LHR?",
    "not delayed at all, on time and smooth",
    "WORST. SERVICE. EVER. on hold again",
    "", "🔥" * 5, "İSTANBUL ſcam", "ça va 👍 merci",
]


def mention(text: str, *, followers: int = 100, handle: str = "someone") -> Mention:
    return Mention(network="x", external_id="1", text=text,
                   author=Author(handle=handle, followers=followers), lang="en")


def weighted_sum(f: dict[str, float]) -> tuple[float, float]:
    n, p = BIAS
    for name, value in f.items():
        dn, dp = triage.weight_of(name)
        n += dn * value
        p += dp * value
    return n, p


@pytest.mark.parametrize("text", TEXTS)
def test_the_fast_scores_are_the_weighted_sum_of_the_features(text):
    rules = ACME
    fast = triage_scores(mention(text), rules)
    slow = weighted_sum(triage_features(mention(text), rules))
    assert fast == pytest.approx(slow, abs=1e-9)
    assert enrich(mention(text), rules, now=NOW).compound == pytest.approx(
        triage.compound(*fast))


def test_the_compound_maps_the_cut_points_to_the_default_band():
    nf, pf = triage.NEGATIVE_FROM, triage.POSITIVE_FROM
    assert triage.compound(nf + 1e-6, pf + 5) < -0.05  # negativity wins over positivity
    assert triage.compound(nf - 1e-6, pf + 1e-6) > 0.05
    assert -0.05 < triage.compound(nf - 1e-6, pf - 1e-6) < 0.05
    assert -0.05 < triage.compound(nf - 50, pf - 50) < 0.05
    assert -0.05 < triage.compound(nf, pf) <= 0.05
    assert triage.compound(nf + 100, 0) == pytest.approx(-1.0)
    assert triage.compound(nf - 1, pf + 100) == pytest.approx(1.0)
    steps = [triage.compound(nf + x / 10, 0) for x in range(1, 60)]
    assert steps == sorted(steps, reverse=True)  # more negativity, more negative
    assert all(math.isfinite(s) and -1 <= s <= 1 for s in steps)


def test_complaints_vader_calls_neutral_or_positive_are_negative():
    for text in ("@AcmeAir 2 hours on the tarmac and counting",
                 "@AcmeAir been on hold for 2 hours",
                 "@AcmeAir where is my bag? third time I ask"):
        assert STOCK.polarity_scores(text)["compound"] >= -0.05, text
        assert enrich(mention(text), ACME, now=NOW).sentiment == "negative", text


def test_praise_and_questions_are_not_complaints():
    for text, label in (("@AcmeAir thank you so much, great crew!", "positive"),
                        ("@AcmeAir love the new seats, thank you! 😍", "positive"),
                        ("Flying to Lisbon with Acme Air tomorrow", "neutral")):
        assert enrich(mention(text), ACME, now=NOW).sentiment == label, text


def test_a_negated_cue_counts_less_than_the_cue():
    plain = weighted_sum(triage_features(mention("@AcmeAir my flight is delayed"), ACME))
    negated = weighted_sum(triage_features(mention("@AcmeAir my flight is not delayed"), ACME))
    assert "cue:delayed" not in triage_features(
        mention("@AcmeAir my flight is not delayed"), ACME)
    assert negated[0] < plain[0]


def test_address_to_the_brand_is_a_signal():
    text = "my flight is delayed again"
    away = triage_features(mention(text), ACME)
    to = triage_features(mention("@AcmeAir " + text), ACME)
    assert "addressed" not in away and to["addressed"] == 1.0 and to["addressed_problem"] == 1.0


def test_a_complaint_from_a_customer_outranks_praise_from_a_celebrity():
    complaint = enrich(mention("@NorthwindAir my bag did not arrive, where is it?",
                               followers=12), SHIPPED, now=NOW)
    praise = enrich(mention("Flying @NorthwindAir today, what a lovely crew!", followers=5_000_000,
                            handle="megastar"), SHIPPED, now=NOW)
    assert complaint.sentiment == "negative" and praise.sentiment == "positive"
    assert complaint.score_parts["likely_complaint"] == points.LIKELY_COMPLAINT
    assert praise.score_parts["praise"] == points.PRAISE_POINTS
    assert complaint.score > praise.score


def test_the_weights_file_is_small_derived_data():
    w = triage.load_weights()
    assert "tools/derive_triage_weights.py" in w["derived"]
    assert set(w["signals"]) == {*triage.SIGNALS,
                                 *(triage.CUE_PREFIX + c for c in cues.COMPLAINT_CUES)}
    assert len(w["words"]) < 2000 and len(w["emoji"]) < 100
    # single words, no phrases or text: a post of just that word has it as its one word
    assert all(k in triage_features(mention(k), ACME) for k in w["words"])
    assert all(len(k) == 1 and ord(k) >= triage.EMOJI_FROM for k in w["emoji"])
    assert w["negative_from"] == triage.NEGATIVE_FROM


# --- on real tweets (research data, read in place; skipped when absent) ---------------------
sys.path.insert(0, str(ROOT / "bench"))
import corpora  # noqa: E402

needs_corpora = pytest.mark.skipif(corpora.available() is not None,
                                   reason=str(corpora.available()))


@needs_corpora
def test_complaint_recall_and_precision_on_the_held_out_airlines():
    posts = corpora.airline(corpora.HELD_OUT_AIRLINES)
    pred = [enrich(corpora.mention(p), corpora.rules_for(p.brand), now=NOW).sentiment == "negative"
            for p in posts]
    gold = [p.label == "negative" for p in posts]
    tp = sum(a and b for a, b in zip(pred, gold, strict=True))
    assert tp / sum(gold) >= 0.80 and tp / sum(pred) >= 0.85


@needs_corpora
def test_the_shipped_weights_are_what_the_tool_derives():
    sys.path.insert(0, str(ROOT / "tools"))
    import derive_triage_weights as tool

    shipped = (ROOT / "bot" / "domain" / "scoring" / "data" / triage.WEIGHTS_FILE).read_text(encoding="utf-8")
    assert tool.dump(tool.derive()) == shipped
