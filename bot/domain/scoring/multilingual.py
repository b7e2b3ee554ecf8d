"""PURE sentiment and complaint for languages other than English, from learned weights.

For each language in `data/language_weights.json` (derived by
`tools/derive_language_weights.py` from the train splits of public multilingual sentiment sets;
the file's "derived" note lists them and their licences): a 3-class logistic regression
(negative, neutral, positive; Swahili's interpolated with naive Bayes, one linear model all the
same) over the post's words, word pairs, word stems (the first
STEM letters of longer words), letter 4-grams and emoji, the extra features a language's weights
name (`EXTRAS`: Swahili's verb prefixes, Portuguese's and Arabic's hand-written valence
words; others the derive tool tried), and VADER's
scores (emoji, emoticons and English words are common in any language), plus the rules file's
per-language lexicon
(`sentiment.lexicons.<lang>`: word → valence −4..4, added to the positive or negative score).
The complaint probability is the probability of "negative", raised by the language's complaint
cues (bot.domain.scoring.language_cues): there is no labelled complaint data in these
languages, so an unhappy post is the best stand-in. A language with no weights is not guessed
at: `scores` returns None and the caller says `unknown`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from bot.domain.scoring import language_cues
from bot.domain.scoring.complaint import RULES_CUE_LOGIT

WEIGHTS_FILE = "language_weights.json"
LABELS = ("negative", "neutral", "positive")
STRIP = re.compile(r"@\w+|https?://\S+|www\.\S+")
STEM = 5  # letters kept of a word longer than this, as a feature of its own ("p:remb")
EMOJI_FROM = 0x2000
NUMERIC = ("compound", "neg", "pos")  # VADER's scores, weighed like the features
LEXICON_SCALE = 0.5  # a lexicon valence of +2 adds 1.0 to the positive score
CUE_POINTS = 1.0  # added to the negative score per complaint cue found
BAND = 0.05  # the rules file's default neutral band, where a neutral post's compound stays



def tokens(low: str) -> list[str]:
    """The words of a lowercased text in any script, without handles and links."""
    if "@" in low or "http" in low or "www." in low:
        low = STRIP.sub(" ", low)
    return language_cues.split(low)


_WORD_FEATURES: dict[str, tuple[str, ...]] = {}  # word → its own features, for speed
WORD_CACHE_MAX = 200_000  # words kept; cleared when full (a dict of short tuples: ~60 MB at most)


def _word_features(w: str) -> tuple[str, ...]:
    """The word, its stem and its letter 4-grams: the features one word gives on its own."""
    out = _WORD_FEATURES.get(w)
    if out is None:
        padded = f" {w} "
        grams = ["c:" + padded[i:i + 4] for i in range(len(padded) - 3)]
        out = (w, "p:" + w[:STEM], *grams) if len(w) > STEM else (w, *grams)
        if len(_WORD_FEATURES) >= WORD_CACHE_MAX:
            _WORD_FEATURES.clear()
        _WORD_FEATURES[w] = out
    return out


def features(words: list[str], text: str, extras: Iterable[str] = ()) -> set[str]:
    """Words, word pairs ("a b"), stems ("p:…"), letter 4-grams of each word with its edges
    ("c: mal", "c:mal "), emoji, and the `extras` a language's weights were fitted with
    (EXTRAS). Each feature counts once, however often it occurs."""
    seen = list(map(_WORD_FEATURES.get, words))  # the usual case: every word seen before
    parts: list[tuple[str, ...]] = (list(map(_word_features, words)) if None in seen
                                    else seen)  # type: ignore[assignment]
    out: set[str] = set().union(*parts)
    out.update(map(" ".join, itertools.pairwise(words)))
    if not text.isascii():
        out.update(ch for ch in text if ord(ch) >= EMOJI_FROM)
    for name in extras:
        out.update(EXTRAS[name](words))
    return out


def _unaccented(words: list[str]) -> list[str]:
    """Each word without its accents ("a:nao" for "não" and "nao"): posts often drop them,
    and one feature then carries both spellings."""
    return ["a:" + (w if w.isascii() else _fold(w)) for w in words]


@lru_cache(maxsize=WORD_CACHE_MAX)  # bounded: a running bot meets new words forever
def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


# Swahili marks negation and tense with verb prefixes ("hatupendi": we do not like; "ni-me-
# furahi": I am pleased): a prefix-stripped root carries one meaning across persons.
_SW_NEGATION_WORDS = frozenset(("si", "sio", "siyo", "hapana", "hakuna", "bila", "wala", "hata"))
_SW_NEGATIVE_PREFIXES = ("hatu", "hawa", "hamu", "haku", "haki", "hai", "hau", "hazi", "hayu",
                         "ha", "si")
_SW_SUBJECTS = ("tu", "wa", "li", "ya", "ki", "vi", "zi", "ku", "ni", "u", "a", "m", "i")
_SW_TENSES = ("na", "li", "ta", "me", "ja", "ki", "nge", "ngali", "sha")


def _swahili(words: list[str]) -> list[str]:
    """Negation ("m:negword", "m:not_" + the next word's first 6 letters; a negative verb
    prefix: "m:neg", "m:neg_" + the root's first 4) and, for other verbs, the root after
    subject and tense ("m:r_" + 5 letters) and the tense ("m:t_me")."""
    out = []
    for i, w in enumerate(words):
        if w in _SW_NEGATION_WORDS:
            out.append("m:negword")
            if i + 1 < len(words):
                out.append("m:not_" + words[i + 1][:6])
        out.extend(_swahili_word(w))
    return out


@lru_cache(maxsize=WORD_CACHE_MAX)
def _swahili_word(w: str) -> tuple[str, ...]:
    for p in _SW_NEGATIVE_PREFIXES:
        if w.startswith(p) and len(w) >= len(p) + 4:
            root = w[len(p):]
            for t in ("ku", "ja", "ta", "na"):
                if root.startswith(t) and len(root) > 4:
                    root = root[2:]
                    break
            return ("m:neg", "m:neg_" + root[:4])
    for s in _SW_SUBJECTS:
        if w.startswith(s):
            rest = w[len(s):]
            for t in _SW_TENSES:
                if rest.startswith(t) and len(rest) >= len(t) + 3:
                    return ("m:r_" + rest[len(t):][:5], "m:t_" + t)
            return ()
    return ()


# Word roots of plain valence (a hand-written list, not fitted): each found inside a word gives
# "m:lex-" or "m:lex+" (reversed after a negation or in a negative verb), so a rare or new
# inflection ("wamenichelewesha") still reads as the common ones' class; the weight is fitted.
_SW_NEGATIVE_ROOTS = ("mbaya", "vibaya", "ubaya", "mbovu", "ubovu", "tatizo", "matatizo", "shida",
                      "hasira", "huzuni", "uongo", "waongo", "wizi", "mwizi", "wezi", "tapeli",
                      "ujinga", "mjinga", "upuuzi", "chuki",
                      "uzembe", "rushwa", "ufisadi", "hasara", "dhuluma", "sikitik", "lalamik",
                      "chelew", "dhaifu", "maumivu", "inauma", "umiz", "msiba", "zuiw",
                      "kataa", "kwama", "potea", "ibiw", "shindw")
_SW_POSITIVE_ROOTS = ("nzuri", "mzuri", "vizuri", "uzuri", "safi", "bora", "asante", "shukuru",
                      "shukrani", "hongera", "pongez", "furah", "pend", "amani", "baraka",
                      "fanikiw", "mafanikio", "ushindi", "salama", "imara", "hodari", "karibu",
                      "jivunia", "bariki")
_SW_NEGATIVE_WORDS = frozenset(("duni", "kero", "aibu", "kufa", "lia", "hovyo", "ovyo"))
_SW_POSITIVE_WORDS = frozenset(("safi", "poa", "bora", "tamu", "sifa", "heri", "kheri"))


def _swahili_lexicon(words: list[str]) -> list[str]:
    """"m:lex-"/"m:lex+" for each word holding a root of _SW_*_ROOTS (the sign reversed in a
    negative verb or after a negation word), and "m:lex-_int"/"m:lex+_int" when "sana" or
    "kabisa" (very, completely) follows it."""
    out = []
    for i, w in enumerate(words):
        sign = _sw_valence(w)
        if not sign:
            continue
        if (i and words[i - 1] in _SW_NEGATION_WORDS) or _swahili_word(w)[:1] == ("m:neg",):
            sign = -sign
        name = "m:lex+" if sign > 0 else "m:lex-"
        out.append(name)
        if i + 1 < len(words) and words[i + 1] in ("sana", "kabisa"):
            out.append(name + "_int")
    return out


@lru_cache(maxsize=WORD_CACHE_MAX)
def _sw_valence(w: str) -> int:
    if w in _SW_NEGATIVE_WORDS or any(r in w for r in _SW_NEGATIVE_ROOTS):
        return -1
    return 1 if w in _SW_POSITIVE_WORDS or any(r in w for r in _SW_POSITIVE_ROOTS) else 0


# Portuguese, the same idea: words starting with a root of plain valence (or one of the short
# words exactly), reversed after "não"/"nem"/"nunca"/"sem" one or two words before.
_PT_NEGATIVE_ROOTS = ("péssim", "pessim", "horrív", "horriv", "vergonh", "absurd", "raiva",
                      "odei", "ódio", "odio", "decepc", "decepç", "nojo", "nojent", "merd",
                      "porcaria", "reclam", "mentir", "mentiros", "ladr", "roub", "fraud",
                      "golpe", "cansad", "lament", "infeliz", "chor", "fracass", "preocup",
                      "tristeza", "problem", "desrespeit", "descaso", "palhaç", "ridícul",
                      "ridicul", "insuport", "irrit", "detest", "lixo", "ruim", "pior")
_PT_POSITIVE_ROOTS = ("ótim", "otim", "excelent", "ador", "amei", "amo", "amor", "obrigad",
                      "parab", "feliz", "felicidad", "maravilh", "incrív", "incriv", "perfeit",
                      "sucesso", "alegr", "sensacion", "fantást", "fantast", "melhor", "querid",
                      "abraç", "beij", "vitóri", "vitori", "campeã", "campea", "kkk", "haha",
                      "gostei", "lind", "orgulh", "agradeç", "agradec", "sorte")
_PT_SHORT = {"mal": -1, "dor": -1, "medo": -1, "chato": -1, "chata": -1, "triste": -1,
             "bom": 1, "boa": 1, "top": 1, "show": 1, "legal": 1, "massa": 1}
_PT_NEGATION_WORDS = frozenset(("não", "nao", "nem", "nunca", "jamais", "sem"))


def _lexicon_marks(words: list[str], valence: Callable[[str], int],
                   negations: frozenset[str]) -> list[str]:
    """"m:lex-"/"m:lex+" for each word of plain valence, reversed after a negation (one of
    the two words before it)."""
    out = []
    for i, w in enumerate(words):
        sign = valence(w)
        if sign and negations.intersection(words[max(0, i - 2):i]):
            sign = -sign
        if sign:
            out.append("m:lex+" if sign > 0 else "m:lex-")
    return out


def _portuguese_lexicon(words: list[str]) -> list[str]:
    """Portuguese's words of plain valence (_PT_*): _lexicon_marks."""
    return _lexicon_marks(words, _pt_valence, _PT_NEGATION_WORDS)


@lru_cache(maxsize=WORD_CACHE_MAX)
def _pt_valence(w: str) -> int:
    if w in _PT_SHORT:
        return _PT_SHORT[w]
    if w.startswith(_PT_NEGATIVE_ROOTS):
        return -1
    return 1 if w.startswith(_PT_POSITIVE_ROOTS) else 0


def _letter_5grams(words: list[str]) -> list[str]:
    """Letter 5-grams of each word with its edges ("g: mbay"): longer sub-words than the
    shared 4-grams, for a language that glues affixes to its roots."""
    return [g for w in words for g in _word_5grams(w)]


@lru_cache(maxsize=WORD_CACHE_MAX)
def _word_5grams(w: str) -> tuple[str, ...]:
    padded = f" {w} "
    return tuple("g:" + padded[i:i + 5] for i in range(len(padded) - 4))


_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي",
                              "ؤ": "و", "ئ": "ي", "ـ": None,
                              **{chr(c): None for c in range(0x064B, 0x0660)}, "ٰ": None})
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")


