"""PURE complaint signal: the probability that a post is a customer complaint, for any brand.

One logistic regression over what a post says, not whom it is written to: its words and word
pairs (after @handles and links are dropped: a brand's name says which brand, not whether the
customer is unhappy), the complaint cues of `bot.domain.scoring.enrich` (card swallowed,
account frozen, not delivered, on hold, waiting since …), VADER's scores, a few flags ("@"
at the start, a question, "again"/"still", "!"), and two sentiment scores of the same features:
how much more negative, and how much more positive, than neutral the post reads, by a small
three-class model of its own (the file's "sentiment" part, learned from random tweets labelled
negative / neutral / positive, not from any brand's posts). Complaint labels of several care sets
are "negative about the brand", and a sentiment model learned on other posts carries that across
industries better than the complaint words alone. Its weights are data
(`data/complaint_weights.json`, derived by `tools/derive_complaint_weights.py` from labelled
customer-care posts of many brands and industries; the file's "derived" note lists them and their
licences), `threshold` is the probability from which a post is flagged a complaint, and
`review_from` the lower one from which a customer's post is worth a look (at least P3) unless it
reads as praise. `mixed_from`, the middle of that review band, is where even a post that reads as
praise is at least P3: a customer who writes "thanks for nothing, 3 weeks and no refund" sounds
positive to a lexicon, and about half the complaints left at P4 were such posts. Applying them is
a few dictionary lookups per word.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib import resources

WEIGHTS_FILE = "complaint_weights.json"
STRIP = re.compile(r"@\w+|https?://\S+|www\.\S+")  # handles and links carry no complaint
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
NUMERIC = ("vader_compound", "vader_neg", "vader_pos", "sentiment_negative", "sentiment_positive")
VADER_KEYS = ("compound", "neg", "pos")
FLAGS = ("starts_with_handle", "question", "again", "exclamation")
CUE_PREFIX = "cue:"


def words_of(low: str) -> list[str]:
    """The words the model reads: of the lowercased text, without handles and links."""
    if "@" in low or "http" in low or "www." in low:
        low = STRIP.sub(" ", low)
    if "’" in low:
        low = low.replace("’", "'")
    return WORD.findall(low)


# Context words for the interactions: a cue means more with a negation ("still no refund"),
# said to "you", or with time waited. Word sets, so a post costs three set intersections.
NEGATION = frozenset({"not", "no", "never", "cant", "can't", "don't", "dont", "won't", "wont",
                      "didn't", "didnt", "isn't", "isnt", "doesn't", "doesnt", "haven't",
                      "havent", "hasn't", "wasn't", "nobody", "nothing", "nor", "couldn't",
                      "wouldn't"})
YOU = frozenset({"you", "your", "you're", "ur", "u", "yours", "youre"})
WAITED = frozenset({"hours", "hour", "hrs", "days", "day", "weeks", "week", "months", "month",
                    "mins", "minutes", "since", "still", "yet", "waiting", "waited", "again"})
ANY_CUE = "anycue"


def features(words: list[str], cues: Iterable[str], flags: Iterable[str]) -> set[str]:
    """The binary features of a post: words, adjacent word pairs ("a b"), cues, flags, and
    their interactions: how many cues ("ncues:0".."ncues:3"), each cue (and "any cue") with
    each context ("cue:refund&NEG"), and each pair of contexts ("NEG&YOU")."""
    out = set(words)
    context = tuple(name for name, vocab in (("NEG", NEGATION), ("YOU", YOU), ("TIME", WAITED))
                    if not vocab.isdisjoint(out))
    out.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    out.update(flags)
    context += tuple(f for f in FLAGS if f in out)
    out.update(_interactions(tuple(dict.fromkeys(cues)), context))
    return out


@lru_cache(maxsize=4096)
def _interactions(cues: tuple[str, ...], context: tuple[str, ...]) -> frozenset[str]:
    """The cues' own features and the interactions (a few combinations recur: cached)."""
    named = [CUE_PREFIX + c for c in cues]
    out = {*named, f"ncues:{min(len(named), 3)}"}
    if named:
        named.append(ANY_CUE)
    out.update(f"{c}&{f}" for c in named for f in context)
    out.update(f"{a}&{b}" for a, b in itertools.combinations(sorted(context), 2))
    return frozenset(out)


def flags_of(low: str, *, question: bool, again: bool) -> list[str]:
    on = []
    if low.lstrip().startswith("@"):
        on.append("starts_with_handle")
    if question:
        on.append("question")
    if again:
        on.append("again")
    if "!" in low:
        on.append("exclamation")
    return on


@cache
def load_weights() -> dict:
    return json.loads(resources.files("bot.domain.scoring").joinpath("data", WEIGHTS_FILE)
                      .read_text("utf-8"))


