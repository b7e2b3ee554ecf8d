"""VADER 3.3.2's scoring, same scores, faster.

VADER is C.J. Hutto's (vaderSentiment 3.3.2, MIT licence; Hutto & Gilbert, ICWSM-14). `Analyzer`
is its `SentimentIntensityAnalyzer` with `polarity_scores` rewritten: the same rules, the same
float operations in the same order, so the same dict bit for bit, with any `lexicon`. Stock
VADER rebuilds a lowered copy of the whole word list several times per lexicon word (in
`_negation_check`, `_special_idioms_check`, `negated`) and lowers the same words again and
again; this lowers them once, skips the words outside the lexicon (they score 0 whatever
surrounds them) and looks up frozensets and dicts. Tests compare it with stock VADER.
"""

from __future__ import annotations

import math
import string
from collections.abc import Set as AbstractSet

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

_PUNCT = string.punctuation
_NEGATE = frozenset(NEGATE)
_SO_THIS = frozenset(("so", "this"))
_AT_VERY = frozenset(("at", "very"))
_OR_NOR = frozenset(("or", "nor"))
# The words of VADER's multi-word idioms and boosters: an n-gram of tokens (joined by one
# space) can only be such a key if each of its words is one of these.
_IDIOM_WORDS = frozenset(w for k in SPECIAL_CASES if " " in k for w in k.split(" "))
_BOOSTER_WORDS = frozenset(w for k in BOOSTER_DICT if " " in k for w in k.split(" "))
_NOTHING = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}  # no words
_NEUTRAL = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}  # no lexicon word