def _arabic(words: list[str]) -> list[str]:
    """Each Arabic word as _arabic_form spells it: "a:<form>"."""
    return ["a:" + _arabic_form(w) for w in words if "\u0600" <= w[0] <= "\u06ff"]


# Arabic words of plain valence, spelled as _arabic_form gives them (MSA and the common Gulf,
# Levantine and Egyptian words of customer complaints and thanks); a root matches its longer
# forms ("فاشل": "فاشلين"), so none is a short word's start too ("ردي" is "my reply" as well
# as "bad"; "بطل" a hero and "stop it").
_AR_NEGATIVE_ROOTS = ("سيي", "سيء", "اسوا", "زفت", "فاشل", "مقرف", "قرف", "رديء", "كارث",
                      "مزعج", "تعبان", "خايس", "غبي", "حقير", "متخلف", "تخلف", "سخيف", "خربان",
                      "وسخ", "معفن", "فضيح", "مهزل", "كذب", "كذاب", "نصاب", "احتيال", "زعلان",
                      "ظلم", "حسبي", "اسف", "مشكل", "بطيء", "بطيي", "غالي", "فشل", "خساره",
                      "مخيب", "محبط", "غضب", "مستاء", "حرامي")
_AR_POSITIVE_ROOTS = ("شكر", "مشكور", "ممتاز", "رايع", "جميل", "حلو", "افضل", "احسن", "تسلم",
                      "يسلم", "عافيه", "مبدع", "ابداع", "مبروك", "سعيد", "فرح", "احب", "حبيت",
                      "روعه", "عظيم", "ماشاء", "تبارك", "سريع", "نشكر", "اشكر")
