"""Paired bootstrap confidence intervals, vectorised with numpy.

Every statistic the suite bootstraps is a ratio of sums of per-unit values (units are documents, or
words for the morphology metrics): bytes per token is sum(bytes)/sum(tokens), a mean over documents is
sum(r_d)/sum(1), a premium is sum(tokens of L)/sum(tokens of pivot) with numerator and denominator
resampled in their own groups. A `Resampler` draws B multinomial weight vectors over the units of one
group from a seed derived from the group's name, so every tokenizer sees the *same* resamples: the
replicates of two tokenizers subtract into a paired bootstrap of their difference, which cancels the
variation that comes from which documents were drawn.

Groups ("parallel", lang) of a parallel corpus draw the same relative positions in every language
(document floor(u * n_L) for shared uniforms u), so a resample keeps the languages' content aligned:
premiums, their paired differences and the Gini coefficient then vary with tokenization, not with which
paragraphs were drawn.

Groups with more than `MAX_BLOCKS` units are resampled in contiguous blocks (a block bootstrap;
somewhat wider intervals, bounded memory: B x MAX_BLOCKS weights).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RESAMPLES",
    "SEED",
    "MIN_UNITS",
    "Ratio",
    "Resampler",
    "WeightPool",
    "bootstrap_ratios",
    "percentile_ci",
    "percentile_cis",
    "resample_weights",
    "gini_rows",
]

RESAMPLES = 1000
SEED = 0
MAX_BLOCKS = 2000
#: groups ("parallel", lang) are resampled at aligned relative positions
ALIGNED = "parallel"
#: below this many units a result carries a sample-size warning
MIN_UNITS = 30


@dataclass(eq=False)
class Ratio:
    """scale * sum(num) / sum(den), each a per-unit array resampled within its group."""

    num_group: Hashable
    num: np.ndarray
    den_group: Hashable
    den: np.ndarray
    scale: float = 1.0

    @classmethod
    def of(cls, group: Hashable, num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> Ratio:
        return cls(group, np.asarray(num, dtype=np.float64), group, np.asarray(den, dtype=np.float64), scale)

    def point(self) -> float:
        d = float(self.den.sum())
        return self.scale * float(self.num.sum()) / d if d else float("nan")

    @property
    def units(self) -> int:
        return min(len(self.num), len(self.den))


def _aligned(group: Hashable) -> bool:
    return isinstance(group, tuple) and len(group) == 2 and group[0] == ALIGNED


def resample_weights(group: Hashable, nb: int, *, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, nb) float64: how often each of nb blocks is drawn in each resample of `group`."""
    if _aligned(group):
        # Parallel corpora: every language draws the same relative positions (the first nb rows of one
        # shared stream), so resamples keep content aligned across languages and premiums stay paired.
        rng = np.random.default_rng([seed, zlib.crc32(ALIGNED.encode())])
        u = rng.random((nb, resamples)).T
        idx = np.minimum((u * nb).astype(np.int32), nb - 1)
    else:
        rng = np.random.default_rng([seed, zlib.crc32(repr(group).encode())])
        idx = rng.integers(0, max(nb, 1), size=(resamples, nb), dtype=np.int32)
    idx += (np.arange(resamples, dtype=np.int32) * nb)[:, None]
    return np.bincount(idx.ravel(), minlength=resamples * nb).reshape(resamples, nb).astype(np.float64)


class WeightPool:
    """The resample weights of one evaluation, each built once; `prefetch` builds them ahead (any thread).

    Aligned groups of equal block count share one matrix (they draw from one stream)."""

    def __init__(self, *, resamples: int = RESAMPLES, seed: int = SEED) -> None:
        self.resamples = resamples
        self.seed = seed
        self._done: dict[tuple[Hashable, int], np.ndarray] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(group: Hashable, n: int) -> tuple[Hashable, int]:
        return (ALIGNED if _aligned(group) else ("group", group), min(n, MAX_BLOCKS))

    def prefetch(self, group: Hashable, n: int) -> None:
        """Build the weights of `group` with `n` units now, unless done."""
        self.weights(group, n)

    def weights(self, group: Hashable, n: int, *, take: bool = False) -> np.ndarray:
        """The weights of `group` with `n` units; `take` forgets those of a non-aligned group (used once)."""
        key = self._key(group, n)
        with self._lock:
            w = self._done.get(key)
        if w is None:
            w = resample_weights(group, key[1], resamples=self.resamples, seed=self.seed)
            with self._lock:
                w = self._done.setdefault(key, w)
        if take and key[0] != ALIGNED:
            with self._lock:
                self._done.pop(key, None)
        return w