def _idioms(v, low: list[str], i: int, n: int):
    """VADER's `_special_idioms_check` on the lowered words (so `i` >= 3)."""
    w0, w1, w2, w3 = low[i], low[i - 1], low[i - 2], low[i - 3]
    if w1 in _IDIOM_WORDS or w2 in _IDIOM_WORDS:  # each of these n-grams has w1 or w2
        for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}", f"{w3} {w2} {w1}",
                    f"{w3} {w2}"):
            if seq in SPECIAL_CASES:
                v = SPECIAL_CASES[seq]
                break
    if w0 in _IDIOM_WORDS:
        if n - 1 > i and (seq := f"{w0} {low[i + 1]}") in SPECIAL_CASES:
            v = SPECIAL_CASES[seq]
        if n - 1 > i + 1 and (seq := f"{w0} {low[i + 1]} {low[i + 2]}") in SPECIAL_CASES:
            v = SPECIAL_CASES[seq]
    if w2 in _BOOSTER_WORDS:  # "kind of" before the word: each n-gram has w2
        for seq in (f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"):
            if seq in BOOSTER_DICT:
                v = v + BOOSTER_DICT[seq]
    return v


def _scalar(boost: float, word: str, v, cap_diff: bool):
    """VADER's `scalar_inc_dec` for a booster word."""
    scalar = boost
    if v < 0:
        scalar *= -1
    if word.isupper() and cap_diff:
        if v > 0:
            scalar += C_INCR
        else:
            scalar -= C_INCR
    return scalar


def _emoji_table(emojis: dict[str, str]) -> tuple[dict[str, str], frozenset[str], bool, bool]:
    """(the table, its emoji, whether no description has one, whether one is ASCII)."""
    chars = frozenset(k for k in emojis if len(k) == 1)  # VADER tests one character at a time
    spelt_once = chars.isdisjoint("".join(emojis[c] for c in chars))
    return emojis, chars, spelt_once, any(c.isascii() for c in chars)


def _spell_emoji(text: str, present: AbstractSet[str], emojis: dict[str, str],
                 spelt_once: bool) -> str:
    """VADER's emoji pass: each emoji becomes its description, after a space unless it starts
    the text or follows a space. A space there as well would change no word and no "!"/"?"
    count, so every description gets one, and each emoji in the text is one `str.replace`
    (unless a description holds an emoji: VADER does not spell that one)."""
    if not spelt_once:
        return "".join(" " + emojis[c] if c in present else c for c in text)
    for c in present:
        text = text.replace(c, " " + emojis[c])
    return text


class Analyzer(SentimentIntensityAnalyzer):
    """`SentimentIntensityAnalyzer` whose `polarity_scores` is VADER's, computed faster."""

    _emojis: tuple[dict[str, str], frozenset[str], bool, bool] | None = None

    # One flat function on purpose: it is the hot path of enrich, and splitting it into helpers
    # costs a call per word (bench/triage.py measures it against VADER's own).
    def polarity_scores(self, text):  # noqa: C901
        if not isinstance(text, str):
            return super().polarity_scores(text)
        table = self._emojis
        if table is None or table[0] is not self.emojis:  # once per emoji table
            table = self._emojis = _emoji_table(self.emojis)
        # VADER's emoji are all non-ASCII: ASCII text skips the pass. VADER strips the text
        # after it; that changes neither the words nor the "!"/"?" counts, so it is skipped.
        if (table[3] or not text.isascii()) and (present := table[1].intersection(text)):
            text = _spell_emoji(text, present, self.emojis, table[2])
        ascii_ = text.isascii()
        # SentiText: split, strip punctuation unless that leaves 2 characters or fewer.
        words = [s if len(s := t.strip(_PUNCT)) > 2 else t for t in text.split()]
        if not words:
            return dict(_NOTHING)
        # Words hold no whitespace, and ASCII lowers character by character: one call.
        low = " ".join(words).lower().split(" ") if ascii_ else [w.lower() for w in words]
        lex = self.lexicon
        hits = lex.keys() & low
        if not hits:  # every word scores 0, and "but" leaves zeros zero
            return dict(_NEUTRAL)

        n = len(words)
        last = n - 1
        caps = sum(map(str.isupper, words))
        cap_diff = 0 < n - caps < n
        sentiments: list = [0] * n  # VADER's int 0 for every word it does not score
        scored: list[int] = []
        boosters = BOOSTER_DICT
        for i, w in enumerate(low):
            if w not in hits or w in boosters:
                continue
            if w == "kind" and i < last and low[i + 1] == "of":
                continue
            # VADER's sentiment_valence from here, on the lowered words.
            v = lex[w]
            if w == "no" and i != last and low[i + 1] in lex:
                v = 0.0  # "no" negates the next word instead
            if (i > 0 and low[i - 1] == "no") or (i > 1 and low[i - 2] == "no") or (
                    i > 2 and low[i - 3] == "no" and low[i - 1] in _OR_NOR):
                v = lex[w] * N_SCALAR
            if cap_diff and words[i].isupper():
                if v > 0:
                    v += C_INCR
                else:
                    v -= C_INCR
            # The three words before: boosters (dampened with distance), negations, idioms.
            # `v + s` even when s is 0.0: VADER does it, and it turns an int or -0.0 into 0.0.
            if i > 0:
                p = low[i - 1]
                if p not in lex:
                    b = boosters.get(p)
                    s = 0.0 if b is None else _scalar(b, words[i - 1], v, cap_diff)
                    v = v + s
                    if p in _NEGATE or "n't" in p:
                        v = v * N_SCALAR
                if i > 1:
                    p = low[i - 2]
                    if p not in lex:
                        b = boosters.get(p)
                        s = 0.0
                        if b is not None:
                            s = _scalar(b, words[i - 2], v, cap_diff)
                            if s != 0:
                                s = s * 0.95
                        v = v + s
                        if p == "never" and low[i - 1] in _SO_THIS:
                            v = v * 1.25
                        elif p == "without" and low[i - 1] == "doubt":
                            pass
                        elif p in _NEGATE or "n't" in p:
                            v = v * N_SCALAR
                    if i > 2:
                        p = low[i - 3]
                        if p not in lex:
                            b = boosters.get(p)
                            s = 0.0
                            if b is not None:
                                s = _scalar(b, words[i - 3], v, cap_diff)
                                if s != 0:
                                    s = s * 0.9
                            v = v + s
                            # VADER's precedence: "so"/"this" just before the word is enough.
                            if (p == "never" and low[i - 2] in _SO_THIS) or low[i - 1] in _SO_THIS:
                                v = v * 1.25
                            elif p == "without" and (low[i - 2] == "doubt"
                                                     or low[i - 1] == "doubt"):
                                pass
                            elif p in _NEGATE or "n't" in p:
                                v = v * N_SCALAR
                            v = _idioms(v, low, i, n)  # only here, as in VADER
                # _least_check: "least" before the word negates it, except "at/very least".
                if low[i - 1] == "least" and "least" not in lex and not (
                        i > 1 and low[i - 2] in _AT_VERY):
                    v = v * N_SCALAR
            sentiments[i] = v
            scored.append(i)

        if "but" in low:  # VADER's own, quirks and all (it finds values with list.index)
            sentiments = self._but_check(words, sentiments)

        # score_valence
        sum_s = float(sum(sentiments))
        ep_count = text.count("!")
        if ep_count > 4:
            ep_count = 4
        qm_count = text.count("?")
        qm_amplifier = 0.0
        if qm_count > 1:
            qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
        punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound = sum_s / math.sqrt((sum_s * sum_s) + 15)
        if compound < -1.0:
            compound = -1.0
        elif compound > 1.0:
            compound = 1.0
        # Only scored words can be non-zero (but_check only rescales values it finds).
        pos_sum = 0.0
        neg_sum = 0.0
        for i in scored:
            s = sentiments[i]
            if s > 0:
                pos_sum += (float(s) + 1)
            if s < 0:
                neg_sum += (float(s) - 1)
        neu_count = sentiments.count(0)
        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct_emph_amplifier
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct_emph_amplifier
        total = pos_sum + math.fabs(neg_sum) + neu_count
        return {"neg": round(math.fabs(neg_sum / total), 3),
                "neu": round(math.fabs(neu_count / total), 3),
                "pos": round(math.fabs(pos_sum / total), 3),
                "compound": round(compound, 4)}
