"""A structural pair test for BPE: can token b follow token a in the model's own output? No encoder calls.

Every token's *canonical derivation* comes from running BPE on the token's own bytes: the last merge
that builds it gives (left, right, merge rank). Tokens whose bytes do not come back as themselves are
unreachable for the model. The pair (a, b) survives BPE on bytes(a) + bytes(b) exactly when no merge
across the boundary fires before the events that build a and b (Vieira et al. 2025; `is_valid_token_pair`
in rust-gems `bpe`). The boundary joins a symbol on a's *right spine* (a, right(a), right(right(a)), ...)
with one on b's *left spine*; the pair of symbols (x, y) sits at the boundary from the later of their
builds until the next spine event, and a merge (x, y) of rank m fires there iff m comes before that event.
Ties go to the leftmost position, so an event inside a (left of the boundary) wins a tie against the
boundary merge, and the boundary merge wins a tie against an event inside b.

For one a, the bs that fail form a union of intervals: order every token by a depth-first walk of the
tree parent(b) = left(b) with children by rank; the tokens whose left spine passes through y above a
child c form c's subtree, and the children that qualify form a suffix of y's children. So a mask over
the whole vocabulary costs one pass over the merges that start with a right-spine symbol of a, plus a
cumulative sum (`BPEPairs.follow_mask`).

This is the BPE part only; pre-tokenizer regexes and byte fallback are handled by `canonical`.
The derivations are cached on disk keyed by the tokenizer fingerprint (`toksmith.cache`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from toksmith.cache import load_arrays, store_arrays
from toksmith.tokenizers import Tokenizer
from toksmith.vocab import TokenKind

__all__ = ["BPEPairs", "bpe_definition", "bpe_pairs", "run_bpe"]

#: rank of a base symbol (a byte or a character): built before every merge.
BASE = -1
#: bump when the derivation changes (cached entries then miss)
_VERSION = 4
_INF = np.int64(1) << 40


def bpe_definition(tok: Tokenizer) -> tuple[dict[tuple[int, int], tuple[int, int]], object] | None:
    """(merges {(left, right): (rank, result)}, initial-symbol function) of a BPE tokenizer, or None.

    Supported: `tokenizers` BPE models (byte-level, and SentencePiece-style with byte fallback) without
    `ignore_merges`, and tiktoken encodings (a merge joins two tokens whose bytes form a token; its rank
    is that token's rank).
    """
    v = tok.vocab
    backend = getattr(tok, "backend", None)
    enc = getattr(tok, "_enc", None)
    merges: dict[tuple[int, int], tuple[int, int]] = {}
    if backend is not None:
        full = json.loads(backend.to_str())
        model = full.get("model") or {}
        if not _plain_normalizer(full.get("normalizer")) or tok.adds_space_prefix:
            return None  # the encoder would not run BPE on the text's own characters
        if model.get("type") != "BPE" or model.get("ignore_merges") or model.get("continuing_subword_prefix") \
                or model.get("end_of_word_suffix") or model.get("dropout"):
            return None
        mv: dict[str, int] = model["vocab"]
        for rank, m in enumerate(model["merges"]):
            left, right = m.split(" ", 1) if isinstance(m, str) else m
            li, ri, res = mv.get(left), mv.get(right), mv.get(left + right)
            if li is None or ri is None or res is None:
                continue
            merges[(li, ri)] = (rank, res)  # a later duplicate overwrites, as in `tokenizers`
        if getattr(tok, "family", "") == "byte-level-bpe":
            byte_id = {}
            for piece, i in mv.items():
                if len(piece) == 1 and i < v.size and len(v.tokens[i]) == 1:
                    byte_id[v.tokens[i][0]] = i
            def initial(data: bytes) -> list[int] | None:
                out = [byte_id.get(x) for x in data]
                return None if None in out else out  # a byte without a token: the model cannot spell it
            return merges, initial
        if not model.get("byte_fallback"):
            return None
        fallback = [mv.get(f"<0x{x:02X}>") for x in range(256)]

        def initial(data: bytes) -> list[int] | None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return None
            out = []
            for c in text:
                i = mv.get("\u2581" if c == " " else c)
                if i is not None:
                    out.append(i)
                    continue
                for x in c.encode("utf-8"):
                    if fallback[x] is None:
                        return None
                    out.append(fallback[x])
            return out
        return merges, initial
    if enc is not None:
        ranks: dict[bytes, int] = enc._mergeable_ranks
        for t, r in ranks.items():
            for k in range(1, len(t)):
                li, ri = ranks.get(t[:k]), ranks.get(t[k:])
                if li is not None and ri is not None:
                    merges[(li, ri)] = (r, r)
        byte_id = {t[0]: r for t, r in ranks.items() if len(t) == 1}
        if len(byte_id) != 256:
            return None

        def initial(data: bytes) -> list[int] | None:
            return [byte_id[x] for x in data]
        return merges, initial
    return None


def _plain_normalizer(norm: dict | None) -> bool:
    """True for no normalizer or only SentencePiece's space -> `▁` replacement (text kept as is)."""
    if norm is None:
        return True
    if norm.get("type") == "Sequence":
        return all(_plain_normalizer(n) for n in norm.get("normalizers", []))
    return norm.get("type") == "Replace" and norm.get("pattern") == {"String": " "} and norm.get("content") == "\u2581"


def run_bpe(symbols: Sequence[int], merges: dict[tuple[int, int], tuple[int, int]]
            ) -> tuple[list[int], tuple[int, int, int] | None]:
    """Plain BPE: merge the lowest-rank adjacent pair, leftmost first, until none applies.

    Returns (tokens, (rank, left, right) of the last merge or None). The pure-Python reference.
    """
    syms = list(symbols)
    last = None
    while len(syms) > 1:
        best_r, best_i, best_new = None, -1, -1
        for i in range(len(syms) - 1):
            m = merges.get((syms[i], syms[i + 1]))
            if m is not None and (best_r is None or m[0] < best_r):
                best_r, best_i, best_new = m[0], i, m[1]
        if best_r is None:
            break
        last = (best_r, syms[best_i], syms[best_i + 1])
        syms[best_i: best_i + 2] = [best_new]
    return syms, last


def _derive(tok: Tokenizer) -> dict[str, np.ndarray]:
    """Per token: derived (BPE on its bytes gives it back), left, right, rank of its last merge."""
    got = bpe_definition(tok)
    if got is None:
        return {"ok": np.zeros(1, dtype=bool)}
    merges, initial = got
    v = tok.vocab
    n = v.size
    derived = np.zeros(n, dtype=bool)
    left = np.full(n, -1, dtype=np.int64)
    right = np.full(n, -1, dtype=np.int64)
    rank = np.full(n, BASE, dtype=np.int64)
    text = (v.kinds == TokenKind.NORMAL) & np.array([len(t) > 0 for t in v.tokens])
    for i in np.flatnonzero(text).tolist():
        syms = initial(v.tokens[i])
        if not syms:
            continue
        out, last = run_bpe(syms, merges)
        if out != [i]:
            continue
        derived[i] = True
        if last is not None:
            rank[i], left[i], right[i] = last
    # merges grouped by left symbol (CSR), for the per-token masks
    keys = np.array(list(merges.keys()), dtype=np.int64).reshape(-1, 2)
    vals = np.array(list(merges.values()), dtype=np.int64).reshape(-1, 2)
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    keys, vals = keys[order], vals[order]
    # ranks grow up a derivation tree except where a merge outranks one of its parts (3 tokens of Gemma 3):
    # then rank is not the time of the build, and every token built on such a one is left to the encoder
    irregular = np.zeros(n, dtype=bool)
    for i in sorted(np.flatnonzero(derived & (left >= 0)).tolist(), key=lambda t: len(v.tokens[t])):
        li, ri = left[i], right[i]
        irregular[i] = rank[i] <= rank[li] or rank[i] <= rank[ri] or irregular[li] or irregular[ri]
    return {"ok": np.array([True]), "derived": derived, "left": left, "right": right, "rank": rank,
            "irregular": irregular, "m_left": keys[:, 0], "m_right": keys[:, 1], "m_rank": vals[:, 0]}


class BPEPairs:
    """Derivations of every token and the structural pair masks built on them."""

    def __init__(self, tok: Tokenizer, arrays: dict[str, np.ndarray]) -> None:
        self.tok = tok
        self.n = tok.vocab.size
        self.derived = arrays["derived"]
        self.left = arrays["left"]
        self.right = arrays["right"]
        self.rank = arrays["rank"]
        #: tokens whose derivation holds a merge that outranks one of its parts: decide them with the encoder
        self.irregular = arrays["irregular"]
        #: (merges, initial symbols), loaded on first need by the rare pre-token cases
        self.definition: tuple | None = None
        ml, self.m_right, self.m_rank = arrays["m_left"], arrays["m_right"], arrays["m_rank"]
        self.m_start = np.searchsorted(ml, np.arange(self.n + 1))
        # depth-first order of the tree parent(b) = left(b), children by ascending rank
        parent = np.where(self.derived & (self.left >= 0), self.left, -1)
        kids = np.flatnonzero(parent >= 0)
        kids = kids[np.lexsort((self.rank[kids], parent[kids]))]
        self.kid_parent = parent[kids]
        self.kid_rank = self.rank[kids]
        self.kids = kids
        kid_start = np.searchsorted(self.kid_parent, np.arange(self.n + 1))
        tin = np.zeros(self.n, dtype=np.int64)
        tout = np.zeros(self.n, dtype=np.int64)
        clock = 0
        kl, ks = kids.tolist(), kid_start.tolist()
        for root in np.flatnonzero(parent < 0).tolist():
            stack = [(root, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    tout[node] = clock
                    continue
                tin[node] = clock
                clock += 1
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(kl[ks[node]: ks[node + 1]]))
        self.tin, self.tout, self.kid_start = tin, tout, kid_start
        self._key = self.kid_parent * (_INF * 4) + self.kid_rank + 1

    def spine(self, a: int) -> list[int]:
        """a's right spine: a, right(a), right(right(a)), ... down to a base symbol."""
        out = [a]
        while self.right[out[-1]] >= 0:
            out.append(int(self.right[out[-1]]))
        return out

    def follow_mask(self, a: int) -> np.ndarray:
        """Shape (V,) bool: tokens b such that BPE on bytes(a) + bytes(b) gives exactly [a, b].

        Exact for a and b outside `irregular` (for an irregular a or b the answer is not defined here).
        """
        out = np.zeros(self.n, dtype=bool)
        if not self.derived[a]:
            return out
        diff = np.zeros(self.n + 1, dtype=np.int64)
        prev = _INF  # rank of the event that ends the current a-side symbol's time at the boundary
        for x in self.spine(a):
            rho = int(self.rank[x])
            lo, hi = self.m_start[x], self.m_start[x + 1]
            if hi > lo:
                ys, ms = self.m_right[lo:hi], self.m_rank[lo:hi]
                sig = np.where(self.derived[ys], self.rank[ys], BASE)
                live = (sig < prev) & (ms < prev)
                ys, ms = ys[live], ms[live]
                if len(ys):
                    # b == y: the boundary pair (x, y) lasts until a's next event
                    np.add.at(diff, self.tin[ys], 1)
                    np.add.at(diff, self.tin[ys] + 1, -1)
                    # b above y through a child c with rank(c) >= max(rho, m): a suffix of y's children
                    thr = np.maximum(rho, ms)
                    k = np.searchsorted(self._key, ys * (_INF * 4) + thr + 1, side="left")
                    has = k < self.kid_start[ys + 1]
                    if has.any():
                        first = self.kids[k[has]]
                        np.add.at(diff, self.tin[first], 1)
                        np.add.at(diff, self.tout[ys[has]], -1)
            prev = rho
        bad_dfs = np.cumsum(diff[:-1]) > 0
        return self.derived & ~bad_dfs[self.tin]

    def follows(self, a: int, b: int) -> bool:
        """The pair test for one pair by walking the two spines (the scalar twin of `follow_mask`)."""
        if not (self.derived[a] and self.derived[b]):
            return False
        lo_of = self.m_start
        x, y = a, b
        lim_x, lim_y = _INF, _INF  # next event on a's side / on b's side
        while True:
            lo, hi = lo_of[x], lo_of[x + 1]
            j = lo + int(np.searchsorted(self.m_right[lo:hi], y))
            if j < hi and self.m_right[j] == y:
                m = self.m_rank[j]
                if m < lim_x and m <= lim_y:
                    return False
            rx, ry = self.rank[x], self.rank[y]
            if rx == BASE and ry == BASE:
                return True
            if rx > ry:  # the later build is undone first (equal ranks: b's side is later)
                lim_x, x = rx, int(self.right[x])
            else:
                lim_y, y = ry, int(self.left[y])


def bpe_pairs(tok: Tokenizer) -> BPEPairs | None:
    """The structural pair test for `tok`, derivations cached on disk; None where it does not apply."""
    key = json.dumps([tok.fingerprint, tok.vocab.fingerprint, _VERSION])
    arrays = load_arrays("bpe-derivations", key)
    if arrays is None:
        arrays = _derive(tok)
        if not bool(arrays["ok"][0]):
            return None
        store_arrays("bpe-derivations", key, arrays)
    return BPEPairs(tok, arrays)
