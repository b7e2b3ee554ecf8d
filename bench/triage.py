"""Triage quality and speed on real posts: every target beside bare VADER's, in one run.

    python bench/triage.py [--repeat R]

Corpora (bench/corpora.py, bench/complaints.py; read in place from ../shared/fixtures, never
copied; the script says so and exits 0 when they are absent):
- complaints across industries (bench/complaints.py): each industry scored by `enrich` with
  the complaint weights fitted without it (tools/derive_complaint_weights.py), so every figure
  is out of domain: F1 of the flag, complaints left at P4, non-complaints flagged.
- the held-out airlines of Twitter US Airline Sentiment (Delta, US Airways, American),
  "complaint" = label negative, "predicted" = the `complaint` flag (and, shown too, sentiment
  negative), as `socialbot replay --json` prints them; the tuning airlines (Virgin America,
  United, Southwest) apart.
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

import complaints  # noqa: E402
import corpora  # noqa: E402
import languages  # noqa: E402
import numpy as np  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bot.domain.scoring.enrich import enrich  # noqa: E402

NOW = datetime(2015, 2, 25, tzinfo=UTC)
LABELS = ("negative", "neutral", "positive")
VADER = SentimentIntensityAnalyzer()


def vader_label(text: str) -> str:
    c = VADER.polarity_scores(text)["compound"]
    return "negative" if c < -0.05 else "positive" if c > 0.05 else "neutral"


def enriched(posts: list[corpora.Post]) -> list:
    return [enrich(corpora.mention(p), corpora.rules_for(p.brand), now=NOW) for p in posts]


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
    """(bare VADER, enrich) mentions/s: best of `repeat` interleaved rounds each, in CPU time
    of the process (on a shared machine the wall clock counts the other processes' turns)."""
    texts = [p.text for p in posts]
    pairs = [(corpora.mention(p), corpora.rules_for(p.brand)) for p in posts]
    best_v = best_e = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            VADER.polarity_scores(t)
        t1 = time.process_time()
        for m, r in pairs:
            enrich(m, r, now=NOW)
        t2 = time.process_time()
        best_v, best_e = min(best_v, t1 - t0), min(best_e, t2 - t1)
    return len(texts) / best_v, len(texts) / best_e


def complaint_folds() -> list[tuple[str, str, str, str]]:
    """Leave-one-industry-out: each industry scored by `enrich` with the complaint weights
    fitted on the other industries (tools/derive_complaint_weights.py), beside bare VADER
    (negative = complaint). Rows: (title, figure, ours, VADER's)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import derive_complaint_weights as tool

    from bot.domain.scoring import complaint

    posts = complaints.posts()
    rows, num, y, industry = tool.dataset()
    shipped = complaint.load_weights()
    folds = tool.fold_weights(rows, num, y, industry, shipped["threshold"], shipped["review_from"])
    rules = corpora.rules_for(None)
    flagged, p4, vader = {}, {}, {}
    for g, weights in folds.items():
        with complaint.use(weights):
            for i in np.flatnonzero(industry == g):
                e = enrich(corpora.mention(corpora.Post(posts[i].text, "", None)), rules, now=NOW)
                flagged[i], p4[i] = e.is_complaint, e.priority == "P4"
    for i, p in enumerate(posts):
        vader[i] = vader_label(p.text) == "negative"
    out = []

    def figures(idx: list[int], pred: dict) -> tuple[float, float]:
        gold = [bool(y[i]) for i in idx]
        got = [pred[i] for i in idx]
        tp = sum(a and b for a, b in zip(gold, got, strict=True))
        f1 = 2 * tp / max(1, sum(gold) + sum(got))
        fp = sum(b and not a for a, b in zip(gold, got, strict=True)) / max(1, gold.count(False))
        return f1, fp

    for g in (*complaints.INDUSTRIES, "all but general"):
        idx = [i for i in range(len(posts)) if (industry[i] == g or
                                                 (g == "all but general" and industry[i] != "general"))]
        (f1, fp), (vf1, vfp) = figures(idx, flagged), figures(idx, vader)
        comp = [i for i in idx if y[i]]
        at_p4 = sum(p4[i] for i in comp) / max(1, len(comp))
        title = f"  {g}: {len(idx):,} posts, {len(comp):,} complaints"
        if comp:
            out.append((title, "complaint F1", f"{f1:.3f}", f"{vf1:.3f}"))
            out.append(("", "complaints at P4", f"{at_p4:.1%}", "n/a"))
        if g != "general":
            chatter = [i for i in idx if not y[i]]
            lifted = sum(not p4[i] for i in chatter) / max(1, len(chatter))
            out.append(("", "non-complaints above P4", f"{lifted:.1%}", "n/a"))
        out.append(("" if comp else title, "non-complaints flagged", f"{fp:.1%}", f"{vfp:.1%}"))
    return out


def language_rows() -> list[tuple[str, str, str, str]]:
    """Macro-F1 on each language's dev split (nothing was fitted or chosen on it), ours (the
    post's language given, as the network gives it; and detected) beside bare VADER's, and the
    detector's accuracy."""
    from bot.domain.mention import Author, Mention
    from bot.domain.scoring import language

    rules = corpora.rules_for(None)
    out = []
    targets = {"es": 0.55, "fr": 0.55, "pt": 0.55, "de": 0.55, "sw": 0.50}
    for lang in (*languages.SENTIMENT_LANGUAGES, "hi"):
        posts = languages.dev(lang)
        gold = [label for _, label in posts]
        given = [enrich(Mention(network="x", external_id="0", text=t, lang=lang,
                                author=Author(handle="a", followers=0)), rules, now=NOW)
                 for t, _ in posts]
        detected = [language.detect(t) for t, _ in posts]
        target = f" (target: macro-F1 >= {targets[lang]:.2f})" if lang in targets else ""
        out.append((f"{lang} dev, {len(posts):,} posts{target}", "", "", ""))
        if lang in languages.SENTIMENT_LANGUAGES:
            out.append(("", "sentiment macro-F1", f"{macro_f1(gold, [e.sentiment for e in given]):.3f}",
                        f"{macro_f1(gold, [vader_label(t) for t, _ in posts]):.3f}"))
        else:
            unknown = sum(e.sentiment == "unknown" for e in given) / len(given)
            out.append(("", "sentiment unknown (no weights: never neutral)", f"{unknown:.1%}",
                        "n/a"))
        right = sum(d == lang for d in detected) / len(detected)
        out.append(("", "language detected right", f"{right:.1%}", "n/a"))
    english = [p.text for p in corpora.airline(corpora.HELD_OUT_AIRLINES)]
    kept = sum(language.detect(t) in (None, "en") for t in english) / len(english)
    out.append(("held-out airline tweets (English)", "detected English or too short",
                f"{kept:.1%}", "n/a"))
    return out


def throughput_other(repeat: int) -> tuple[float, float]:
    """(bare VADER, enrich) mentions/s on the other languages' dev posts, language detected
    (CPU time, as `throughput`)."""
    from bot.domain.mention import Author, Mention

    rules = corpora.rules_for(None)
    texts = [t for lang in languages.SENTIMENT_LANGUAGES for t, _ in languages.dev(lang)]
    mentions = [Mention(network="x", external_id="0", text=t, author=Author(handle="a", followers=0))
                for t in texts]
    best_v = best_e = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            VADER.polarity_scores(t)
        t1 = time.process_time()
        for m in mentions:
            enrich(m, rules, now=NOW)
        t2 = time.process_time()
        best_v, best_e = min(best_v, t1 - t0), min(best_e, t2 - t1)
    return len(texts) / best_v, len(texts) / best_e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (best is kept)")
    ap.add_argument("--only", choices=("speed", "languages"),
                    help="only the throughput, or only the other languages' figures")
    args = ap.parse_args()
    missing = corpora.available() or complaints.available()
    if missing:
        print(f"skipped: {missing}")
        return 0
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
          f"CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    if args.only == "speed":
        speed(args.repeat)
        return 0
    if args.only == "languages":
        for title, figure, ours, vader in language_rows():
            if title:
                print(title)
            if figure:
                print(f"    {figure:<56}{ours:>14}  {vader}")
        return 0
    rows = [("complaints across industries, each scored by weights fitted without it "
             "(target: F1 >= 0.78, <= 10 % of complaints at P4, <= 15 % of non-complaints "
             "flagged)", "", "", ""), *complaint_folds()]
    for name, airlines in (("held-out airlines (Delta, US Airways, American)",
                            corpora.HELD_OUT_AIRLINES),
                           ("tuning airlines (Virgin America, United, Southwest)",
                            corpora.TUNING_AIRLINES)):
        posts = corpora.airline(airlines)
        gold = [p.label for p in posts]
        scored = enriched(posts)
        v = recall_precision(gold, [vader_label(p.text) for p in posts])
        o = recall_precision(gold, ["negative" if e.is_complaint else "-" for e in scored])
        s = recall_precision(gold, [e.sentiment for e in scored])
        rows.append((f"{name}, {len(posts):,} tweets, {gold.count('negative'):,} complaints"
                     + (" (target: recall >= 0.80 at precision >= 0.85)"
                        if airlines == corpora.HELD_OUT_AIRLINES else ""), "", "", ""))
        rows.append(("", "complaint flag recall / precision", f"{o[0]:.3f} / {o[1]:.3f}",
                     f"{v[0]:.3f} / {v[1]:.3f}"))
        rows.append(("", "sentiment negative recall / precision", f"{s[0]:.3f} / {s[1]:.3f}",
                     f"{v[0]:.3f} / {v[1]:.3f}"))
    for split, role in (("test", "reported"), ("val", "tuning")):
        posts = corpora.tweeteval(split)
        gold = [p.label for p in posts]
        v = macro_f1(gold, [vader_label(p.text) for p in posts])
        o = macro_f1(gold, [e.sentiment for e in enriched(posts)])
        rows.append((f"TweetEval sentiment {split} ({role}), {len(posts):,} tweets", "", "", ""))
        rows.append(("", "macro-F1", f"{o:.3f}", f"{v:.3f}"))
    if languages.available() is None:
        rows += [("other languages, dev splits (weights fitted on train only)", "", "", ""),
                 *language_rows()]
    print(f"\n{'':60}{'socialbot':>14}  bare VADER")
    for title, figure, ours, vader in rows:
        if title:
            print(title)
        if figure:
            print(f"    {figure:<56}{ours:>14}  {vader}")
    speed(args.repeat)
    data = ROOT / "bot" / "domain" / "scoring" / "data"
    size = sum(f.stat().st_size for f in data.iterdir())
    print(f"\nscoring data shipped (bot/domain/scoring/data): {size / 1e6:.1f} MB "
          "(target: the default install grows by <= 20 MB)")
    return 0


def speed(repeat: int) -> None:
    held = corpora.airline(corpora.HELD_OUT_AIRLINES)
    v_rate, e_rate = throughput(held, repeat)
    print(f"\nthroughput on the held-out tweets (best of {repeat} interleaved rounds):")
    print(f"    enrich (sentiment, complaint, cues, risk, author, score)  {e_rate:>9,.0f} mentions/s")
    print(f"    bare VADER polarity_scores                     {v_rate:>9,.0f} mentions/s")
    print(f"    ratio enrich / bare VADER                      {e_rate / v_rate:>9.2f}"
          "   (target >= 0.5)")
    if languages.available() is None:
        ov, oe = throughput_other(repeat)
        print(f"    other languages (dev posts, language detected): enrich {oe:,.0f} mentions/s, "
              f"bare VADER {ov:,.0f}: ratio {oe / ov:.2f} (target >= half the English ratio, "
              f"{e_rate / v_rate / 2:.2f})")


if __name__ == "__main__":
    raise SystemExit(main())
