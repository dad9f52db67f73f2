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
from toksmith.evaluate.encoded import Encoded
from toksmith.evaluate.registry import EvalContext, MetricResult, Probe, probe_result, register, register_probe

__all__ = [
    "LENGTHS",
    "PATTERNS",
    "DigitTally",
    "classify_split",
    "parts_of",
    "place_value_counts",
    "probe_numbers",
]

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


def _classify(
    lengths: np.ndarray, span: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised `classify_split` and `place_value_counts` of numbers cut at (span, pos) boundaries.

    Returns (pattern index into PATTERNS, true positives, predicted, gold) per number.
    """
    n = len(lengths)
    if len(span):
        new = np.ones(len(span), dtype=bool)  # zero-length tokens repeat a boundary: count it once
        new[1:] = (span[1:] != span[:-1]) | (pos[1:] != pos[:-1])
        span, pos = span[new], pos[new]
    nb = np.bincount(span, minlength=n)
    length = lengths[span]
    tp = np.bincount(span, weights=(length - pos) % 3 == 0, minlength=n).astype(np.int64)
    l2r = np.bincount(span, weights=pos % 3 == 0, minlength=n).astype(np.int64)
    gold = (lengths - 1) // 3
    is_r2l = (tp == nb) & (nb == gold)
    is_l2r = (l2r == nb) & (nb == gold)
    code = np.full(n, PATTERNS.index("other"), dtype=np.int64)
    code[is_l2r] = PATTERNS.index("l2r")
    code[is_r2l] = PATTERNS.index("r2l")
    code[is_l2r & is_r2l] = PATTERNS.index("l2r=r2l")
    code[nb == 0] = PATTERNS.index("whole")
    code[nb == lengths - 1] = PATTERNS.index("single")
    return code, tp, nb, gold


def _first_seen(codes: np.ndarray, order: list[int]) -> None:
    """Append to `order` the codes not in it yet, in the order they first occur (Counter's order)."""
    u, first = np.unique(codes, return_index=True)
    for c in u[np.argsort(first, kind="stable")].tolist():
        if c not in order:
            order.append(c)


def _long_shares(counts: np.ndarray, order: list[int]) -> tuple[str | None, dict[str, float]]:
    """(dominant pattern, shares) of numbers of 4+ digits whose length is not a multiple of 3."""
    total = int(counts.sum())
    if not total:
        return None, {}
    best = max(order, key=lambda c: counts[c])  # the first maximum, as Counter.most_common(1)
    return PATTERNS[best], {p: int(counts[k]) / total for k, p in enumerate(PATTERNS)}


class DigitTally:
    """How the digit runs of a corpus split, tallied batch by batch (see the module docstring)."""

    def __init__(self) -> None:
        self.numbers = 0
        self.digits = 0
        self.tokens = 0
        self.pv = np.zeros(3, dtype=np.int64)  # true positives, predicted, gold
        self.long_counts = np.zeros(len(PATTERNS), dtype=np.int64)
        self.long_order: list[int] = []

    def add(self, enc: Encoded, starts: np.ndarray, ends: np.ndarray) -> None:
        """Tally the digit runs [starts, ends) (byte offsets) of one encoded batch."""
        if len(starts) == 0:
            return
        lengths = ends - starts
        code, tp, nb, gold = _classify(lengths, *enc.internal_boundaries(starts, ends))
        self.numbers += len(lengths)
        self.digits += int(lengths.sum())
        self.tokens += int(enc.tokens_in(starts, ends).sum())
        self.pv += [int(tp.sum()), int(nb.sum()), int(gold.sum())]
        long = code[(lengths >= 4) & (lengths % 3 != 0)]
        if len(long):
            self.long_counts += np.bincount(long, minlength=len(PATTERNS))
            _first_seen(long, self.long_order)

    def summary(self) -> dict[str, Any] | None:
        """The `in_corpus` details, or None when the corpus has no digits."""
        if not self.numbers:
            return None
        dominant, shares = _long_shares(self.long_counts, self.long_order)
        tp, pred, gold = self.pv.tolist()
        return {
            "numbers": self.numbers,
            "digits": self.digits,
            "tokens_per_digit": float(self.tokens / self.digits),
            "place_value_f1": float(2 * tp / (pred + gold)) if pred + gold else None,
            "dominant_pattern_4plus": dominant,
            "pattern_shares_4plus": shares,
        }


def _probe_texts(ctx: EvalContext) -> list[str]:
    return [f"{_PREFIX}{n} units." for n in probe_numbers()]


def _probe_finish(ctx: EvalContext, enc: Encoded | None) -> dict[str, Any]:
    assert enc is not None
    corpus = enc.corpus
    starts = corpus.doc_start + len(_PREFIX)
    lengths = corpus.doc_bytes - len(_PREFIX) - len(" units.")
    ends = starts + lengths
    span, pos = enc.internal_boundaries(starts, ends)
    code, tp, nb, gold = _classify(lengths, span, pos)
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
    _first_seen(code[sel], order)
    dominant, shares = _long_shares(np.bincount(code[sel], minlength=len(PATTERNS)), order)
    return {
        "pv": np.stack([tp, nb, gold], axis=1).astype(np.float64),
        "heat": heat,
        "entropy": entropy,
        "dominant_long": dominant,
        "shares_long": shares,
        "ntok": enc.tokens_in(starts, ends),
        "lengths": lengths,
    }


NUMBER_PROBE = register_probe(
    Probe("numbers", _probe_texts, _probe_finish, groups=lambda r: [(("numbers",), len(r["lengths"]))]),
    ["number_patterns", "place_value_f1", "number_split_entropy", "tokens_per_digit"],
)


def _numbers(ctx: EvalContext) -> dict[str, Any]:
    """The probe set's analysis and the corpus's own digit runs (None without a corpus or digits)."""
    digits = ctx.text.digits if ctx.text is not None else None
    return {"probe": probe_result(ctx, "numbers"), "in_corpus": digits.summary() if digits else None}


_AGG = "probe set: 100 numbers of each length 1-12 in a sentence"


@register(
    "number_patterns", family="numbers", unit="share of numbers", aggregation=_AGG, needs="vocab", stats=("digits",)
)
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
    stats=("digits",),
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
