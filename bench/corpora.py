"""The labelled corpora that triage is tuned and measured on, read where they are.

`../shared/fixtures/sentiment/` (or `$SOCIALBOT_FIXTURES/sentiment/`): research data, never
copied into this repository; `available()` says whether it is here so that callers skip.

- Twitter US Airline Sentiment (`airline_twitter/Tweets_6col.csv`): tuning airlines Virgin
  America, United and Southwest; held-out Delta, US Airways and American (the only ones that
  reported figures use). "complaint" = `airline_sentiment` negative.
- TweetEval sentiment (`tweeteval/sentiment/`): `val` for tuning, `test` for reporting.

Each airline tweet becomes the mention the live bot would get: on X, by a customer with no
followers, scored with the shipped rules file with `brand.x_username` set to the handle the
tweet was written to (the dataset's "Delta" tweets are addressed to @JetBlue). A TweetEval
tweet is scored with the shipped rules as they are (its "@user" is nobody's brand).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

AIRLINE_CSV = Path("sentiment") / "airline_twitter" / "Tweets_6col.csv"
TWEETEVAL = Path("sentiment") / "tweeteval" / "sentiment"
TUNING_AIRLINES = ("Virgin America", "United", "Southwest")
HELD_OUT_AIRLINES = ("Delta", "US Airways", "American")
HANDLES = {"Virgin America": "VirginAmerica", "United": "united", "Southwest": "SouthwestAir",
           "Delta": "JetBlue", "US Airways": "USAirways", "American": "AmericanAir"}
TWEETEVAL_LABELS = ("negative", "neutral", "positive")  # its label ids 0, 1, 2


@dataclass(frozen=True, slots=True)
class Post:
    text: str
    label: str  # negative | neutral | positive
    brand: str | None  # the brand's X handle the post is addressed to; None: no brand


def fixtures_dir() -> Path:
    env = os.environ.get("SOCIALBOT_FIXTURES")
    return Path(env) if env else ROOT.parent / "shared" / "fixtures"


def available() -> str | None:
    """None when every corpus is here, else what is missing (for a skip message)."""
    for rel in (AIRLINE_CSV, TWEETEVAL / "val_text.txt", TWEETEVAL / "test_text.txt"):
        if not (fixtures_dir() / rel).is_file():
            return f"{fixtures_dir() / rel} is absent (research data, not shipped)"
    return None


def airline(airlines: tuple[str, ...]) -> list[Post]:
    with (fixtures_dir() / AIRLINE_CSV).open(encoding="utf-8", newline="") as f:
        return [Post(r["text"], r["airline_sentiment"], HANDLES[r["airline"]])
                for r in csv.DictReader(f) if r["airline"] in airlines]


# 206 val tweets carry 360 JSON escapes as text (I\u2019m, \u002c) where the tweet had ’ and ,.
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def tweeteval(split: str) -> list[Post]:
    folder = fixtures_dir() / TWEETEVAL
    raw = (folder / f"{split}_text.txt").read_text(encoding="utf-8")
    texts = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw).split("\n")
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    return [Post(t, TWEETEVAL_LABELS[int(x)], None) for t, x in zip(texts, labels, strict=False)]


@cache
def rules_for(brand: str | None):
    """The shipped rules, with the brand's X handle set to `brand` (None: as shipped)."""
    from bot.domain.rules.load import load_rules

    rules = load_rules(ROOT / "routing_rules.yaml")
    if brand is None:
        return rules
    return rules.model_copy(update={"brand": rules.brand.model_copy(
        update={"x_username": brand, "mastodon_acct": None, "bluesky_handle": None})})


def mention(post: Post):
    from bot.domain.mention import Author, Mention

    return Mention(network="x", external_id="0", text=post.text,
                   author=Author(handle="a_customer", followers=0), lang="en")
