"""Labelled sentiment posts in other languages, train and dev splits, read in place.

`../shared/fixtures/sentiment/multilingual/` (or `$SOCIALBOT_FIXTURES/...`), research data
never copied into this repository (sources and licences: section 6 of the fixtures' sources
file). Their test splits are not there on purpose. Weights are fitted on `train` only; `dev`
is for reporting, never for choosing anything.

| language | train | dev |
|---|---|---|
| es, fr, de, it | xlm-t <language>/train | xlm-t <language>/val |
| pt | xlm-t portuguese/train + afrisenti por/train (Mozambican) | xlm-t portuguese/val |
| sw | afrisenti swa/train + zindi_swahili/Train.csv | afrisenti swa/dev |
| pcm | afrisenti pcm/train | afrisenti pcm/dev |
| ar, hi | xlm-t (language detection only) | xlm-t val |

For language detection, English is the tuning airlines' tweets and TweetEval's val split.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import corpora

ML = Path("sentiment") / "multilingual"
LABELS = ("negative", "neutral", "positive")
XLMT = {"es": "spanish", "fr": "french", "de": "german", "it": "italian", "pt": "portuguese",
        "ar": "arabic", "hi": "hindi"}
SENTIMENT_LANGUAGES = ("es", "fr", "pt", "de", "it", "sw", "pcm", "ar")
DETECTED = (*SENTIMENT_LANGUAGES, "en", "hi")

Post = tuple[str, str]  # (text, label)


def available() -> str | None:
    folder = corpora.fixtures_dir() / ML
    return None if folder.is_dir() else f"{folder} is absent (research data, not shipped)"


def _xlmt(lang: str, split: str) -> list[Post]:
    folder = corpora.fixtures_dir() / ML / "xlm-t" / XLMT[lang]
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    return [(t, LABELS[int(x)]) for t, x in zip(texts, labels, strict=False)]


def _afrisenti(code: str, split: str) -> list[Post]:
    path = corpora.fixtures_dir() / ML / "afrisenti" / code / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2 and r[1] in LABELS]


def _zindi() -> list[Post]:
    path = corpora.fixtures_dir() / ML / "zindi_swahili" / "Train.csv"
    names = {"-1": "negative", "0": "neutral", "1": "positive"}
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["Tweets"], names[r["Labels"]]) for r in csv.DictReader(f)
                if r["Labels"] in names]


_NORMALISE = re.compile(r"@\w+|https?://\S+|[\W\d_]+")


def key(text: str) -> str:
    """A post's text normalised (no handles, links, digits or punctuation, lowercase): how
    the same post is recognised across sources."""
    return _NORMALISE.sub(" ", text.lower()).strip()


def dev_source(lang: str, text: str) -> bool:
    """Whether a train post of `lang` comes from the source its dev split is drawn from
    (Swahili: AfriSenti, not Zindi; Portuguese: XLM-T, not AfriSenti's Mozambican posts)."""
    if lang == "sw":
        return text in _afrisenti_texts("swa")
    if lang == "pt":
        return text not in _afrisenti_texts("por")
    return True


@cache
def _afrisenti_texts(code: str) -> frozenset[str]:
    return frozenset(t for t, _ in _afrisenti(code, "train"))


@cache
def train(lang: str) -> tuple[Post, ...]:
    """The train posts, less any whose text is also in the dev split (Zindi's Swahili set holds
    almost all of AfriSenti's Swahili dev tweets; AfriSenti's Pidgin train and dev share some):
    the dev figures must be on posts never fitted on."""
    held = {key(t) for t, _ in dev(lang)} if lang != "en" else set()
    return tuple(p for p in _train(lang) if key(p[0]) not in held)


def _train(lang: str) -> tuple[Post, ...]:
    if lang in XLMT:
        extra = _afrisenti("por", "train") if lang == "pt" else []
        return (*_xlmt(lang, "train"), *extra)
    if lang == "sw":
        return (*_afrisenti("swa", "train"), *_zindi())
    if lang == "pcm":
        return tuple(_afrisenti("pcm", "train"))
    if lang == "en":
        return (*((p.text, p.label) for p in corpora.airline(corpora.TUNING_AIRLINES)),
                *((p.text, p.label) for p in corpora.tweeteval("val")))
    raise KeyError(lang)


@cache
def dev(lang: str) -> tuple[Post, ...]:
    if lang in XLMT:
        return tuple(_xlmt(lang, "val"))
    if lang == "sw":
        return tuple(_afrisenti("swa", "dev"))
    if lang == "pcm":
        return tuple(_afrisenti("pcm", "dev"))
    if lang == "en":
        return tuple((p.text, p.label) for p in corpora.tweeteval("test"))
    raise KeyError(lang)
