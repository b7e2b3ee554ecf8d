"""bot.domain.scoring.vader: VADER 3.3.2's scores, faster: the same dict as stock VADER's, bit for bit."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.scoring import enrich as E
from bot.domain.scoring.vader import Analyzer
from tests.support.paths import ROOT

SENTIMENT = ROOT.parent / "shared" / "fixtures" / "sentiment"  # research data; absent elsewhere
STOCK = SentimentIntensityAnalyzer()
FAST = Analyzer()
# A rules lexicon on top of VADER's: new words, a joined phrase, and words VADER treats as
# negations, boosters or "least"/"but"/"so" (then they are lexicon words too), some as ints.
EXTRA = {"delayed": -2.5, "on_hold": -3.0, "flight": 0.5, "least": 1.2, "never": -0.8,
         "very": 1.5, "but": 0.4, "so": 1, "at": -1, "of": 0.3}
STOCK_EXTRA = SentimentIntensityAnalyzer()
STOCK_EXTRA.lexicon = {**STOCK.lexicon, **EXTRA}
FAST_EXTRA = copy.copy(FAST)  # as bot.domain.scoring.enrich builds one per rules lexicon
FAST_EXTRA.lexicon = {**FAST.lexicon, **EXTRA}


def same(ours: dict, stock: dict) -> bool:
    """Equal with the same key order and the same floats, -0.0 included."""
    return repr(ours) == repr(stock)


def _fixture(*parts: str) -> Path:
    path = SENTIMENT.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (research data, not shipped with the project)")
    return path


@pytest.mark.parametrize("text", [
    "", "   ", "\t\n", "Great flight!! :)", "  padded text  ", "kind of bad", "kind of",
    "not bad at all, but slow", "Loved it 😍🔥", "café au lait était parfait", "ça va 👍 merci",
    "\tTabs\tand\nlines\n", "😀", "😀😀 good", "a😀b", "ok 💔x", "🔛 great!", "❤️ #️⃣ 🙏🏽",
    " 😀", "good\n😀", "!😀?", "no😀", "great!!😀😡??", "“quoted” 💔",
    # VADER's own examples (vaderSentiment.py's __main__)
    "VADER is smart, handsome, and funny.", "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.", "At least it isn't a horrible book.",
    "The book was only kind of good.", "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!", "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all", "Sentiment analysis has never been this good!",
    "With VADER, sentiment analysis is the shit!", "On the other hand, VADER is quite bad ass",
    "Without a doubt, excellent idea.", "Without a doubt, an excellent idea.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "no no good", "no bad or nor good", "good but good but bad", "least good", "very least good",
    "it is the bomb lol", "I was at the bus stop, happy", "so so so good", "never so good",
    "ALL CAPS GOOD", "Mostly lower but GOOD", "VERY good", "VERY GOOD and bad",
    "what?? really??? no!!!!! ?!", "good!!!!!", "bad!!!!", "good ?? ???", "ΑΣ good", "İİ. fine", "kiss of death good",
    # VADER's idiom checks: the first match of five n-grams, then the two after the word,
    # then "kind of"/"sort of"/"just enough" among the three words before
    "the shit bad ass", "so the shit bad ass yeah right", "it was sort of a good day",
    "just enough of good", "well kind of good", "a bus stop good",
    # any word with "n't" negates, not only VADER's list
    "it mayn't be good", "mayn't good", "it mayn't so good", "wouldn't've the good",
])
def test_scores_exactly_like_stock_vader(text):
    assert same(FAST.polarity_scores(text), STOCK.polarity_scores(text)), text


def test_a_rules_lexicon_scores_exactly_like_stock_vader_with_it():
    texts = ["flight DELAYED again, on_hold for an hour", "at least good", "the least good",
             "least good", "never good",
             "very good", "good but bad", "so kind of good", "of course not good",
             "best flight ever 😀"]
    for text in texts:
        assert same(FAST_EXTRA.polarity_scores(text), STOCK_EXTRA.polarity_scores(text)), text
    # and bot.domain.scoring.enrich's analyzers, built from a rules lexicon
    lexicon = {"on hold": -3.0, "Delayed": -3.5}
    built = E.analyzer_for(lexicon)
    assert isinstance(built, Analyzer)
    stock = SentimentIntensityAnalyzer()
    stock.lexicon = {**stock.lexicon, "on_hold": -3.0, "delayed": -3.5}
    for text in texts:
        assert same(built.polarity_scores(text), stock.polarity_scores(text)), text


def test_other_emoji_tables_one_with_emoji_in_descriptions_one_with_ascii_emoji():
    # VADER spells each emoji of the text once: a description's own emoji stays as it is.
    texts = ["😀 fine", "ok😀", "☺ good 😀", "bad ☺☺ 😡!", "xx fine", "Max: good x"]
    stock, fast = SentimentIntensityAnalyzer(), copy.copy(FAST)
    for table in ({"😀": "awful", "☺": "happy!"}, {"😀": "sad ☺", "☺": "good 😀 bad"},
                  {"x": "great!", "😀": "bad’s"}):
        stock.emojis = fast.emojis = table
        for text in texts:
            assert same(fast.polarity_scores(text), stock.polarity_scores(text)), (table, text)
    assert same(FAST.polarity_scores("ok😀"), STOCK.polarity_scores("ok😀"))  # the copy's own


@pytest.mark.parametrize("name", ["tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt"])
def test_vader_ground_truth_sentences(name):
    path = _fixture("vader_icwsm2014", name)
    texts = [line.split("\t", 2)[2]
             for line in path.read_text(encoding="utf-8").splitlines() if line.count("\t") >= 2]
    assert len(texts) > 3000
    assert [t for t in texts if not same(FAST.polarity_scores(t), STOCK.polarity_scores(t))] == []


def test_30k_real_tweets():
    """All the airline tweets and TweetEval's sentiment tweets (test and val)."""
    path = _fixture("airline_twitter", "Tweets_6col.csv")
    with path.open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    for split in ("test", "val"):
        more = SENTIMENT / "tweeteval" / "sentiment" / f"{split}_text.txt"
        if more.exists():
            texts += more.read_text(encoding="utf-8").splitlines()
    assert len(texts) > 14000
    assert [t for t in texts if not same(FAST.polarity_scores(t), STOCK.polarity_scores(t))] == []