class Model:
    """The shipped weights, ready to apply.

    The complaint logit is linear in the sentiment part's two log-odds, and they are linear in
    the features, so the part is folded in once, here: each feature's weight becomes its own
    plus the part's two weights times the file's `sentiment_negative` / `sentiment_positive`
    (likewise the bias and VADER's weights). Applying the model stays one lookup per feature;
    `sentiment` still gives the part's own scores, for tests and explanations."""

    __slots__ = ("bias", "mixed_from", "numeric", "review_from", "sentiment_bias",
                 "sentiment_numeric", "sentiment_weights", "threshold", "weights")

    def __init__(self, data: dict) -> None:
        # Files from before the sentiment part have none: it weighs 0.
        raw = tuple(data["numeric"].get(k, 0.0) for k in NUMERIC)
        part = data.get("sentiment") or {"bias": [0.0, 0.0], "numeric": {}, "weights": {}}
        bn, bp = part["bias"]
        self.sentiment_bias: tuple[float, float] = (bn, bp)
        self.sentiment_numeric: tuple[tuple[float, float], ...] = tuple(
            (pair[0], pair[1]) for pair in (part["numeric"].get(k, (0.0, 0.0))
                                            for k in NUMERIC[:3]))
        self.sentiment_weights: dict[str, list[float]] = part["weights"]
        d, e = raw[3], raw[4]  # the complaint weights of the part's negative and positive
        self.bias: float = data["bias"] + d * bn + e * bp
        # VADER's compound, neg and pos, each with the part's use of it folded in.
        self.numeric: tuple[float, float, float] = (
            raw[0] + d * self.sentiment_numeric[0][0] + e * self.sentiment_numeric[0][1],
            raw[1] + d * self.sentiment_numeric[1][0] + e * self.sentiment_numeric[1][1],
            raw[2] + d * self.sentiment_numeric[2][0] + e * self.sentiment_numeric[2][1])
        weights: dict[str, float] = data["weights"]
        if (d or e) and self.sentiment_weights:
            weights = dict(weights)
            for f, (wn, wp) in self.sentiment_weights.items():
                weights[f] = weights.get(f, 0.0) + d * wn + e * wp
        self.weights: dict[str, float] = weights
        self.threshold: float = data["threshold"]  # from here: flagged a complaint
        self.review_from: float = data.get("review_from", self.threshold)  # from here: ≥ P3
        # From here: ≥ P3 even when it reads as praise. The middle of the review band, not a
        # tuned figure (files without it get the same rule).
        self.mixed_from: float = data.get("mixed_from",
                                          round((self.review_from + self.threshold) / 2, 2))

    def sentiment(self, feats: Iterable[str], vader: dict[str, float]) -> tuple[float, float]:
        """(negative, positive): the log-odds of each against neutral by the sentiment part."""
        n, p = self.sentiment_bias
        s = self.sentiment_weights
        for f in feats:
            pair = s.get(f)
            if pair is not None:
                n += pair[0]
                p += pair[1]
        for (wn, wp), k in zip(self.sentiment_numeric, VADER_KEYS, strict=True):
            n += wn * vader[k]
            p += wp * vader[k]
        return n, p

    def probability(self, feats: Iterable[str], vader: dict[str, float]) -> float:
        w = self.weights
        z = self.bias + sum(w.get(f, 0.0) for f in feats)
        a, b, c = self.numeric
        z += a * vader["compound"] + b * vader["neg"] + c * vader["pos"]
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


# Per complaint cue of the rules file (`complaint.cues.<lang>`) found, added to the log-odds
# (English) or to the negative score (other languages): a word staff say means a complaint
# takes a neutral post (p ≈ 0.15) past the flag (≈ 0.5–0.6) on its own.
RULES_CUE_LOGIT = 2.5


def raised(probability: float, rules_cues: int) -> float:
    """`probability` with the rules file's cues found added to its log-odds."""
    if not rules_cues or probability <= 0.0 or probability >= 1.0:
        return probability
    z = math.log(probability / (1.0 - probability)) + RULES_CUE_LOGIT * rules_cues
    return 1.0 / (1.0 + math.exp(-z))


def shifted(threshold: float, shift: float) -> float:
    """A threshold moved by the rules file's `complaint.threshold_shift`, kept inside (0, 1)."""
    return min(0.99, max(0.01, threshold + shift))


_IN_USE: list[Model] = []  # the model enrich applies; empty until first asked for


def model() -> Model:
    """The model `enrich` applies: the shipped weights, unless `use` put others in place."""
    if not _IN_USE:
        _IN_USE.append(Model(load_weights()))
    return _IN_USE[0]


@contextmanager
def use(weights: dict) -> Iterator[Model]:
    """Apply other weights (same layout as the file) inside the block: for measuring a model
    fitted without the industry it is scored on (bench/triage.py). Not for the running bot."""
    previous = model()
    _IN_USE[0] = Model(weights)
    try:
        yield _IN_USE[0]
    finally:
        _IN_USE[0] = previous