class Resampler:
    """B multinomial resamples of the n units of one group, fixed by (seed, group name)."""

    def __init__(
        self,
        group: Hashable,
        n: int,
        *,
        resamples: int = RESAMPLES,
        seed: int = SEED,
        pool: WeightPool | None = None,
    ) -> None:
        self.n = n
        nb = min(n, MAX_BLOCKS)
        self.blocks = nb
        # units -> blocks of nearly equal size, contiguous
        self.block_of = (np.arange(n, dtype=np.int64) * nb) // max(n, 1)
        if pool is None:
            self.weights = resample_weights(group, nb, resamples=resamples, seed=seed)
        else:
            self.weights = pool.weights(group, n, take=True)

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Resampled sums of the columns of x: (n,) -> (B,), (n, k) -> (B, k)."""
        x = np.asarray(x, dtype=np.float64)
        if self.blocks == self.n:
            return self.weights @ x
        starts = np.searchsorted(self.block_of, np.arange(self.blocks))
        return self.weights @ np.add.reduceat(x, starts, axis=0)


def bootstrap_ratios(
    ratios: Iterable[Ratio], *, resamples: int = RESAMPLES, seed: int = SEED, pool: WeightPool | None = None
) -> list[np.ndarray]:
    """Replicates (B,) of every ratio; arrays of one group are resampled together in one product."""
    ratios = list(ratios)
    pool = pool or WeightPool(resamples=resamples, seed=seed)
    by_group: dict[Hashable, list[np.ndarray]] = {}
    slot: list[tuple[tuple[Hashable, int], tuple[Hashable, int]]] = []
    for r in ratios:
        ends = []
        for g, arr in ((r.num_group, r.num), (r.den_group, r.den)):
            cols = by_group.setdefault(g, [])
            if cols and len(cols[0]) != len(arr):
                raise ValueError(f"bootstrap group {g!r}: arrays of different lengths")
            cols.append(arr)
            ends.append((g, len(cols) - 1))
        slot.append((ends[0], ends[1]))
    sums: dict[Hashable, np.ndarray] = {}
    for g, cols in by_group.items():
        rs = Resampler(g, len(cols[0]), resamples=resamples, seed=seed, pool=pool)
        sums[g] = rs.sums(np.stack(cols, axis=1))
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for r, ((gn, jn), (gd, jd)) in zip(ratios, slot, strict=True):
            out.append(r.scale * sums[gn][:, jn] / sums[gd][:, jd])
    return out


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> list[float] | None:
    """[lo, hi] percentile interval of the finite replicates, or None when there are fewer than two."""
    r = replicates[np.isfinite(replicates)]
    if len(r) < 2:
        return None
    a = (1 - level) / 2 * 100
    lo, hi = np.percentile(r, [a, 100 - a])
    return [float(lo), float(hi)]


def percentile_cis(replicates: list[np.ndarray], level: float = 0.95) -> list[list[float] | None]:
    """`percentile_ci` of many replicate vectors of equal length, in one vectorised call where all are finite."""
    if not replicates:
        return []
    m = np.stack(replicates)
    finite = np.isfinite(m).all(axis=1)
    out: list[list[float] | None] = [None] * len(replicates)
    rows = np.flatnonzero(finite)
    if len(rows) and m.shape[1] >= 2:
        a = (1 - level) / 2 * 100
        q = np.percentile(m[rows], [a, 100 - a], axis=1)
        for k, i in enumerate(rows.tolist()):
            out[i] = [float(q[0, k]), float(q[1, k])]
    for i in np.flatnonzero(~finite).tolist():
        out[i] = percentile_ci(replicates[i], level)
    return out


def gini_rows(x: np.ndarray) -> np.ndarray:
    """Gini coefficient of each row of x (shape (B, n) -> (B,)); rows with nan give nan.

    G = sum_i (2i - n - 1) x_(i) / (n sum x), with x sorted ascending and i = 1..n.
    """
    x = np.sort(np.asarray(x, dtype=np.float64), axis=-1)
    n = x.shape[-1]
    i = np.arange(1, n + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((2 * i - n - 1) * x).sum(axis=-1) / (n * x.sum(axis=-1))