# --- generated texts ---------------------------------------------------------------------------

VOCABULARY = [
    # lexicon words, some also in VADER's idioms ("the shit", "bad ass", "kiss of death", ...)
    "good", "bad", "great", "love", "hate", "awful", "happy", "sad", "nice", "terrible", "fun",
    "kind", "no", "shit", "bomb", "doubt", "ass", "badass", "heart", "death", "die", "lol",
    "yeah", "right", "bus", "stop", "kiss", "to", "for", "beating", "delayed", "on_hold", "flight",
    # boosters, dampeners, negations and the words VADER's rules look for
    "very", "so", "extremely", "really", "kinda", "sort", "barely", "fucking", "most", "less",
    "just", "enough", "not", "isn't", "never", "without", "least", "at", "but", "of", "this",
    "the", "nor", "or", "don't", "cannot", "nope", "uh-uh", "aint", "mayn't", "wouldn't've",
    # emoticons, punctuation, emoji (single characters, a sequence, one whose name has "!")
    ":)", ":-(", ":D", "<3", ";)", "!", "?", "!!", "??", "...", ",", "😀", "💔", "🙏", "😡",
    "👍", "🔛", "❤️", "#️⃣",
    # plain words
    "flight", "bag", "hold", "on", "a", "I", "it", "was", "café", "ΑΣ",
]
SHAPES = [str, str, str, str.upper, str.capitalize]
WRAPS = ["", "", "", "!", "?", ".", ",", "...", '"', "!?", "(", ")"]
SEPARATORS = [" ", " ", " ", " ", "", "  ", "\n", "\t"]

tokens = st.builds(lambda w, shape, before, after: before + shape(w) + after,
                   st.sampled_from(VOCABULARY), st.sampled_from(SHAPES), st.sampled_from(WRAPS),
                   st.sampled_from(WRAPS))
texts = st.lists(st.tuples(tokens, st.sampled_from(SEPARATORS)), max_size=20).map(
    lambda parts: "".join(t + sep for t, sep in parts))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_texts_score_exactly_like_stock_vader(text):
    assert same(FAST.polarity_scores(text), STOCK.polarity_scores(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_texts_with_a_rules_lexicon_score_exactly_like_stock_vader(text):
    assert same(FAST_EXTRA.polarity_scores(text), STOCK_EXTRA.polarity_scores(text))
