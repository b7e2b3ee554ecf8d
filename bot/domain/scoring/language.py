"""PURE language of a post, offline: what the network says, else a small detector.

The detector first looks at the script: Arabic, Devanagari, Cyrillic, Greek, Hebrew, Thai,
Hangul, kana and Han letters name their language (or its usual one) outright; in Arabic script,
the letters only Urdu or Persian write name those. Latin-script text
is scored by a naive-Bayes model over its words (`data/language_weights.json`, "detector":
log-probabilities of each language's frequent words, derived by
`tools/derive_language_weights.py` from the train splits of the same public sets as the
sentiment weights). English keeps the benefit of the doubt: another language must win by
MARGIN nats per word. Text with too few of those words is scored by its letter 3-grams
("letters": the same model over the TOP_GRAMS most frequent 3-grams of each language's words,
English given LETTER_MARGIN per 3-gram) when it has MIN_GRAMS of them: "Brutale Räuber quälen
Taxifahrer" knows no frequent word but is German by its letters. Otherwise too few words say
nothing (None: scored as English), and words no language knows are `und` (undetermined: its
sentiment is `unknown`).
"""

from __future__ import annotations

import re
from functools import cache
from operator import itemgetter

from bot.domain.scoring import multilingual

UNDETERMINED = "und"
MARGIN = 1.0  # nats per frequent word another language must beat English by
MIN_WORDS = 3  # fewer (frequent) words than this: no guess
MIN_KNOWN = 0.3  # share of the words the best language must know, else "und"
MIN_GRAMS = 8  # known letter 3-grams a text too short for the words needs for a guess
# nats per 3-gram another language must beat English by; chosen on a fifth of the train posts
# held out of the 3-gram counts: German posts too short for the words 84 % → 93 % right, English
# ones kept 99.9 % (0.0 to 0.5 tried)
LETTER_MARGIN = 0.3
NOT_BY_LETTERS = frozenset({"pcm"})  # English-based: its letters are English's
NETWORK_UNKNOWN = frozenset({"und", "zxx", "qme", "qht", "qam", "qst", "art", "mis", ""})

# First letter of a script → the language it most likely is (the first non-Latin letter wins).
SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0x0600, 0x06FF, "ar"), (0x0750, 0x077F, "ar"), (0x0900, 0x097F, "hi"),
    (0x0400, 0x04FF, "ru"), (0x0370, 0x03FF, "el"), (0x0590, 0x05FF, "he"),
    (0x0E00, 0x0E7F, "th"), (0xAC00, 0xD7AF, "ko"), (0x3040, 0x30FF, "ja"),
    (0x4E00, 0x9FFF, "zh"), (0x0980, 0x09FF, "bn"), (0x0B80, 0x0BFF, "ta"),
)
_NON_LATIN = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b, _ in SCRIPTS) + "]")


def normalise(code: str | None) -> str | None:
    """A network's language tag as a base code ("pt-BR" → "pt"), or None when it says nothing."""
    if code is None:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return None if base in NETWORK_UNKNOWN else base


def letter_grams(words: list[str]) -> list[str]:
    """The letter 3-grams of each word, with its edges (" ca", "cat", "at ")."""
    out: list[str] = []
    for w in words:
        padded = f" {w} "
        out.extend(padded[i:i + 3] for i in range(len(padded) - 2))
    return out


@cache
def _letters() -> dict[str, tuple[float, ...]]:
    return {g: tuple(v) for g, v in multilingual.load_weights()["detector"]["letters"].items()}


def _by_letters(words: list[str], langs: tuple[str, ...]) -> str | None:
    """The language of a text too short for the word model, by its letter 3-grams: None when
    there are too few of them, or English is as likely (within LETTER_MARGIN a 3-gram)."""
    rows = list(filter(None, map(_letters().get, letter_grams(words))))
    if len(rows) < MIN_GRAMS:
        return None
    totals = list(map(sum, zip(*rows, strict=True)))
    best = max((i for i, lang in enumerate(langs) if lang not in NOT_BY_LETTERS),
               key=totals.__getitem__)
    if totals[best] - totals[langs.index("en")] < LETTER_MARGIN * len(rows):
        return None
    return langs[best]


@cache
def _detector() -> tuple[tuple[str, ...], dict[str, tuple[float, ...]],
                         dict[str, tuple[int, ...]]]:
    """The languages; per frequent word its log-probability in each language; and per word
    which languages know it (a value above their unseen one)."""
    d = multilingual.load_weights()["detector"]
    # A word outside a language's frequent words costs every such language the same (the
    # lowest smoothed value): a small corpus must not win on the words it never saw.
    floor = min(d["unseen"])
    unseen = tuple(d["unseen"])
    words = {w: tuple(floor if x <= u else x for x, u in zip(v, unseen, strict=True))
             for w, v in d["words"].items()}
    known = {w: tuple(int(x > u) for x, u in zip(v, unseen, strict=True))
             for w, v in d["words"].items()}
    return tuple(d["languages"]), words, known


def script_language(text: str) -> str | None:
    if text.isascii():
        return None
    m = _NON_LATIN.search(text)
    if m is None:
        return None
    o = ord(m.group())
    if 0x4E00 <= o <= 0x9FFF and re.search("[\u3040-\u30ff]", text):
        return "ja"  # Han with kana: Japanese
    if 0x0600 <= o <= 0x077F:
        return _arabic_script(text)
    return next(lang for a, b, lang in SCRIPTS if a <= o <= b)


# Letters Arabic does not use: Urdu's (ٹ ڈ ڑ ں ے), and Persian's, which Urdu shares (پ چ ژ گ ک ی;
# Gulf Arabic writes چ or گ now and then, so it takes two).
_URDU = re.compile("[\u0679\u0688\u0691\u06ba\u06be\u06d2\u06d3]")
_PERSIAN = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")


def _arabic_script(text: str) -> str:
    """Arabic, or Urdu or Persian by the letters only they write: their posts must not be
    scored by Arabic's weights."""
    if _URDU.search(text):
        return "ur"
    return "fa" if len(_PERSIAN.findall(text)) >= 2 else "ar"


def detect(text: str, words: list[str] | None = None) -> str | None:
    """The post's language code, `und`, or None (too short to tell: treat as English).
    `words`: `multilingual.tokens(text.lower())`, when the caller has them already."""
    by_script = script_language(text)
    if by_script is not None:
        return by_script
    if words is None:
        words = multilingual.tokens(text.lower())
    if len(words) < MIN_WORDS:
        return None
    langs, table, known = _detector()
    # Words no language counts among its frequent ones are no evidence either way. (Lookups
    # and sums done in C, `map`/`filter`: this runs for every post the network gives no
    # language.)
    rows = list(filter(None, map(table.get, words)))
    seen = len(rows)
    if seen < MIN_WORDS:
        return _by_letters(words, langs) or (None if seen else UNDETERMINED)
    totals = list(map(sum, zip(*rows, strict=True)))
    best = max(range(len(langs)), key=totals.__getitem__)
    if sum(map(itemgetter(best), filter(None, map(known.get, words)))) \
            < MIN_KNOWN * len(words):
        return UNDETERMINED
    english = langs.index("en")
    if best != english and totals[best] - totals[english] < MARGIN * seen:
        return "en"
    return langs[best]


def language_of(network_lang: str | None, text: str,
                words: list[str] | None = None) -> str | None:
    """The network's tag when it gives one, else the detector's answer (`words`: see
    `detect`)."""
    return normalise(network_lang) or detect(text, words)
