"""Checking the structural pair test against the encoder-based definition on sampled real pairs.

Used by the tests (a fast sample) and by `benchmarks/canonical_pairs.py` (a million pairs per tokenizer).
Candidates are biased toward the hard cases: whitespace runs, digits, apostrophes, punctuation.
"""

from __future__ import annotations

import numpy as np

from toksmith.bridge.canonical import PROBES, START_CTX, Canonicality
from toksmith.bridge.pretok_pairs import PretokenPairs, head_class
from toksmith.tokenizers import Tokenizer
from toksmith.utf8 import pending_char

__all__ = ["compare_pairs", "compare_pairs_in_context", "context_sites", "encoder_pair_ok", "hard_token_ids"]


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


def context_sites(c: Canonicality, text: str) -> list[tuple[list[int], int, str]]:
    """(tokens before a in its pre-token, a, left) for every token a of encode(text) that does not start
    its pre-token and carries one left context `left` along the encoding (`Canonicality.context_after`).

    Raises AssertionError where the carried context is not the class string of the real pre-token text
    before a."""
    pp = c.fast
    ids = c.tok.encode(text)
    ends, k = set(), 0
    for piece in c.tok.pretokenize(text) or [text]:
        k += len(piece.encode("utf-8"))
        ends.add(k)
    sites = []
    ctx, pos, run = START_CTX, 0, []
    data = text.encode("utf-8")
    for i, a in enumerate(ids):
        if i and pos in ends:
            run = []
        lefts = {left for left, _ in ctx if left}
        if run and len(lefts) == 1 and pp.eligible[a] and all(pp.eligible[r] for r in run):
            left = lefts.pop()
            want = head_class(b"".join(c.vocab.tokens[r] for r in run).decode("utf-8"), keep=0)
            assert left == want, (run, a, left, want)
            sites.append((list(run), a, left))
        run.append(a)
        if i + 1 < len(ids):
            ctx = c.context_after(ctx, a, pending_char(data[:pos]), ids[i + 1])
        pos += len(c.vocab.tokens[a])
    return sites


def compare_pairs_in_context(c: Canonicality, texts: list[str], *, n_right: int, seed: int = 0,
                             max_sites: int = 400) -> dict:
    """The structural test with a left context against the encoder on the real context.

    Sites: tokens a of real encodings that continue a pre-token (`context_sites`) and carry a context.
    Per site, n_right tokens b (half hard cases): [.., a, b] must start
    encode(context text + text(a) + text(b) + z) for some probe z exactly when `mask(a, left)[b]`.
    """
    pp = c.fast
    rng = np.random.default_rng(seed)
    ids = np.flatnonzero(pp.eligible)
    hard = hard_token_ids(pp)
    sites = [s for t in texts for s in context_sites(c, t)]
    if len(sites) > max_sites:
        sites = [sites[k] for k in sorted(rng.choice(len(sites), max_sites, replace=False).tolist())]
    toks = pp.tok.vocab.tokens
    checks: list[tuple[list[int], int, int, bool]] = []
    for run, a, left in sites:
        m = pp.mask(a, left)
        nh = n_right // 2
        for b in np.concatenate([rng.choice(hard, nh), rng.choice(ids, n_right - nh)]).tolist():
            checks.append((run, a, b, bool(m[b])))
    slow = [False] * len(checks)
    todo = list(range(len(checks)))
    for z in PROBES:
        if z:
            todo = [k for k in todo if pp.texts[checks[k][2]][-1:].isspace()]
        if not todo:
            break
        strs = [b"".join(toks[r] for r in checks[k][0]).decode("utf-8") + pp.texts[checks[k][1]]
                + pp.texts[checks[k][2]] + z for k in todo]
        nxt = []
        for k, got in zip(todo, pp.tok.encode_batch(strs), strict=True):
            run, a, b, _ = checks[k]
            if got[: len(run) + 2] == run + [a, b]:
                slow[k] = True
            else:
                nxt.append(k)
        todo = nxt
    bad = [(c[0], c[1], c[2]) for c, s in zip(checks, slow, strict=True) if c[3] != s]
    return {"sites": len(sites), "pairs": len(checks), "canonical": int(sum(slow)), "disagree": len(bad),
            "examples": bad[:10]}
