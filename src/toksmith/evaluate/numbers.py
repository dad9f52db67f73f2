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

from collections import Counter
from typing import Any

import numpy as np

from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.encoded import Encoded, TextCorpus, encode_corpus
from toksmith.evaluate.registry import EvalContext, MetricResult, register

__all__ = ["LENGTHS", "PATTERNS", "classify_split", "parts_of", "place_value_counts", "probe_numbers"]

LENGTHS = tuple(range(1, 13))
PROBES_PER_LENGTH = 100
PATTERNS = ("single", "whole", "r2l", "l2r", "l2r=r2l", "other")
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


def parts_of(length: int, boundaries: list[int]) -> tuple[int, ...]:
    """Part lengths of a `length`-digit run cut at the given inner positions.

    >>> parts_of(7, [1, 4])
    (1, 3, 3)
    """
    cuts = [0, *sorted(set(boundaries)), length]
    return tuple(b - a for a, b in zip(cuts, cuts[1:], strict=False))


def classify_split(parts: tuple[int, ...]) -> str:
    """Pattern name of a split (see the module docstring).

    >>> [classify_split(p) for p in [(1, 1, 1), (1, 3, 3), (3, 3, 1), (3, 3), (4,), (2, 2)]]
    ['single', 'r2l', 'l2r', 'l2r=r2l', 'whole', 'other']
    """
    n = sum(parts)
    if all(p == 1 for p in parts):
        return "single"
    if len(parts) == 1:
        return "whole"
    l2r = all(p == 3 for p in parts[:-1]) and 1 <= parts[-1] <= 3
    r2l = all(p == 3 for p in parts[1:]) and 1 <= parts[0] <= 3
    if l2r and r2l:
        return "l2r=r2l"
    if r2l:
        return "r2l"
    if l2r:
        return "l2r"
    del n
    return "other"


