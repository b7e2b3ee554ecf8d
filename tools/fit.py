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
               rate: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(weights per vocabulary entry, numeric weights); weights[0] is the bias."""
    n = len(y)
    rows = np.repeat(np.arange(n), np.diff(d.indptr))
    sw = sw / sw.sum()
    penal = np.ones(len(d.vocab))
    penal[0] = 0.0

    def grad(w):
        wv, wn = w
        z = np.add.reduceat(wv[d.indices], d.indptr[:-1]) + d.numeric @ wn
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        g = (p - y) * sw
        gv = np.bincount(d.indices, weights=g[rows], minlength=len(d.vocab)) + l2 * penal * wv
        gn = d.numeric.T @ g + l2 * wn
        return [gv, gn]

    wv, wn = _adam(grad, [np.zeros(len(d.vocab)), np.zeros(d.numeric.shape[1])], steps, rate)
    return wv, wn


def predict_binary(d: Design, wv: np.ndarray, wn: np.ndarray) -> np.ndarray:
    z = np.add.reduceat(wv[d.indices], d.indptr[:-1]) + d.numeric @ wn
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def fit_softmax(d: Design, y: np.ndarray, sw: np.ndarray, k: int, *, l2: float, steps: int = 400,
                rate: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(vocabulary × k weights, numeric × k weights); row 0 is the bias."""
    n = len(y)
    rows = np.repeat(np.arange(n), np.diff(d.indptr))
    sw = sw / sw.sum()
    onehot = np.eye(k)[y]
    penal = np.ones((len(d.vocab), 1))
    penal[0] = 0.0

    def grad(w):
        wv, wn = w
        z = np.add.reduceat(wv[d.indices], d.indptr[:-1], axis=0) + d.numeric @ wn
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * sw[:, None]
        gr = g[rows]
        gv = np.stack([np.bincount(d.indices, weights=gr[:, c], minlength=len(d.vocab))
                       for c in range(k)], axis=1)
        gv += l2 * penal * wv
        gn = d.numeric.T @ g + l2 * wn
        return [gv, gn]

    wv, wn = _adam(grad, [np.zeros((len(d.vocab), k)), np.zeros((d.numeric.shape[1], k))],
                   steps, rate)
    return wv, wn


def predict_softmax(d: Design, wv: np.ndarray, wn: np.ndarray) -> np.ndarray:
    z = np.add.reduceat(wv[d.indices], d.indptr[:-1], axis=0) + d.numeric @ wn
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
