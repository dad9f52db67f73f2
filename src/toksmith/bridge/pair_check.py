"""Checking the structural pair test against the encoder-based definition on sampled real pairs.

Used by the tests (a fast sample) and by `benchmarks/canonical_pairs.py` (a million pairs per tokenizer).
Candidates are biased toward the hard cases: whitespace runs, digits, apostrophes, punctuation.
"""

from __future__ import annotations

import numpy as np

from toksmith.bridge.canonical import PROBES
from toksmith.bridge.pretok_pairs import PretokenPairs
from toksmith.tokenizers import Tokenizer

__all__ = ["compare_pairs", "encoder_pair_ok", "hard_token_ids"]


def hard_token_ids(pp: PretokenPairs) -> np.ndarray:
    """Eligible tokens with whitespace, digits, apostrophes or punctuation in their text."""
    out = []
    for i in np.flatnonzero(pp.eligible).tolist():
        t = pp.texts[i]
        if any(c.isspace() or c.isdigit() or c == "'" or not c.isalnum() for c in t):
            out.append(i)
    return np.array(out, dtype=np.int64)


def encoder_pair_ok(tok: Tokenizer, has_pretokenizer: bool, pairs: list[tuple[int, int]],
                    texts: list[str | None]) -> list[bool]:
    """The definition: [a, b] starts encode(text(a) + text(b) + z) for some probe z."""
    out = [False] * len(pairs)
    todo = list(range(len(pairs)))
    for z in PROBES:
        if z:
            todo = [k for k in todo if has_pretokenizer and (texts[pairs[k][0]] + texts[pairs[k][1]])[-1:].isspace()]
        if not todo:
            break
        encs = tok.encode_batch([texts[pairs[k][0]] + texts[pairs[k][1]] + z for k in todo])
        nxt = []
        for k, ids in zip(todo, encs, strict=True):
            if ids[:2] == list(pairs[k]):
                out[k] = True
            else:
                nxt.append(k)
        todo = nxt
    return out


def compare_pairs(pp: PretokenPairs, *, n_left: int, n_right: int, seed: int = 0,
                  hard_share: float = 0.5) -> dict:
    """Sample n_left tokens a and n_right tokens b per a; count disagreements with the encoder."""
    rng = np.random.default_rng(seed)
    ids = np.flatnonzero(pp.eligible)
    hard = hard_token_ids(pp)

    def draw(k: int) -> np.ndarray:
        nh = int(k * hard_share)
        return np.concatenate([rng.choice(hard, nh), rng.choice(ids, k - nh)])

    pairs: list[tuple[int, int]] = []
    fast: list[bool] = []
    for a in draw(n_left).tolist():
        m = pp.mask(a)
        for b in draw(n_right).tolist():
            pairs.append((a, b))
            fast.append(bool(m[b]))
    slow = encoder_pair_ok(pp.tok, pp.has_pretokenizer, pairs, pp.texts)
    bad = [p for p, f, s in zip(pairs, fast, slow, strict=True) if f != s]
    return {"pairs": len(pairs), "canonical": int(sum(slow)), "disagree": len(bad), "examples": bad[:10]}
