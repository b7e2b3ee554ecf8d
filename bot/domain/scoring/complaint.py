"""PURE complaint signal: the probability that a post is a customer complaint, for any brand.

One logistic regression over what a post says, not whom it is written to: its words and word
pairs (after @handles and links are dropped: a brand's name says which brand, not whether the
customer is unhappy), the complaint cues of `bot.domain.scoring.enrich` (card swallowed,
account frozen, not delivered, on hold, waiting since …), VADER's scores, and a few flags ("@"
at the start, a question, "again"/"still", "!"). Its weights are data
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
from functools import cache
from importlib import resources

WEIGHTS_FILE = "complaint_weights.json"
STRIP = re.compile(r"@\w+|https?://\S+|www\.\S+")  # handles and links carry no complaint
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
NUMERIC = ("vader_compound", "vader_neg", "vader_pos")
FLAGS = ("starts_with_handle", "question", "again", "exclamation")
CUE_PREFIX = "cue:"


def words_of(low: str) -> list[str]:
    """The words the model reads: of the lowercased text, without handles and links."""
    if "@" in low or "http" in low or "www." in low:
        low = STRIP.sub(" ", low)
    if "’" in low:
        low = low.replace("’", "'")
    return WORD.findall(low)


def features(words: list[str], cues: Iterable[str], flags: Iterable[str]) -> set[str]:
    """The binary features of a post: words, adjacent word pairs ("a b"), cues, flags."""
    out = set(words)
    out.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    out.update(CUE_PREFIX + c for c in cues)
    out.update(flags)
    return out


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
    """The shipped weights, ready to apply."""

    __slots__ = ("bias", "mixed_from", "numeric", "review_from", "threshold", "weights")

    def __init__(self, data: dict) -> None:
        self.bias: float = data["bias"]
        self.numeric: tuple[float, ...] = tuple(data["numeric"][k] for k in NUMERIC)
        self.weights: dict[str, float] = data["weights"]
        self.threshold: float = data["threshold"]  # from here: flagged a complaint
        self.review_from: float = data.get("review_from", self.threshold)  # from here: ≥ P3
        # From here: ≥ P3 even when it reads as praise. The middle of the review band, not a
        # tuned figure (files without it get the same rule).
        self.mixed_from: float = data.get("mixed_from",
                                          round((self.review_from + self.threshold) / 2, 2))

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
