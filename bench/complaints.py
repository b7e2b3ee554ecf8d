"""Labelled complaint / non-complaint posts from many brands, grouped by industry, read in place.

`../shared/fixtures/sentiment/` (or `$SOCIALBOT_FIXTURES/sentiment/`), research data never
copied into this repository (sources and licences: section 6 of the fixtures' sources file). Every
post gets an industry, the unit of the folds: the complaint model is always measured on an
industry it was not fitted on (leave-one-industry-out), never on random tweets of a seen one.

| industry | posts (complaint = 1) |
|---|---|
| airline | care/airline_complaint_noncomplaint_liiyq (1 / 0 as labelled), airline_twitter's tuning airlines (negative = 1), IBM care's Delta and Southwest (1) |
| electronics | care/crowdflower_apple (negative = 1), care/av_tech_firms (Apple/Samsung/Sony, negative = 1), IBM care's Apple, HP, PlayStation, Xbox (1) |
| banking | care/nigeria_bank_user_tweets (1 / 0), IBM care's Chase and Wells Fargo (1) |
| software | IBM care's Adobe, Google, YouTube, Dropbox, Zoom, Mojang, Rockstar, Microsoft, Yahoo, GoDaddy, Spotify, Hulu (1); entity sentiment's games and tech firms (negative = 1, else 0) |
| retail | IBM care's eBay and Amazon (1); entity sentiment's Amazon and HomeDepot (negative = 1, else 0) |
| services | IBM care's T-Mobile, Spectrum, Uber (1); entity sentiment's Verizon, Johnson & Johnson (negative = 1, else 0) |
| general | SemEval 2017 task 4A (random tweets, none addressed to a brand): neutral and positive = 0 |

The held-out airlines of bench/corpora.py (tweets to @JetBlue, @USAirways, @AmericanAir) are
never here: posts addressed to those handles are left out, and so is any text that is one of
the held-out tweets. Texts are deduplicated (lowercased, handles and links dropped).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import corpora

CARE = Path("sentiment") / "care"
HELD_OUT_HANDLES = re.compile(r"@(jetblue|usairways|americanair)\b", re.IGNORECASE)
INDUSTRIES = ("airline", "electronics", "banking", "software", "retail", "services", "general")

IBM_INDUSTRY = {
    "Delta": "airline", "SouthwestAir": "airline",
    "AppleSupport": "electronics", "HPSupport": "electronics", "AskPlayStation": "electronics",
    "XboxSupport": "electronics",
    "ChaseSupport": "banking", "Ask_WellsFargo": "banking",
    "AskeBay": "retail", "AmazonHelp": "retail",
    "TMobileHelp": "services", "Ask_Spectrum": "services", "Uber_Support": "services",
}  # every other IBM brand: software
ENTITY_INDUSTRY = {"Amazon": "retail", "HomeDepot": "retail", "Verizon": "services",
                   "johnson&johnson": "services"}  # every other entity: software (games, tech)


@dataclass(frozen=True, slots=True)
class Post:
    text: str
    complaint: bool
    industry: str
    source: str  # the data set it comes from


_NORMALISE = re.compile(r"@\w+|https?://\S+|[^a-z0-9]+")


def _key(text: str) -> str:
    return _NORMALISE.sub(" ", text.lower()).strip()


def available() -> str | None:
    folder = corpora.fixtures_dir() / CARE
    return None if folder.is_dir() else f"{folder} is absent (research data, not shipped)"


def _read(name: str, encoding: str = "utf-8") -> list[list[str]]:
    with (corpora.fixtures_dir() / CARE / name).open(encoding=encoding, newline="") as f:
        return list(csv.reader(f))


def _liiyq() -> list[Post]:
    out = []
    for name, label in (("complaint.txt", True), ("noncomplaint.txt", False)):
        path = corpora.fixtures_dir() / CARE / "airline_complaint_noncomplaint_liiyq" / name
        out += [Post(t, label, "airline", "liiyq")
                for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    return out


def _ibm() -> list[Post]:
    out = []
    for split in ("dev.json", "test.json"):
        path = corpora.fixtures_dir() / CARE / "ibm_twitter_customer_care_cdp" / split
        for conv in json.loads(path.read_text(encoding="utf-8")):
            company = conv["dialogHeader"]["company"]
            first = conv["dialogContent"][0]["message"]  # the customer's opening message
            out.append(Post(first, True, IBM_INDUSTRY.get(company, "software"), "ibm"))
    return out


def _apple() -> list[Post]:
    rows = _read("crowdflower_apple_twitter_sentiment/Apple-Twitter-Sentiment-DFE.csv", "latin-1")
    head = rows[0]
    s, t = head.index("sentiment"), head.index("text")
    return [Post(r[t], r[s] == "1", "electronics", "apple") for r in rows[1:]
            if r[s] in ("1", "3", "5")]


def _av_tech() -> list[Post]:
    rows = _read("av_tech_firms_tweets/train_2kmZucJ.csv")
    return [Post(r[2], r[1] == "1", "electronics", "av_tech") for r in rows[1:]]


def _nigeria_bank() -> list[Post]:
    rows = _read("nigeria_bank_user_tweets/bank_data.csv")
    return [Post(r[0], r[1] == "1", "banking", "nigeria_bank") for r in rows[1:] if r[1] in "01"]


def _entity() -> list[Post]:
    rows = _read("entity_twitter_sentiment_dedup/twitter_training.csv")
    return [Post(r[3], r[2] == "Negative", ENTITY_INDUSTRY.get(r[1], "software"), "entity")
            for r in rows if len(r) >= 4 and r[2] in ("Negative", "Positive", "Neutral")]


SENTIMENT_LABELS = ("negative", "neutral", "positive")


@cache
def semeval_sentiment() -> tuple[tuple[str, str], ...]:
    """SemEval 2017 task 4A's random tweets with their sentiment label, all three (the
    complaint model's sentiment part learns from these; as complaint data only the neutral and
    positive ones are used, as non-complaints: a random negative tweet is no complaint)."""
    path = CARE / "semeval2017_task4A_english" / "SemEval2017-task4-dev.subtask-A.english.INPUT.txt"
    out = []
    for line in (corpora.fixtures_dir() / path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1] in SENTIMENT_LABELS:
            out.append((parts[2].strip('"'), parts[1]))
    return tuple(out)


def _semeval() -> list[Post]:
    return [Post(text, False, "general", "semeval") for text, label in semeval_sentiment()
            if label != "negative"]


def _airline_tuning() -> list[Post]:
    return [Post(p.text, p.label == "negative", "airline", "airline_twitter")
            for p in corpora.airline(corpora.TUNING_AIRLINES)]


@cache
def posts() -> tuple[Post, ...]:
    """Every labelled post, deduplicated, none of the held-out airlines'."""
    held = {_key(p.text) for p in corpora.airline(corpora.HELD_OUT_AIRLINES)}
    seen: set[str] = set()
    out = []
    for p in (*_airline_tuning(), *_liiyq(), *_ibm(), *_apple(), *_av_tech(), *_nigeria_bank(),
              *_entity(), *_semeval()):
        k = _key(p.text)
        if not k or k in seen or k in held or HELD_OUT_HANDLES.search(p.text):
            continue
        seen.add(k)
        out.append(p)
    return tuple(out)
