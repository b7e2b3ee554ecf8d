"""Triage quality and speed on real tweets: our `sentiment` beside bare VADER's, in one run.

    python bench/triage.py [--repeat R]

Corpora (bench/corpora.py; read in place from ../shared/fixtures, never copied; the script
says so and exits 0 when they are absent):
- complaints: Twitter US Airline Sentiment, "complaint" = label negative, "complaint
  predicted" = `sentiment == "negative"` (what `socialbot replay --json` prints). Reported on
  the held-out airlines (Delta, US Airways, American); the tuning airlines (Virgin America,
  United, Southwest) are shown apart, as the figures the weights were chosen on.
- sentiment: TweetEval sentiment, macro-F1 over negative / neutral / positive: test (reported)
  and val (tuning).
Bare VADER is `SentimentIntensityAnalyzer().polarity_scores` labelled at ±0.05.

Throughput: `enrich` (all of it: sentiment, cues, risk, author type, score) on the held-out
tweets beside bare VADER on the same texts, in interleaved rounds, best round of each.
A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpora  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bot.domain.scoring.enrich import enrich  # noqa: E402

NOW = datetime(2015, 2, 25, tzinfo=UTC)
LABELS = ("negative", "neutral", "positive")
VADER = SentimentIntensityAnalyzer()


def vader_label(text: str) -> str:
    c = VADER.polarity_scores(text)["compound"]
    return "negative" if c < -0.05 else "positive" if c > 0.05 else "neutral"


def our_labels(posts: list[corpora.Post]) -> list[str]:
    return [enrich(corpora.mention(p), corpora.rules_for(p.brand), now=NOW).sentiment
            for p in posts]


def recall_precision(gold: list[str], pred: list[str]) -> tuple[float, float]:
    tp = sum(g == p == "negative" for g, p in zip(gold, pred, strict=True))
    return tp / max(1, gold.count("negative")), tp / max(1, pred.count("negative"))


def macro_f1(gold: list[str], pred: list[str]) -> float:
    f1 = []
    for c in LABELS:
        tp = sum(g == p == c for g, p in zip(gold, pred, strict=True))
        f1.append(2 * tp / max(1, gold.count(c) + pred.count(c)))
    return sum(f1) / len(f1)


def throughput(posts: list[corpora.Post], repeat: int) -> tuple[float, float]:
    """(bare VADER, enrich) mentions/s: best of `repeat` interleaved rounds each."""
    texts = [p.text for p in posts]
    pairs = [(corpora.mention(p), corpora.rules_for(p.brand)) for p in posts]
    best_v = best_e = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            VADER.polarity_scores(t)
        t1 = time.perf_counter()
        for m, r in pairs:
            enrich(m, r, now=NOW)
        t2 = time.perf_counter()
        best_v, best_e = min(best_v, t1 - t0), min(best_e, t2 - t1)
    return len(texts) / best_v, len(texts) / best_e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (best is kept)")
    args = ap.parse_args()
    missing = corpora.available()
    if missing:
        print(f"skipped: {missing}")
        return 0
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
          f"CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    rows = []
    for name, airlines in (("held-out airlines (Delta, US Airways, American)",
                            corpora.HELD_OUT_AIRLINES),
                           ("tuning airlines (Virgin America, United, Southwest)",
                            corpora.TUNING_AIRLINES)):
        posts = corpora.airline(airlines)
        gold = [p.label for p in posts]
        v = recall_precision(gold, [vader_label(p.text) for p in posts])
        o = recall_precision(gold, our_labels(posts))
        rows.append((f"{name}, {len(posts):,} tweets, {gold.count('negative'):,} complaints",
                     f"complaint recall / precision   {o[0]:.3f} / {o[1]:.3f}",
                     f"{v[0]:.3f} / {v[1]:.3f}"))
    for split, role in (("test", "reported"), ("val", "tuning")):
        posts = corpora.tweeteval(split)
        gold = [p.label for p in posts]
        v = macro_f1(gold, [vader_label(p.text) for p in posts])
        o = macro_f1(gold, our_labels(posts))
        rows.append((f"TweetEval sentiment {split} ({role}), {len(posts):,} tweets",
                     f"macro-F1                       {o:.3f}", f"{v:.3f}"))
    print(f"\n{'':48}{'socialbot':>24}  bare VADER")
    for title, ours, vader in rows:
        print(title)
        print(f"    {ours:<66}{vader}")
    held = corpora.airline(corpora.HELD_OUT_AIRLINES)
    v_rate, e_rate = throughput(held, args.repeat)
    print(f"\nthroughput on the held-out tweets (best of {args.repeat} interleaved rounds):")
    print(f"    enrich (sentiment, cues, risk, author, score)  {e_rate:>9,.0f} mentions/s")
    print(f"    bare VADER polarity_scores                     {v_rate:>9,.0f} mentions/s")
    print(f"    ratio enrich / bare VADER                      {e_rate / v_rate:>9.2f}"
          "   (target >= 0.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
