"""PURE triage valence: VADER plus the customer-care signals it lacks, as one learned sum.

VADER alone marks about half of real customer complaints negative ("flight Cancelled, rebooked
for tomorrow, no one answers" has no word in its lexicon). Here two linear scores

    negativity = bias + Σ weight × signal,   positivity = bias' + Σ weight' × signal

over VADER's own scores (compound, neg, pos: VADER stays the base), whether the post is
addressed to the brand, the complaint cues of `bot.domain.scoring.enrich` (negated ones already left out),
"again"/"still", a question, "!", "!!"/"?!", and a customer-care lexicon of single words and
emoji with learned weights. (An ALL-CAPS word was a signal too, but its weights came out at
about zero on the tuning data and the test cost a regex scan a post: it is left to the
priority score, where it intensifies a complaint.) Each score is a one-vs-rest logistic model
(negative vs the rest, positive vs the rest); the pair is mapped to a compound-like value in
-1..1 whose neutral band is exactly the rules file's default ±0.05, so `sentiment_label` keeps
working and a rules file can still move the thresholds.

The weights are data (`bot/domain/scoring/data/triage_weights.json`): derived facts (one number per signal and
per word), not text. `tools/derive_triage_weights.py` re-derives them from the tuning corpora
(see the file's "derived" note); this module only applies them, in a few microseconds: one set
intersection over the post's words, a handful of string tests.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from importlib import resources

WEIGHTS_FILE = "triage_weights.json"

REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")  # !!, ???, ?!
EMOJI_FROM = 0x2000  # characters from here on (symbols, dingbats, emoji) may carry a weight

# The signals other than words and emoji, by name (the keys of the file's "signals").
SIGNALS = (
    "vader_compound", "vader_neg", "vader_pos", "addressed", "addressed_problem", "question",
    "again", "exclamation", "repeated_punctuation",
)
CUE_PREFIX = "cue:"  # "cue:delayed" … one signal per complaint cue of bot.domain.scoring.enrich


def load_weights() -> dict:
    return json.loads(resources.files("bot.domain.scoring").joinpath("data", WEIGHTS_FILE).read_text("utf-8"))


_W = load_weights()
# Every weight is a pair (negativity, positivity): two scores, each its own one-vs-rest model.
_SIG: dict[str, list[float]] = _W["signals"]
_WORDS: dict[str, list[float]] = _W["words"]
_EMOJI: dict[str, list[float]] = _W["emoji"]
_VOCAB = frozenset(_WORDS)
_ZERO = (0.0, 0.0)
_EMOJI_SET = frozenset(_EMOJI)
_CUES: dict[str, list[float]] = {k[len(CUE_PREFIX):]: v for k, v in _SIG.items()
                                 if k.startswith(CUE_PREFIX)}
NEGATIVE_FROM: float = _W["negative_from"]  # negativity above this: negative
POSITIVE_FROM: float = _W["positive_from"]  # else positivity above this: positive
SPREAD: float = _W["spread"]  # score units over which the compound goes most of the way to ±1
BAND = 0.05  # the default neutral band of rules.sentiment, where the cut points are mapped to
_B = _W["bias"]
_C, _NEG, _POS = _SIG["vader_compound"], _SIG["vader_neg"], _SIG["vader_pos"]
_ADDR, _ADDR_PROBLEM = _SIG["addressed"], _SIG["addressed_problem"]
_QUESTION, _AGAIN = _SIG["question"], _SIG["again"]
_BANG, _REPEATED = _SIG["exclamation"], _SIG["repeated_punctuation"]


def features(text: str, words: Iterable[str], vader: dict[str, float], cues: Iterable[str],
             *, again: bool, question: bool, addressed: bool) -> dict[str, float]:
    """The signals of one post, by name (words and emoji by themselves): what the weights
    multiply. For deriving the weights and for tests; `scores` is the fast equivalent."""
    cues = tuple(cues)
    f: dict[str, float] = {
        "vader_compound": vader["compound"], "vader_neg": vader["neg"], "vader_pos": vader["pos"],
    }
    flags = {
        "addressed": addressed, "addressed_problem": addressed and bool(cues),
        "question": question, "again": again, "exclamation": "!" in text,
        "repeated_punctuation": REPEATED_PUNCTUATION.search(text) is not None,
    }
    f.update((k, 1.0) for k, on in flags.items() if on)
    f.update((CUE_PREFIX + c, 1.0) for c in cues)
    f.update((w, 1.0) for w in set(words))
    if not text.isascii():
        f.update((ch, 1.0) for ch in set(text) if ord(ch) >= EMOJI_FROM)
    return f


def weight_of(name: str) -> tuple[float, float]:
    """The (negativity, positivity) weights of one signal, word or emoji ((0, 0): none)."""
    found = _SIG.get(name) or _WORDS.get(name) or _EMOJI.get(name) or (0.0, 0.0)
    return found[0], found[1]


def scores(text: str, words: list[str], vader: dict[str, float], cues: tuple[str, ...],
           *, again: bool, question: bool, addressed: bool) -> tuple[float, float]:
    """(negativity, positivity): bias + Σ weight × signal over `features(...)`, without
    building it (one set intersection, a loop over the few words that carry a weight)."""
    c, vn, vp = vader["compound"], vader["neg"], vader["pos"]
    n = _B[0] + _C[0] * c + _NEG[0] * vn + _POS[0] * vp
    p = _B[1] + _C[1] * c + _NEG[1] * vn + _POS[1] * vp
    for w in _VOCAB.intersection(words):
        dn, dp = _WORDS[w]
        n += dn
        p += dp
    if not text.isascii():
        for ch in _EMOJI_SET.intersection(text):
            dn, dp = _EMOJI[ch]
            n += dn
            p += dp
    if addressed:
        n += _ADDR[0]
        p += _ADDR[1]
        if cues:
            n += _ADDR_PROBLEM[0]
            p += _ADDR_PROBLEM[1]
    for cue in cues:
        dn, dp = _CUES.get(cue, _ZERO)
        n += dn
        p += dp
    if question:
        n += _QUESTION[0]
        p += _QUESTION[1]
    if again:
        n += _AGAIN[0]
        p += _AGAIN[1]
    if "!" in text:
        n += _BANG[0]
        p += _BANG[1]
        if "!!" in text or "?!" in text or "!?" in text or "??" in text:  # = REPEATED_PUNCTUATION
            n += _REPEATED[0]
            p += _REPEATED[1]
    elif "??" in text:
        n += _REPEATED[0]
        p += _REPEATED[1]
    return n, p


def compound(negativity: float, positivity: float) -> float:
    """The two scores as one compound-like value in -1..1, whose neutral band is the rules
    file's default ±0.05: below -0.05 when negativity > NEGATIVE_FROM (further towards -1 over
    about SPREAD units), else above +0.05 when positivity > POSITIVE_FROM, else inside the
    band."""
    over_n = negativity - NEGATIVE_FROM
    if over_n > 0:
        return -BAND - (1 - BAND) * math.tanh(over_n / SPREAD)
    over_p = positivity - POSITIVE_FROM
    if over_p > 0:
        return BAND + (1 - BAND) * math.tanh(over_p / SPREAD)
    return BAND * math.tanh(over_p - over_n) * 0.999  # strictly inside the band
