"""Re-derive `bot/domain/scoring/data/triage_weights.json` from the tuning corpora (reproducible: no randomness).

    python tools/derive_triage_weights.py [--check] [--out PATH]

Tuning data only: the airline tweets of Virgin America, United and Southwest, and TweetEval's
sentiment `val` split (see bench/corpora.py). The held-out airlines and TweetEval `test` are
never read here.

The model is two logistic regressions, negative vs the rest and positive vs the rest, over
the signals of `bot.domain.scoring.triage.features`, as `bot.domain.scoring.enrich.triage_features` computes them with
the shipped rules file (its `sentiment.lexicon` included): VADER's compound/neg/pos, the
brand-address, question, again and punctuation flags, the complaint cues, and binary word and
emoji features. Words: seen in at least MIN_DF tuning posts, not a @handle and not an
airline's name (a name says which airline, not how the customer feels). L2-penalised, fitted by
full-batch Adam from zero (deterministic). TweetEval posts are weighted so that each label
counts the same (val is 16 % negative; the test set's mix is unknown while tuning).

Cut points are chosen on out-of-fold scores (K folds, every K-th post; each fold's words chosen
on its training posts), not on the fitted posts:
`negative_from` and `positive_from` maximise TweetEval val macro-F1 (labels balanced); the
"addressed" weight of the negativity model is then shifted so that, on the tuning airlines
(every tweet addressed to its airline), the same cut maximises min(recall - 0.80,
precision - 0.85) of "negative".
The final weights are fitted on all tuning posts; words whose weight rounds below WORD_MIN
are dropped to keep the file small. `--check` re-derives and compares with the shipped file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpora  # noqa: E402

from bot.domain.scoring import triage  # noqa: E402
from bot.domain.scoring.cues import COMPLAINT_CUES, lower_for_matching  # noqa: E402
from bot.domain.scoring.enrich import triage_features  # noqa: E402

OUT = ROOT / "bot" / "domain" / "scoring" / "data" / triage.WEIGHTS_FILE
MIN_DF = 4  # a word or emoji in fewer tuning posts gets no weight
L2 = 1e-3  # penalty on every weight (mean loss + L2/2 × |w|²)
TWEETEVAL_WEIGHT = 5.0  # a TweetEval val post counts this many airline posts (2,000 vs 6,746)
STEPS, RATE = 600, 0.05  # Adam
FOLDS = 5
KEEP = 0.25  # a word whose weights both stay below this in a first fit is left out
WORD_MIN = 0.02  # |weight| below this in the final fit: the word is dropped
SPREAD = 3.0  # see bot.domain.scoring.triage.compound
NAMES = frozenset({"united", "southwest", "southwestair", "virgin", "virginamerica", "america",
                   "american", "americanair", "delta", "jetblue", "usairways", "airways"})
LABELS = {"negative": 0, "neutral": 1, "positive": 2}


def is_emoji(name: str) -> bool:
    return len(name) == 1 and ord(name) >= triage.EMOJI_FROM


def signals() -> list[str]:
    return [*triage.SIGNALS, *(triage.CUE_PREFIX + c for c in COMPLAINT_CUES)]


def load() -> tuple[list[dict[str, float]], np.ndarray, np.ndarray, set[str]]:
    """(features, labels, is_airline, handle words) of every tuning post."""
    posts = [*corpora.airline(corpora.TUNING_AIRLINES), *corpora.tweeteval("val")]
    feats, handles = [], set()
    for p in posts:
        feats.append(triage_features(corpora.mention(p), corpora.rules_for(p.brand)))
        low = lower_for_matching(p.text)
        handles.update(w[1:] for w in low.split() if w.startswith("@"))
    labels = np.array([LABELS[p.label] for p in posts])
    airline = np.array([p.brand is not None for p in posts])
    return feats, labels, airline, {h.strip(".,:;!?)'\"") for h in handles}


def vocabulary(feats: list[dict[str, float]], handles: set[str]) -> list[str]:
    fixed = set(signals())
    df = Counter(k for f in feats for k in f if k not in fixed)
    return sorted(k for k, n in df.items()
                  if n >= MIN_DF and k not in handles and k not in NAMES)


def matrices(feats, names):
    """Dense signal matrix and the (row, column) pairs of the binary word/emoji features."""
    fixed = signals()
    dense = np.array([[f.get(k, 0.0) for k in fixed] for f in feats])
    col = {k: i for i, k in enumerate(names)}
    pairs = [(i, col[k]) for i, f in enumerate(feats) for k in f if k in col]
    rows, cols = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    return dense, rows, cols


def fit(dense, rows, cols, n_words, y, weight):
    """(signal weights, word weights, bias) of an L2-penalised logistic model of y (0/1)."""
    n = len(y)
    params = [np.zeros(dense.shape[1]), np.zeros(n_words), np.zeros(1)]
    wd, ww, b = params
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    weight = weight / weight.mean()
    for step in range(1, STEPS + 1):
        s = dense @ wd + np.bincount(rows, ww[cols], minlength=n) + b[0]
        r = (1 / (1 + np.exp(-s)) - y) * weight / n
        grads = [dense.T @ r + L2 * wd, np.bincount(cols, r[rows], minlength=n_words) + L2 * ww,
                 np.array([r.sum()])]
        for p, g, mi, vi in zip(params, grads, m, v, strict=True):
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            p -= RATE * (mi / (1 - 0.9**step)) / (np.sqrt(vi / (1 - 0.999**step)) + 1e-8)
    return wd, ww, float(b[0])


def keep_words(feats, names, targets, which, weight):
    """The words worth their lookup: a first fit on the posts `which` (whose signals are
    `feats`) keeps those with a weight of at least KEEP. Most words of a post are in the first
    vocabulary, and each costs time on every post; the model is then fitted on the kept ones."""
    dense, rows, cols = matrices(feats, names)
    first = [fit(dense, rows, cols, len(names), t[which], weight[which])[1] for t in targets]
    return [w for w, a, b in zip(names, *first, strict=True) if max(abs(a), abs(b)) >= KEEP]


def scores(dense, rows, cols, model):
    wd, ww, b = model
    return dense @ wd + np.bincount(rows, ww[cols], minlength=len(dense)) + b


def recall_precision(y, neg, cut):
    pred, gold = neg > cut, y == 0
    tp = (pred & gold).sum()
    return tp / max(1, gold.sum()), tp / max(1, pred.sum())


def balanced(y):
    """Per-post weights that give each label the same total (TweetEval val's mix of labels,
    16 % negative, is not the test set's: macro-F1 should not lean on it)."""
    counts = np.bincount(y, minlength=3)
    return len(y) / (3 * counts[y])


def macro_f1(y, neg, pos, cut_n, cut_p, w=None):
    w = np.ones(len(y)) if w is None else w
    pred = np.where(neg > cut_n, 0, np.where(pos > cut_p, 2, 1))
    return float(np.mean([2 * (w * ((y == c) & (pred == c))).sum()
                          / max(1e-9, (w * (y == c)).sum() + (w * (pred == c)).sum())
                          for c in range(3)]))


def cut_points(y, neg, pos, airline):
    """(negative_from, positive_from) for TweetEval val (class-balanced macro-F1), and the
    shift of the airline posts' negativity (all addressed to their brand) that puts the
    airline-chosen cut (margins over recall 0.80 and precision 0.85) at the same place."""
    ya, na, yt, nt, pt = y[airline], neg[airline], y[~airline], neg[~airline], pos[~airline]
    grid = np.round(np.arange(-4, 4.001, 0.05), 2)
    air_cut = max(grid, key=lambda c: min(np.subtract(recall_precision(ya, na, c),
                                                      (0.80, 0.85))))
    wt = balanced(yt)
    cut_n, cut_p = max(((a, b) for a in grid[::2] for b in grid[::2]),
                       key=lambda ab: macro_f1(yt, nt, pt, *ab, wt))
    return float(cut_n), float(cut_p), float(cut_n - air_cut)


def derive() -> dict:
    feats, y, airline, handles = load()
    names = vocabulary(feats, handles)
    weight = np.where(airline, 1.0, TWEETEVAL_WEIGHT)
    weight[~airline] *= balanced(y[~airline])
    targets = ((y == 0).astype(float), (y == 2).astype(float))  # negativity, positivity
    oof = np.zeros((2, len(y)))
    fold = np.arange(len(y)) % FOLDS
    for k in range(FOLDS):  # out-of-fold scores, for the cut points and the figures in the note
        train, out = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        fitted = [feats[i] for i in train]
        # The words are chosen on the training folds alone, as the final fit chooses them on
        # all tuning posts: out-of-fold figures then say what a new post would get.
        kept = keep_words(fitted, vocabulary(fitted, handles), targets, train, weight)
        dense, rows, cols = matrices(fitted, kept)
        held = matrices([feats[i] for i in out], kept)
        for t, target in enumerate(targets):
            model = fit(dense, rows, cols, len(kept), target[train], weight[train])
            oof[t, out] = scores(*held, model)
    names = keep_words(feats, names, targets, np.arange(len(y)), weight)
    dense, rows, cols = matrices(feats, names)
    cut_n, cut_p, shift = cut_points(y, oof[0], oof[1], airline)
    addressed = signals().index("addressed")
    oof[0] += shift * dense[:, addressed]
    r, p = recall_precision(y[airline], oof[0, airline], cut_n)
    f1 = macro_f1(y[~airline], oof[0, ~airline], oof[1, ~airline], cut_n, cut_p)
    f1b = macro_f1(y[~airline], oof[0, ~airline], oof[1, ~airline], cut_n, cut_p,
                   balanced(y[~airline]))
    neg, pos = (fit(dense, rows, cols, len(names), target, weight) for target in targets)
    neg[0][addressed] += shift
    pair = lambda a, b: [round(float(a), 3), round(float(b), 3)]  # noqa: E731
    words = {w: pair(a, b) for w, a, b in zip(names, neg[1], pos[1], strict=True)
             if max(abs(a), abs(b)) >= WORD_MIN}
    return {
        "derived": (
            "tools/derive_triage_weights.py: two L2-penalised logistic models (negative vs "
            "rest, positive vs rest) on the tuning corpora only (Twitter US Airline Sentiment: "
            f"Virgin America, United, Southwest; TweetEval sentiment val), {len(y)} posts; cut "
            f"points from {FOLDS}-fold out-of-fold scores, words chosen inside the folds "
            f"(tuning airlines: complaint recall "
            f"{r:.3f}, precision {p:.3f}; TweetEval val macro-F1 {f1:.3f}, {f1b:.3f} with "
            "the labels balanced). Numbers per signal and per word, no text."),
        "negative_from": cut_n,
        "positive_from": cut_p,
        "spread": SPREAD,
        "bias": pair(neg[2], pos[2]),
        "signals": {k: pair(a, b) for k, a, b in zip(signals(), neg[0], pos[0], strict=True)},
        "words": {k: v for k, v in words.items() if not is_emoji(k)},
        "emoji": {k: v for k, v in words.items() if is_emoji(k)},
    }


def dump(derived: dict) -> str:
    """JSON with one signal, word or emoji a line (diffs of a re-derivation stay readable)."""
    out = []
    for key, value in derived.items():
        if isinstance(value, dict):
            rows = [f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v)}"
                    for k, v in value.items()]
            out.append(f"{json.dumps(key)}: {{\n" + ",\n".join(rows) + "\n}")
        else:
            out.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(out) + "\n}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = ap.parse_args()
    missing = corpora.available()
    if missing:
        print(f"skipped: {missing}")
        return 0
    derived = derive()
    text = dump(derived)
    if args.check:
        same = args.out.read_text(encoding="utf-8") == text
        print("same as shipped" if same else f"differs from {args.out}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(derived["derived"])
    print(f"wrote {args.out}: {len(derived['words'])} words, {len(derived['emoji'])} emoji")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
