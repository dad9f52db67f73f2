"""Rényi and Shannon efficiency of the unigram token distribution (Zouhar et al. 2023).

efficiency_alpha = H_alpha(p) / log2 |V|, with H_alpha(p) = log2(sum_i p_i^alpha) / (1 - alpha), p the
relative frequencies of token ids on the corpus and |V| the *declared* vocabulary size (the number of
ids the tokenizer file declares, specials and unused slots included). alpha = 1 is Shannon entropy.
Whole-corpus statistics: no bootstrap interval.
"""

from __future__ import annotations

import numpy as np

from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric

__all__ = ["ALPHA", "renyi_entropy", "renyi_efficiency", "shannon_efficiency"]

ALPHA = 2.5


def renyi_entropy(counts: np.ndarray, alpha: float) -> float:
    """H_alpha in bits of the distribution proportional to `counts` (alpha = 1: Shannon).

    >>> round(renyi_entropy(np.array([1, 1, 1, 1]), 2.5), 6)
    2.0
    """
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if len(c) == 0:
        return float("nan")
    p = c / c.sum()
    if alpha == 1:
        return float(-(p * np.log2(p)).sum())
    return float(np.log2((p**alpha).sum()) / (1 - alpha))


def _declared(ctx: EvalContext) -> int:
    v = ctx.tokenizer.vocab
    return int(v.declared_size or v.size)


@metric(
    "renyi_efficiency",
    family="entropy",
    unit="H_2.5 / log2|V|",
    aggregation="unigram distribution of the whole corpus",
)
def renyi_efficiency(m: Metric, ctx: EvalContext) -> MetricResult:
    """Rényi entropy (alpha = 2.5) of token frequencies over log2 of the declared vocabulary size."""
    v = _declared(ctx)
    h = renyi_entropy(m.text(ctx).counts, ALPHA)
    return m.result(
        h / np.log2(v),
        details={"alpha": ALPHA, "entropy_bits": h, "declared_vocab_size": v},
        notes=[f"|V| = {v}, the declared vocabulary size (all ids, specials included)"],
    )


@metric(
    "shannon_efficiency",
    family="entropy",
    unit="H_1 / log2|V|",
    aggregation="unigram distribution of the whole corpus",
)
def shannon_efficiency(m: Metric, ctx: EvalContext) -> MetricResult:
    """Shannon entropy of token frequencies over log2 of the declared vocabulary size."""
    v = _declared(ctx)
    h = renyi_entropy(m.text(ctx).counts, 1.0)
    return m.result(h / np.log2(v), details={"entropy_bits": h, "declared_vocab_size": v})