_AR_NEGATION_WORDS = frozenset(("ما", "لا", "مش", "مو", "ليس", "غير", "مب", "لم", "لن", "مافي"))


def _arabic_form(w: str) -> str:
    """An Arabic word spelled alike (alef's forms, taa marbuta, short vowels, the elongating
    tatweel), without the article and the conjunctions or prepositions before it."""
    f = w.translate(_ARABIC_FOLD)
    for p in _ARABIC_PREFIXES:
        if f.startswith(p) and len(f) - len(p) >= 3:
            return f[len(p):]
    if f[:1] in ("و", "ف") and len(f) >= 5:  # "and", "so": glued to the next word
        return f[1:]
    return f


def _arabic_lexicon(words: list[str]) -> list[str]:
    """Arabic's words of plain valence (_AR_*): _lexicon_marks."""
    return _lexicon_marks(words, _ar_valence, _AR_NEGATION_WORDS)


@lru_cache(maxsize=WORD_CACHE_MAX)
def _ar_valence(w: str) -> int:
    if not ("\u0600" <= w[0] <= "\u06ff"):
        return 0
    f = _arabic_form(w)
    if f.startswith(_AR_NEGATIVE_ROOTS):
        return -1
    return 1 if f.startswith(_AR_POSITIVE_ROOTS) else 0


