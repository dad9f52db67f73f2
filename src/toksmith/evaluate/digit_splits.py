"""How a digit run splits into tokens: the patterns, place-value boundaries, and their vectorised forms.

Shared by the streamed pass (`stream.DigitTally`, the corpus's own digit runs) and the numbers metrics
(`numbers`, the probe set). A split is the sequence of part lengths between token boundaries inside
the digit run (1234567 -> (1, 3, 3)). Patterns: `single` (all parts one digit), `whole` (one token),
`r2l` (right-to-left groups of 3), `l2r` (left-to-right groups of 3), `l2r=r2l` (length a multiple of
3, groups of 3), `other`. Place-value boundaries fall every 3 digits from the right.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PATTERNS", "classify_runs", "classify_split", "first_seen", "long_shares", "parts_of", "place_value_counts"]

PATTERNS = ("single", "whole", "r2l", "l2r", "l2r=r2l", "other")


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
    return "other"


def place_value_counts(length: int, boundaries: list[int]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) boundaries vs place-value boundaries every 3 digits from the right.

    >>> place_value_counts(7, [3, 6])   # l2r 123|456|7 vs gold 1|234|567 at 1 and 4
    (0, 2, 2)
    """
    gold = {length - 3 * k for k in range(1, length) if length - 3 * k > 0}
    pred = set(boundaries)
    return len(gold & pred), len(pred), len(gold)


def classify_runs(
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


def first_seen(codes: np.ndarray, order: list[int]) -> None:
    """Append to `order` the codes not in it yet, in the order they first occur (Counter's order)."""
    u, first = np.unique(codes, return_index=True)
    for c in u[np.argsort(first, kind="stable")].tolist():
        if c not in order:
            order.append(c)


def long_shares(counts: np.ndarray, order: list[int]) -> tuple[str | None, dict[str, float]]:
    """(dominant pattern, shares) of numbers of 4+ digits whose length is not a multiple of 3."""
    total = int(counts.sum())
    if not total:
        return None, {}
    best = max(order, key=lambda c: counts[c])  # the first maximum, as Counter.most_common(1)
    return PATTERNS[best], {p: int(counts[k]) / total for k, p in enumerate(PATTERNS)}
