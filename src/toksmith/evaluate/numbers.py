"""How a tokenizer splits digit strings.

Probe set: for every length 1..12, `PROBES_PER_LENGTH` fixed-seed numbers (first digit not 0), each
encoded inside a sentence ("Total: N units."), so results do not depend on how many numbers a corpus
happens to hold. For each number the split is the sequence of part lengths between token boundaries
inside the digit run (e.g. 1234567 -> (1, 3, 3)). Patterns:
`single` (all parts one digit), `whole` (one token), `r2l` (right-to-left groups of 3: (1, 3, 3)),
`l2r` (left-to-right groups of 3: (3, 3, 1)), `l2r=r2l` (length a multiple of 3, groups of 3),
`other`. Left-to-right grouping misaligns place value and measurably hurts arithmetic
(Singh & Strouse 2024); it is flagged.

Place-value F1: gold boundaries every 3 digits from the right, predicted = token boundaries inside
the number, micro over numbers. Split entropy: Shannon entropy (bits) of the distribution of exact
splits at each length, averaged over lengths 2..12. Tokens per digit: tokens overlapping the digit
run per digit (ratio of totals). The same is measured on the corpus's own digit runs (`in_corpus`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.digit_splits import (
    PATTERNS,
    classify_runs,
    classify_split,
    first_seen,
    long_shares,
    parts_of,
    place_value_counts,
)
from toksmith.evaluate.encoded import Encoded
from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, Probe, metric, probe_result

__all__ = [
    "LENGTHS",
    "PATTERNS",
    "classify_split",
    "parts_of",
    "place_value_counts",
    "probe_numbers",
]

LENGTHS = tuple(range(1, 13))
PROBES_PER_LENGTH = 100
_PREFIX = "Total: "


def probe_numbers() -> list[str]:
    """The fixed probe set: PROBES_PER_LENGTH numbers of every length in LENGTHS."""
    rng = np.random.default_rng(12345)
    out = []
    for n in LENGTHS:
        for _ in range(PROBES_PER_LENGTH):
            digits = rng.integers(0, 10, n)
            digits[0] = rng.integers(1, 10)
            out.append("".join(map(str, digits.tolist())))
    return out


def _probe_texts(ctx: EvalContext) -> list[str]:
    return [f"{_PREFIX}{n} units." for n in probe_numbers()]


def _probe_finish(ctx: EvalContext, enc: Encoded | None) -> dict[str, Any]:
    if enc is None:
        raise ValueError("the number probes were not encoded")
    corpus = enc.corpus
    starts = corpus.doc_start + len(_PREFIX)
    lengths = corpus.doc_bytes - len(_PREFIX) - len(" units.")
    ends = starts + lengths
    span, pos = enc.internal_boundaries(starts, ends)
    code, tp, nb, gold = classify_runs(lengths, span, pos)
    new = np.ones(len(span), dtype=bool)
    new[1:] = (span[1:] != span[:-1]) | (pos[1:] != pos[:-1])
    # each split as a bit mask of its boundaries (probe numbers have at most 12 digits)
    masks = np.bincount(span[new], weights=np.left_shift(1, pos[new]), minlength=len(lengths)).astype(np.int64)
    heat: list[list[float]] = []
    entropy: dict[int, float] = {}
    for n in LENGTHS:
        idx = np.flatnonzero(lengths == n)
        c = np.bincount(code[idx], minlength=len(PATTERNS))
        heat.append([int(c[k]) / len(idx) if len(idx) else 0.0 for k in range(len(PATTERNS))])
        if len(idx):
            _, first, sc = np.unique(masks[idx], return_index=True, return_counts=True)
            sc = sc[np.argsort(first, kind="stable")].astype(np.float64)  # first-seen order, as Counter
            q = sc / sc.sum()
            entropy[n] = float(-(q * np.log2(q)).sum()) + 0.0
    sel = (lengths >= 4) & (lengths % 3 != 0)
    order: list[int] = []
    first_seen(code[sel], order)
    dominant, shares = long_shares(np.bincount(code[sel], minlength=len(PATTERNS)), order)
    return {
        "pv": np.stack([tp, nb, gold], axis=1).astype(np.float64),
        "heat": heat,
        "entropy": entropy,
        "dominant_long": dominant,
        "shares_long": shares,
        "ntok": enc.tokens_in(starts, ends),
        "lengths": lengths,
    }


NUMBER_PROBE = Probe(
    "numbers",
    _probe_texts,
    _probe_finish,
    metrics=("number_patterns", "place_value_f1", "number_split_entropy", "tokens_per_digit"),
    groups=lambda r: [(("numbers",), len(r["lengths"]))],
)


def _numbers(ctx: EvalContext) -> dict[str, Any]:
    """The probe set's analysis and the corpus's own digit runs (None without a corpus or digits)."""
    digits = ctx.text.digits if ctx.text is not None else None
    return {"probe": probe_result(ctx, NUMBER_PROBE), "in_corpus": digits.summary() if digits else None}


_AGG = "probe set: 100 numbers of each length 1-12 in a sentence"


@metric(
    "number_patterns",
    family="numbers",
    unit="share of numbers",
    aggregation=_AGG + "; value: share of 4+ digit numbers (length not a multiple of 3) grouped right-to-left",
    needs="vocab",
    stats=("digits",),
)
def number_patterns(m: Metric, ctx: EvalContext) -> MetricResult:
    """How digit strings split (heat map: length x pattern); value: share of 4+ digit numbers grouped r2l."""
    d = _numbers(ctx)
    p = d["probe"]
    shares = p["shares_long"]
    res = m.result(shares.get("r2l", 0.0) + 0.0 if shares else None)
    res.details = {
        "heatmap": {"lengths": list(LENGTHS), "patterns": list(PATTERNS), "shares": p["heat"]},
        "dominant_pattern_4plus": p["dominant_long"],
        "pattern_shares_4plus": shares,
        "in_corpus": d["in_corpus"],
    }
    if p["dominant_long"] == "l2r":
        res.notes.append(
            "FLAG: numbers are grouped left-to-right in threes, misaligned with place value "
            "(hurts arithmetic; Singh & Strouse 2024)"
        )
    return res


@metric("place_value_f1", family="numbers", unit="F1", aggregation=_AGG + "; micro over numbers", needs="vocab")
def place_value_f1(m: Metric, ctx: EvalContext) -> MetricResult:
    """F1 of token boundaries inside numbers against boundaries every 3 digits from the right."""
    p = _numbers(ctx)["probe"]
    tp, pred, gold = p["pv"][:, 0], p["pv"][:, 1], p["pv"][:, 2]
    return m.resampled(Ratio.of(("numbers",), 2 * tp, pred + gold), units=len(tp))


@metric(
    "number_split_entropy",
    family="numbers",
    unit="bits",
    aggregation=_AGG + "; mean over lengths 2-12",
    needs="vocab",
)
def number_split_entropy(m: Metric, ctx: EvalContext) -> MetricResult:
    """Entropy of the split of numbers of equal length (0 = always the same split)."""
    ent = _numbers(ctx)["probe"]["entropy"]
    vals = [v for n, v in ent.items() if n >= 2]
    return m.result(float(np.mean(vals)) if vals else None, details={"per_length": ent})


@metric(
    "tokens_per_digit",
    family="numbers",
    unit="tokens/digit",
    aggregation=_AGG + "; ratio of totals",
    needs="vocab",
    stats=("digits",),
)
def tokens_per_digit(m: Metric, ctx: EvalContext) -> MetricResult:
    """Tokens overlapping a digit string per digit."""
    d = _numbers(ctx)
    p = d["probe"]
    res = m.resampled(Ratio.of(("numbers",), p["ntok"], p["lengths"]), units=len(p["ntok"]))
    ic = d["in_corpus"]
    if ic:
        res.details["in_corpus"] = ic["tokens_per_digit"]
    return res