# Features a language's weights may name in their "extras" (tools/derive_language_weights.py
# chose them per language on train folds).
EXTRAS: dict[str, Callable[[list[str]], list[str]]] = {
    "unaccented": _unaccented, "swahili": _swahili, "swahili_lexicon": _swahili_lexicon,
    "portuguese_lexicon": _portuguese_lexicon, "letter_5grams": _letter_5grams, "arabic": _arabic,
    "arabic_lexicon": _arabic_lexicon}


@cache
def load_weights() -> dict:
    return json.loads(resources.files("bot.domain.scoring").joinpath("data", WEIGHTS_FILE)
                      .read_text("utf-8"))


@dataclass(frozen=True, slots=True)
class Scores:
    probabilities: tuple[float, float, float]  # negative, neutral, positive
    compound: float  # -1..1, in the ±BAND neutral band when "neutral" is the most likely
    label: str
    complaint_probability: float
    cues: tuple[str, ...]  # the language's complaint cues found (not the rules file's)
    urgent: frozenset[str]  # the kinds of urgency among the language's (language_cues)
    risks: frozenset[str]  # the language's risk cues found (language_cues)


def languages() -> frozenset[str]:
    return frozenset(load_weights()["languages"])


def complaint_threshold() -> float:
    threshold: float = load_weights()["complaint_threshold"]
    return threshold


