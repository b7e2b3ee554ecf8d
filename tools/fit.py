"""Sparse logistic regression for the derive_* tools: deterministic, numpy only.

Rows are sets of feature names (plus a few numeric columns); the vocabulary is the names seen
in at least `min_df` rows. Fitted from zero by full-batch Adam on the mean (sample-weighted)
log loss plus L2/2 × |w|² (the bias is not penalised). `fit_softmax` is the K-class version
(one weight vector per class), for sentiment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BIAS = "__bias__"


@dataclass
class Design:
    vocab: list[str]
    indptr: np.ndarray
    indices: np.ndarray
    numeric: np.ndarray  # rows × numeric columns


def vocabulary(rows: Sequence[set[str]], min_df: int) -> list[str]:
    df = Counter(f for r in rows for f in r)
    return [BIAS, *sorted(f for f, n in df.items() if n >= min_df and f != BIAS)]


def design(rows: Sequence[set[str]], vocab: list[str], numeric: np.ndarray | None = None) -> Design:
    index = {f: i for i, f in enumerate(vocab)}
    indptr, indices = [0], []
    for r in rows:
        idx = [0, *sorted(index[f] for f in r if f in index and f != BIAS)]
        indices.extend(idx)
        indptr.append(len(indices))
    num = numeric if numeric is not None else np.zeros((len(rows), 0))
    return Design(vocab, np.array(indptr), np.array(indices), num)


def _adam(grad, w0: list[np.ndarray], steps: int, rate: float) -> list[np.ndarray]:
    w = [x.copy() for x in w0]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    for t in range(1, steps + 1):
        g = grad(w)
        for i in range(len(w)):
            m[i] = 0.9 * m[i] + 0.1 * g[i]
            v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2
            mh, vh = m[i] / (1 - 0.9 ** t), v[i] / (1 - 0.999 ** t)
            w[i] -= rate * mh / (np.sqrt(vh) + 1e-8)
    return w


def fit_binary(d: Design, y: np.ndarray, sw: np.ndarray, *, l2: float, steps: int = 400,
               rate: float = 0.05, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(weights per vocabulary entry, numeric weights); weights[0] is the bias. With `scale`
    (one value per vocabulary entry) a feature present is worth its scale, not 1: the weight
    to apply to a binary feature is then weight × scale."""
    n = len(y)
    rows = np.repeat(np.arange(n), np.diff(d.indptr))
    sw = sw / sw.sum()
    penal = np.ones(len(d.vocab))
    penal[0] = 0.0
    vals = np.ones(len(d.indices)) if scale is None else scale[d.indices]

    def grad(w):
        wv, wn = w
        z = np.add.reduceat(wv[d.indices] * vals, d.indptr[:-1]) + d.numeric @ wn
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        g = (p - y) * sw
        gv = np.bincount(d.indices, weights=g[rows] * vals, minlength=len(d.vocab)) + l2 * penal * wv
        gn = d.numeric.T @ g + l2 * wn
        return [gv, gn]

    wv, wn = _adam(grad, [np.zeros(len(d.vocab)), np.zeros(d.numeric.shape[1])], steps, rate)
    return wv, wn


def predict_binary(d: Design, wv: np.ndarray, wn: np.ndarray) -> np.ndarray:
    z = np.add.reduceat(wv[d.indices], d.indptr[:-1]) + d.numeric @ wn
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def fit_softmax(d: Design, y: np.ndarray, sw: np.ndarray, k: int, *, l2: float, steps: int = 400,
                rate: float = 0.05, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(vocabulary × k weights, numeric × k weights); row 0 is the bias. `scale` (vocabulary ×
    k, e.g. `nb_scales`): each feature's value in each class's score, instead of 1; the weights
    returned include it (one linear model over the binary features all the same)."""
    scale = np.ones((len(d.vocab), k)) if scale is None else scale  # × 1.0: bit for bit
    n = len(y)
    rows = np.repeat(np.arange(n), np.diff(d.indptr))
    sw = sw / sw.sum()
    onehot = np.eye(k)[y]
    penal = np.ones((len(d.vocab), 1))
    penal[0] = 0.0

    def grad(w):
        wv, wn = w
        z = np.add.reduceat((wv * scale)[d.indices], d.indptr[:-1], axis=0) + d.numeric @ wn
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * sw[:, None]
        gr = g[rows]
        gv = np.stack([np.bincount(d.indices, weights=gr[:, c], minlength=len(d.vocab))
                       for c in range(k)], axis=1)
        gv = gv * scale + l2 * penal * wv
        gn = d.numeric.T @ g + l2 * wn
        return [gv, gn]

    wv, wn = _adam(grad, [np.zeros((len(d.vocab), k)), np.zeros((d.numeric.shape[1], k))],
                   steps, rate)
    return wv * scale, wn


def predict_softmax(d: Design, wv: np.ndarray, wn: np.ndarray) -> np.ndarray:
    z = np.add.reduceat(wv[d.indices], d.indptr[:-1], axis=0) + d.numeric @ wn
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def class_counts(d: Design, y: np.ndarray, sw: np.ndarray, k: int) -> np.ndarray:
    """(vocabulary × k) each feature's count in each class's rows, weighted by `sw` scaled to a
    mean of 1."""
    rows = np.repeat(np.arange(len(y)), np.diff(d.indptr))
    w = sw / sw.mean()
    return np.stack([np.bincount(d.indices, weights=(w * (y == c))[rows],
                                 minlength=len(d.vocab)) for c in range(k)], axis=1)


def nb_log_ratios(d: Design, y: np.ndarray, sw: np.ndarray, k: int, *,
                  alpha: float) -> np.ndarray:
    """(vocabulary × k) multinomial naive Bayes log-probabilities of each feature in each class,
    centred per feature (a class's evidence relative to the others), from the rows of `d`
    weighted by `sw` (scaled to a mean of 1) and smoothed by `alpha`; zero for the bias and for
    features no row has. Added, times a weight, to a logistic regression's weights: the two
    interpolated (Wang and Manning's NBSVM idea), still one linear model."""
    counts = class_counts(d, y, sw, k)
    seen = counts.sum(axis=1) > 0
    seen[0] = False
    smoothed = counts[seen] + alpha
    out = np.zeros((len(d.vocab), k))
    out[seen] = np.log(smoothed) - np.log(smoothed.sum(axis=0, keepdims=True))
    out[seen] -= out[seen].mean(axis=1, keepdims=True)
    return out


def nb_scales(d: Design, y: np.ndarray, sw: np.ndarray, k: int, *, alpha: float) -> np.ndarray:
    """(vocabulary × k) |log-count ratio| of each feature for each class against the others
    (Wang and Manning's NBSVM features: a feature's value in class c's score), from the rows of
    `d` weighted by `sw` (scaled to a mean of 1), smoothed by `alpha`; 1 for the bias."""
    counts = class_counts(d, y, sw, k)
    counts[0] = 0.0
    total = counts.sum(axis=1)
    out = np.ones((len(d.vocab), k))
    for c in range(k):
        p = counts[:, c] + alpha
        q = total - counts[:, c] + alpha
        out[:, c] = np.abs(np.log(p / p.sum()) - np.log(q / q.sum()))
    out[0] = 1.0
    return out