def place_value_counts(length: int, boundaries: list[int]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) boundaries vs place-value boundaries every 3 digits from the right.

    >>> place_value_counts(7, [3, 6])   # l2r 123|456|7 vs gold 1|234|567 at 1 and 4
    (0, 2, 2)
    """
    gold = {length - 3 * k for k in range(1, length) if length - 3 * k > 0}
    pred = set(boundaries)
    return len(gold & pred), len(pred), len(gold)


def _splits(enc: Encoded, starts: np.ndarray, ends: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    span, pos = enc.internal_boundaries(starts, ends)
    out: list[list[int]] = [[] for _ in range(len(starts))]
    for s, p in zip(span.tolist(), pos.tolist(), strict=True):
        out[s].append(p)
    return out, enc.tokens_in(starts, ends)


def _analyse(lengths: np.ndarray, splits: list[list[int]], ntok: np.ndarray) -> dict[str, Any]:
    parts = [parts_of(int(n), b) for n, b in zip(lengths.tolist(), splits, strict=True)]
    pats = [classify_split(p) for p in parts]
    pv = np.array(
        [place_value_counts(int(n), b) for n, b in zip(lengths.tolist(), splits, strict=True)],
        dtype=np.float64,
    ).reshape(-1, 3)
    heat: list[list[float]] = []
    entropy: dict[int, float] = {}
    for n in LENGTHS:
        idx = np.flatnonzero(lengths == n)
        c = Counter(pats[i] for i in idx.tolist())
        heat.append([c[p] / len(idx) if len(idx) else 0.0 for p in PATTERNS])
        if len(idx):
            sc = np.array(list(Counter(parts[i] for i in idx.tolist()).values()), dtype=np.float64)
            q = sc / sc.sum()
            entropy[n] = float(-(q * np.log2(q)).sum()) + 0.0
    overall = Counter(p for p, n in zip(pats, lengths.tolist(), strict=True) if n >= 4 and n % 3)
    total = sum(overall.values())
    return {
        "patterns": pats,
        "pv": pv,
        "heat": heat,
        "entropy": entropy,
        "dominant_long": overall.most_common(1)[0][0] if total else None,
        "shares_long": {p: overall[p] / total for p in PATTERNS} if total else {},
    }


def _numbers(ctx: EvalContext) -> dict[str, Any]:
    if "numbers" in ctx.cache:
        return ctx.cache["numbers"]
    nums = probe_numbers()
    corpus = TextCorpus.from_texts([f"{_PREFIX}{n} units." for n in nums])
    enc = encode_corpus(ctx.tokenizer, corpus, chunk_docs=1 << 20)
    pre = len(_PREFIX)
    starts = corpus.doc_start + pre
    lengths = np.array([len(n) for n in nums], dtype=np.int64)
    splits, ntok = _splits(enc, starts, starts + lengths)
    probe = _analyse(lengths, splits, ntok)
    probe["ntok"] = ntok
    probe["lengths"] = lengths
    out: dict[str, Any] = {"probe": probe, "in_corpus": None}
    if ctx.text is not None:
        s, e = ctx.text.corpus.digit_runs
        if len(s):
            cl = e - s
            csplits, cntok = _splits(ctx.text, s, e)
            a = _analyse(cl, csplits, cntok)
            out["in_corpus"] = {
                "numbers": int(len(s)),
                "digits": int(cl.sum()),
                "tokens_per_digit": float(cntok.sum() / cl.sum()),
                "place_value_f1": _f1(a["pv"]),
                "dominant_pattern_4plus": a["dominant_long"],
                "pattern_shares_4plus": a["shares_long"],
            }
    ctx.cache["numbers"] = out
    return out


def _f1(pv: np.ndarray) -> float | None:
    tp, pred, gold = pv.sum(axis=0)
    return float(2 * tp / (pred + gold)) if pred + gold else None


_AGG = "probe set: 100 numbers of each length 1-12 in a sentence"


@register("number_patterns", family="numbers", unit="share of numbers", aggregation=_AGG, needs="vocab")
def number_patterns(ctx: EvalContext) -> MetricResult:
    """How digit strings split (heat map: length x pattern); value: share of 4+ digit numbers grouped r2l."""
    d = _numbers(ctx)
    p = d["probe"]
    shares = p["shares_long"]
    res = MetricResult(
        "number_patterns",
        shares.get("r2l", 0.0) + 0.0 if shares else None,
        "share of numbers",
        _AGG + "; value: share of 4+ digit numbers (length not a multiple of 3) grouped right-to-left",
    )
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


@register(
    "place_value_f1", family="numbers", unit="F1", aggregation=_AGG + "; micro over numbers", needs="vocab"
)
def place_value_f1(ctx: EvalContext) -> MetricResult:
    """F1 of token boundaries inside numbers against boundaries every 3 digits from the right."""
    p = _numbers(ctx)["probe"]
    tp, pred, gold = p["pv"][:, 0], p["pv"][:, 1], p["pv"][:, 2]
    r = Ratio.of(("numbers",), 2 * tp, pred + gold)
    res = MetricResult("place_value_f1", r.point(), "F1", _AGG + "; micro over numbers", units=len(tp))
    res.ratios[(None, "value")] = r
    return res


@register(
    "number_split_entropy",
    family="numbers",
    unit="bits",
    aggregation=_AGG + "; mean over lengths 2-12",
    needs="vocab",
)
def number_split_entropy(ctx: EvalContext) -> MetricResult:
    """Entropy of the split of numbers of equal length (0 = always the same split)."""
    ent = _numbers(ctx)["probe"]["entropy"]
    vals = [v for n, v in ent.items() if n >= 2]
    return MetricResult(
        "number_split_entropy",
        float(np.mean(vals)) if vals else None,
        "bits",
        _AGG + "; mean over lengths 2-12",
        details={"per_length": ent},
    )


@register(
    "tokens_per_digit",
    family="numbers",
    unit="tokens/digit",
    aggregation=_AGG + "; ratio of totals",
    needs="vocab",
)
def tokens_per_digit(ctx: EvalContext) -> MetricResult:
    """Tokens overlapping a digit string per digit."""
    p = _numbers(ctx)["probe"]
    r = Ratio.of(("numbers",), p["ntok"], p["lengths"])
    res = MetricResult(
        "tokens_per_digit", r.point(), "tokens/digit", _AGG + "; ratio of totals", units=len(p["ntok"])
    )
    res.ratios[(None, "value")] = r
    ic = _numbers(ctx)["in_corpus"]
    if ic:
        res.details["in_corpus"] = ic["tokens_per_digit"]
    return res