class _Model:
    """One language's weights, as `scores` applies them: relative to `neutral` (a softmax is
    the same when one number is taken from all three scores), the negative and positive
    weights of a feature as one complex number, so the post's features are one pass of
    dictionary lookups summed in C (`sum(map(...))`), not a Python loop adding three numbers."""

    __slots__ = ("bias", "extras", "numeric", "weights")

    def __init__(self, data: dict) -> None:
        self.extras: tuple[str, ...] = tuple(data.get("extras", ()))
        # The weights' "temperature" (chosen on train folds' log loss) scales every score: the
        # most likely label stays, the probabilities (the complaint's) are calibrated.
        t = float(data.get("temperature", 1.0))
        b = data["bias"]
        self.bias = t * complex(b[0] - b[1], b[2] - b[1])
        self.numeric = tuple(t * complex(w[0] - w[1], w[2] - w[1]) for w in data["numeric"])
        self.weights = {f: t * complex(w[0] - w[1], w[2] - w[1])
                        for f, w in data["weights"].items()}


_NONE = itertools.repeat(0j)  # what a feature the model does not know adds


@cache
def _model(lang: str) -> _Model | None:
    data = load_weights()["languages"].get(lang)
    return None if data is None else _Model(data)


def scores(text: str, lang: str, vader: dict[str, float],
           lexicon: dict[str, float] | None = None,
           extra_cues: tuple[str, ...] = (), words: list[str] | None = None) -> Scores | None:
    """The sentiment of a post in `lang` (`vader`: VADER's scores of it), or None when there
    are no weights for `lang`. `extra_cues`: the rules file's complaint cues found in it
    (`complaint.cues.<lang>`), each RULES_CUE_LOGIT on the complaint's negative score.
    `words`: `tokens(text.lower())`, when the caller has them already."""
    model = _model(lang)
    if model is None:
        return None
    low = text.lower()
    if words is None:
        words = tokens(low)
    a, b, c = model.numeric
    z_ = (model.bias + a * vader[NUMERIC[0]] + b * vader[NUMERIC[1]] + c * vader[NUMERIC[2]]
          + sum(map(model.weights.get, features(words, text, model.extras), _NONE)))
    zn, zp = z_.real, z_.imag
    if lexicon:
        for word in words:
            v = lexicon.get(word)
            if v:
                if v > 0:
                    zp += v * LEXICON_SCALE
                else:
                    zn -= v * LEXICON_SCALE
    z = [zn, 0.0, zp]  # negative, neutral, positive
    found = language_cues.find(lang, words, low)
    # A cue the rules file names counts as the file's, even where it is built in too.
    builtin = [phrase for phrase in found.cues if phrase not in extra_cues]
    top = max(z)
    e = [math.exp(x - top) for x in z]
    total = sum(e)
    p = (e[0] / total, e[1] / total, e[2] / total)
    zc = list(z)
    zc[0] += CUE_POINTS * len(builtin) + RULES_CUE_LOGIT * len(extra_cues)
    ec = [math.exp(x - max(zc)) for x in zc]
    complaint = ec[0] / sum(ec)
    best = max(range(3), key=p.__getitem__)
    if best == 0:
        compound = -BAND - (1 - BAND) * p[0]
    elif best == 2:
        compound = BAND + (1 - BAND) * p[2]
    else:
        compound = BAND * 0.999 * (p[2] - p[0])
    return Scores(p, compound, LABELS[best], complaint, tuple(builtin), found.urgent,
                  found.risks)
