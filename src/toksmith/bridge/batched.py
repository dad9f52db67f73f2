"""Exact byte-level scoring of a known text in a few large tree-attention forwards (`ByteLM.score`).

`ByteState` advances byte by byte and runs one forward per byte. When the whole text is known in
advance, every anchor it will ever need is known too, so the same quantities can be computed in
three phases per window of text:

A. structure (no forwards): replay `ByteState.advance` over the text (`_Candidates`). An anchor ending at
   byte j can spawn a child (anchor, t) at byte n for every token t whose bytes are exactly x[j:n] and
   whose pair with the anchor `ByteLM.mask_for` may admit. It cannot see the model's probabilities yet,
   so it over-approximates: a pair the exact pair test allows becomes a candidate node now; a pair only
   the single-token rule of `mask_for`'s unchecked tail (`tail_mass`) allows is *deferred*: recorded,
   and grown into a node with its subtree only if phase B finds that the parent gives it mass.
   Expanding those at once would be exponential: on Gemma 3 "\n" + "\n" is not canonical ("\n\n" is
   one token) but passes the single-token rule, so every paragraph break doubled all candidate paths
   after it (229,174 candidates on 1,500 bytes of English, which need about 1,500 nodes; many GB at 3,000).
B. forwards: the candidate nodes form a token tree; they run in topological order, in chunks of a few
   hundred, with tree attention over one KV cache (`TokenTree.extend`). Each node's log-probabilities
   are reduced at once, with the same `mask_for` and cumulative sums as `ByteState`, to the few numbers
   phase C needs (the cover mass of x[j:m] for every m the node reaches, the mass of tokens strictly
   extending it, P(EOS)), then dropped. A child is real only when its parent is real and the parent's
   mass on the child's token is positive, exactly the condition under which `advance` creates it;
   candidates that are not real are skipped (not forwarded) and contribute nothing. A real child that
   is neither a candidate nor deferred raises `RuntimeError` (the superset property, checked at run time).
C. numpy: per byte position n, log P(x[n] | x[:n]) = logsumexp over anchors of (anchor mass + log of
   the mass of tokens extending x[j:n+1]) minus the log of the same sum over all 256 next bytes plus the
   end-of-text term, term for term what `ByteState.distribution` sums.

Long texts slide a window with the policy of token-level scoring (`lm.scoring.score_text`, the same
`window` and `stride` in tokens): the text is encoded canonically, windows of `window` tokens move by
`stride` tokens, and each token is scored by exactly one window, with at least `window - stride`
tokens of context. A window after the first reads BOS and its context's canonical tokens (the *head*,
the very tokens token-level scoring conditions on; from a UTF-8 character boundary) in one forward, one
position per token, and branches only after them: its bytes are scored by the byte-level LM conditioned
on the head, whose next token must pair canonically with the head's last
(`ByteLM.start_after_tokens(junction=True)`, the incremental oracle of the tests). Re-reading the context
byte by byte instead cost one position per byte of context, over half of a long text's forwards. Windows
cut the text at token boundaries of its canonical encoding; a text that fits one window is scored
exactly as `ByteState` from BOS would score it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from toksmith import defaults
from toksmith.bridge.canonical import START_CTX, Context
from toksmith.bridge.tree import TokenTree
from toksmith.errors import TokenPathLimitError
from toksmith.lm.scoring import window_plan
from toksmith.utf8 import pending_char, valid_utf8

if TYPE_CHECKING:
    from toksmith.bridge.bytelm import ByteLM
    from toksmith.bridge.generate import ByteScore

__all__ = ["ByteWindow", "byte_windows", "score_text_bytes"]

#: log-probabilities held at once per forward chunk, at 8 bytes each (nodes per chunk = this / (8 V)).
CHUNK_BYTES = 192 * 2**20
#: most nodes per forward chunk: tree attention computes the masked keys too, and a chunk's own nodes are
#: keys its members mostly cannot see (SmolLM2, 5,000 bytes, CPU: 4.25x token-level cost at 128 nodes,
#: 4.8x at 64, 5.0x at 512; /tmp probe, benchmarks/RESULTS.md session 7)
CHUNK_NODES = 128
#: deepest byte position of the column table used for full next-byte distributions.
_MAX_COLUMNS = 32


@dataclass(frozen=True)
class ByteWindow:
    """One window of the text: reads BOS and `head` (the canonical tokens of bytes [context, first)),
    then reports the bytes [first, end)."""

    context: int
    first: int
    end: int
    head: tuple[int, ...] = ()


def byte_windows(blm: ByteLM, data: bytes, *, window: int = defaults.WINDOW,
                 stride: int = defaults.STRIDE) -> list[ByteWindow]:
    """Byte windows that follow the token-level sliding windows of `data`'s canonical encoding.

    A text that is not valid UTF-8, or whose tokens do not spell it byte for byte, is one window.
    """
    if not data:
        window_plan(1, window, stride)  # checks the options
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [ByteWindow(0, 0, len(data))]
    ids = blm.tok.encode(text)
    offs = np.concatenate([[0], np.cumsum([len(blm.tok.vocab.tokens[i]) for i in ids])]).astype(np.int64)
    if int(offs[-1]) != len(data) or any(offs[1:] == offs[:-1]):
        return [ByteWindow(0, 0, len(data))]
    out: list[ByteWindow] = []
    for lo, hi, first in window_plan(len(ids) + 1, window, stride):  # token-level windows run over BOS + ids
        c = max(lo, 1) - 1
        while c > 0 and 0x80 <= data[int(offs[c])] < 0xC0:
            c -= 1
        f = lo + first - 1
        out.append(ByteWindow(int(offs[c]), int(offs[f]), int(offs[hi - 1]), tuple(ids[c:f])))
    return out


@dataclass
class _WindowResult:
    logprobs: np.ndarray
    log_unnormalised: np.ndarray
    normalisers: np.ndarray
    distributions: np.ndarray | None
    end_logprob: float | None
    end_log_unnormalised: float | None
    end_normaliser: float | None
    end_distribution: np.ndarray | None
    forwards: int
    nodes: int


class _Columns:
    """Byte d of every byte-sorted token (-1 past its end), for vectorised next-byte bounds."""

    def __init__(self, blm: ByteLM) -> None:
        depth = min(blm.max_len, _MAX_COLUMNS)
        self.depth = depth
        cols = np.full((len(blm.sorted_bytes), depth), -1, dtype=np.int16)
        for k, b in enumerate(blm.sorted_bytes):
            head = b[:depth]
            cols[k, : len(head)] = np.frombuffer(head, dtype=np.uint8)
        self.cols = np.ascontiguousarray(cols.T)
        self.byte_values = np.arange(256)


def _columns(blm: ByteLM) -> _Columns:
    got = getattr(blm, "_columns", None)
    if got is None:
        got = _Columns(blm)
        blm._columns = got
    return got


def _bounds(blm: ByteLM, cols: _Columns, s: bytes, lo: int, hi: int) -> np.ndarray:
    """Shape (257,): [first index of s+b in [lo, hi) for b in 0..255] + [hi] (as ByteState computes)."""
    d = len(s)
    if d < cols.depth:
        b = lo + np.searchsorted(cols.cols[d, lo:hi], cols.byte_values, side="left")
    else:
        import bisect

        b = np.array([bisect.bisect_left(blm.sorted_bytes, s + bytes([v]), lo, hi) for v in range(256)])
    return np.append(b, hi)


class _Candidates:
    """Phase A: the nodes (parent, token, end) that can be real, in topological order, with lazy growth.

    `ByteLM.mask_for(last, pre, logp)` admits t after `last` by the structural pair test where it decides
    the pair, by the encoder for the undecided tokens it checks (the most probable ones), and by the
    single-token rule (`start_mask`) for the unchecked tail. So a child can be real only if the exact
    pair test allows it, or t passes the single-token rule. The first kind is expanded at once. The
    second kind (exact test False, single-token rule True: a pair only a low-probability tail admits)
    is deferred: kept as (node, t) -> end and grown by `child` with its whole subtree the first time phase
    B finds it real. Expanding it at once duplicated every candidate path after each such pair. Every
    child `advance` can create is a node or deferred, as before; only the order of work changed.
    """

    def __init__(self, blm: ByteLM, x: bytes, last_pos: int, head: tuple[int, ...] = ()) -> None:
        self.blm, self.x, self.last_pos = blm, x, last_pos
        self.start = blm.canon.start_mask()
        self.parent: list[int] = [-1]
        self.token: list[int] = [blm.lm.bos_id]
        self.end: list[int] = [0]
        self.pre: list[bytes] = [b""]
        self.ctx: list[Context] = [START_CTX]  # each node's pre-token states (`Canonicality.context_after`)
        self.depth: list[int] = [0]
        self.real: list[bool] = [False]
        self.logmass: list[float] = [-math.inf]
        self.kids: dict[tuple[int, int], int] = {}
        #: (node, t) -> end byte, for pairs only the single-token rule admits (grown on demand)
        self.deferred: dict[tuple[int, int], int] = {}
        self.reach = 0  # deepest end byte of any node so far
        for t in head:  # a chain of fixed tokens; the paths branch only after it
            self._add(len(self.parent) - 1, t, self.end[-1] + len(blm.tok.vocab.tokens[t]))
        #: the node every path branches from (BOS, or the last head token)
        self.root = len(head)
        self._grow(self.root)

    def __len__(self) -> int:
        return len(self.parent)

    def _add(self, i: int, t: int, n: int) -> int:
        k = len(self.parent)
        self.kids[(i, t)] = k
        self.parent.append(i)
        self.token.append(t)
        self.end.append(n)
        self.pre.append(pending_char(self.x[: self.end[i]]) if i else b"")
        self.ctx.append(self.blm.canon.context_after(self.ctx[i], self.token[i], self.pre[i], t) if i else START_CTX)
        self.depth.append(self.depth[i] + 1)
        self.real.append(False)
        self.logmass.append(-math.inf)
        self.reach = max(self.reach, n)
        check_paths(self.blm, k + len(self.deferred), self.reach)
        return k

    def _grow(self, i: int) -> None:
        """Expand nodes i, i+1, ... (and the children they add) until none is left."""
        blm, x = self.blm, self.x
        canon = blm.canon
        while i < len(self.parent):
            e = self.end[i]
            last = None if i == 0 else self.token[i]
            found = blm.spelled(x, e, self.last_pos)  # (t, end) of tokens spelling x[e:end]
            if last is None:
                for t, n in found:
                    if self.start[t]:
                        self._add(i, t, n)
            elif found:
                pre = self.pre[i]
                decided = canon.decided(last, pre)
                ids = np.array([t for t, _ in found], dtype=np.int64)
                # structural answers where decided, the encoder (cached per context) for the rest
                ok, _ = canon.context_mask(last, pre, ids[~decided[ids]], self.ctx[i])
                for t, n in found:
                    if ok[t]:
                        self._add(i, t, n)
                    elif self.start[t] and not decided[t]:
                        self.deferred[(i, t)] = n
            i += 1

    def child(self, node: int, t: int) -> int | None:
        """The node for (node, t), grown now if it was deferred; None if it is not a candidate at all."""
        got = self.kids.get((node, t))
        if got is None:
            n = self.deferred.pop((node, t), None)
            if n is not None:
                got = self._add(node, t, n)
                self._grow(got)
        return got


def check_paths(blm: ByteLM, paths: int, reach: int) -> None:
    """Raise `TokenPathLimitError` when `paths` token paths by byte `reach` exceed the per-byte bound.

    Normal text needs a few paths per byte; whitespace runs that a pre-tokenizer's lookahead can split
    several ways (SmolLM2 on indented lines) multiply them with every line, so this stops the work early
    with a clear error instead of filling memory (`defaults.BYTE_LEVEL_MAX_PATHS_PER_BYTE`).
    """
    if paths > defaults.BYTE_LEVEL_MAX_PATHS_PER_BYTE * max(reach, 64):
        raise TokenPathLimitError(paths, reach, blm.name)


def _score_window(blm: ByteLM, x: bytes, first: int, *, with_end: bool, full: bool,
                  chunk: int | None, head: tuple[int, ...] = ()) -> _WindowResult:
    """Per-byte results for positions [first, len(x)) of `x` (plus the end if asked), scored from BOS, or
    after the fixed tokens `head` (the canonical tokens of x's first bytes, up to `first` at most)."""
    order, sb, max_len = blm.order, blm.sorted_bytes, blm.max_len
    n_x = len(x)
    last_pos = n_x if with_end else n_x - 1  # deepest prefix whose distribution is needed
    # --- phase A: candidate nodes (parent, token, end) in topological order ---------------------------
    cands = _Candidates(blm, x, last_pos, head)
    parent, token, end, pre, depth = cands.parent, cands.token, cands.end, cands.pre, cands.depth
    root = cands.root
    real, logmass = cands.real, cands.logmass
    # --- phase B: forwards in chunks, each node reduced at once ----------------------------------------
    n_pos = last_pos - first + 1
    num = np.full(n_pos, -np.inf)
    den = np.full(n_pos, -np.inf)
    mass = np.full(n_pos, -np.inf)
    eot = np.full(n_pos, -np.inf)
    per_byte = np.full((n_pos, 256), -np.inf) if full else None
    cols = _columns(blm) if full else None
    eot_nodes: list[tuple[int, int, float]] = []
    real[root], logmass[root] = True, 0.0
    rows_i: list[int] = []
    rows_v: list[float] = []
    num_i: list[int] = []
    num_v: list[float] = []
    mass_i: list[int] = []
    mass_v: list[float] = []
    full_i: list[int] = []
    full_v: list[np.ndarray] = []

    def reduce(node: int, logp: np.ndarray, p: np.ndarray, total: float) -> None:
        e, lm0 = end[node], float(logmass[node])
        last = None if node == 0 else token[node]
        mask = blm.mask_for(last, pre[node], logp, total, cands.ctx[node])
        if full:  # every next-byte distribution reads the whole byte-sorted vocabulary
            base = 0
            cum = np.concatenate([[0.0], np.cumsum(p[order] * mask[order], dtype=np.float64)])
            whole = float(cum[-1])
        else:
            # only ranges inside the next byte's range are read (every longer prefix's range nests in it), and
            # the whole masked mass: gather and sum those alone; cum[i - base] is the mass of sorted [base, i)
            base, top = blm.prefix_range(x[e: e + 1]) if e < n_x else (0, 0)
            idx = order[base:top]
            cum = np.concatenate([[0.0], np.cumsum(p[idx] * mask[idx], dtype=np.float64)])
            whole = float(np.sum(p, dtype=np.float64, where=mask)) if e >= first else 0.0
        if e >= first:
            eot_nodes.append((node, e, lm0 + float(logp[blm.eos])))
            if whole > 0:
                rows_i.append(e - first)
                rows_v.append(lm0 + math.log(whole))
            if full:
                full_i.append(e - first)
                full_v.append(lm0 + _logs(np.diff(cum[_bounds(blm, cols, b"", 0, len(sb))])))
        for n in range(e + 1, min(e + max_len, n_x) + 1):
            s = x[e:n]
            lo, hi = blm.prefix_range(s)
            if hi <= lo:
                break
            m = float(cum[hi - base] - cum[lo - base])
            if m <= 0:
                break
            lm = lm0 + math.log(m)
            if n - 1 >= first:
                num_i.append(n - 1 - first)
                num_v.append(lm)
            if n > last_pos:
                break
            b0 = lo
            while b0 < hi and len(sb[b0]) == n - e:
                if cum[b0 + 1 - base] - cum[b0 - base] > 0:
                    t = int(order[b0])
                    child = cands.child(node, t)  # grows a deferred child (and its subtree) on demand
                    if child is None:
                        raise RuntimeError(f"batched scoring missed a child (token {t} after node {node}); "
                                           "the candidate test is not a superset of mask_for")
                    real[child] = True
                    logmass[child] = lm0 + float(logp[t])
                b0 += 1
            if n >= first:
                mass_i.append(n - first)
                mass_v.append(lm)
                ext = float(cum[hi - base] - cum[b0 - base])
                if ext > 0:
                    rows_i.append(n - first)
                    rows_v.append(lm0 + math.log(ext))
                if full:
                    full_i.append(n - first)
                    full_v.append(lm0 + _logs(np.diff(cum[_bounds(blm, cols, s, lo, hi)])))

    tree = TokenTree(blm.lm)
    lp0 = tree.root_logp
    if root:  # the head in one forward, like token-level context; only its last row is needed
        lp0 = tree.extend([(i, token[i + 1]) for i in range(root)], last_only=True)[-1]
    p0 = np.exp(lp0, dtype=np.float64)
    reduce(root, lp0, p0, float(p0.sum(dtype=np.float64)))
    step = chunk or max(8, min(CHUNK_NODES, CHUNK_BYTES // (8 * blm.tok.vocab.size)))
    tree_id = {i: i for i in range(root + 1)}
    nxt = root + 1
    while nxt < len(parent):  # grows while deferred children turn out real
        batch: list[int] = []
        pending: set[int] = set()
        while nxt < len(parent) and len(batch) < step:
            p = parent[nxt]
            if (p in tree_id and real[nxt]) or p in pending:  # real, or possibly real (parent in batch)
                batch.append(nxt)
                pending.add(nxt)
            nxt += 1
        if not batch:
            continue
        tree_id = _drop_dead_branches(tree, tree_id, parent, batch, range(nxt, len(parent)))
        base = len(tree)
        for k, node in enumerate(batch):
            tree_id[node] = base + k
        logps, probs = tree.extend([(tree_id[parent[node]], token[node]) for node in batch], probs=True)
        totals = probs.sum(axis=1, dtype=np.float64)
        for k, node in enumerate(batch):
            if real[node]:
                reduce(node, logps[k], probs[k], float(totals[k]))
        del logps, probs
    # --- end-of-text terms: anchors whose tokens are the canonical encoding of x[:e] --------------------
    encs = prefix_encodings(blm, x, sorted({e for _, e, _ in eot_nodes}))
    on_e: dict[int, bool] = {0: True}  # node -> its tokens are a prefix of encs' shared head
    for node, e, v in eot_nodes:
        got = encs.get(e)
        if got is not None and _ends_with(parent, token, depth, node, got, on_e):
            eot[e - first] = np.logaddexp(eot[e - first], v)
    # --- phase C: sums per position ----------------------------------------------------------------------
    for idx, vals, acc in ((rows_i, rows_v, den), (num_i, num_v, num), (mass_i, mass_v, mass)):
        if idx:
            np.logaddexp.at(acc, np.asarray(idx), np.asarray(vals))
    if full and full_i:
        np.logaddexp.at(per_byte, np.asarray(full_i), np.stack(full_v))
    total = np.logaddexp(den, eot)
    log_mass = mass.copy()
    if first == end[root]:  # the state is conditioned on x[:first]: its cover mass is 1
        log_mass[0] = 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.exp(total - log_mass)
    k = n_x - first  # positions with a byte
    res = _WindowResult(
        logprobs=num[:k] - total[:k], log_unnormalised=num[:k] - log_mass[:k], normalisers=norms[:k],
        distributions=(np.concatenate([per_byte[:k], eot[:k, None]], axis=1) - total[:k, None]) if full else None,
        end_logprob=None, end_log_unnormalised=None, end_normaliser=None, end_distribution=None,
        forwards=tree.forwards, nodes=tree.positions)
    if with_end:
        res.end_logprob = float(eot[-1] - total[-1])
        res.end_log_unnormalised = float(eot[-1] - log_mass[-1])
        res.end_normaliser = float(norms[-1])
        if full:
            res.end_distribution = np.append(per_byte[-1], eot[-1]) - total[-1]
    return res


def _drop_dead_branches(tree: TokenTree, tree_id: dict[int, int], parent: list[int], batch: list[int],
                        later: range) -> dict[int, int]:
    """Compact the KV cache to the ancestors of the nodes still to run; returns the remapped ids.

    Every node attends to all the cache's keys (masked to its ancestors), so branches no later node
    descends from would cost attention for nothing: on a full window they are most of the cache.
    """
    keep = {tree_id[p] for p in (parent[c] for c in batch) if p in tree_id}
    keep.update(tree_id[p] for p in (parent[c] for c in later) if p in tree_id)
    if 2 * len(keep) > len(tree):
        return tree_id  # cheap test first: ancestors only add to keep, so dropping little is not worth it
    remap = tree.compact(sorted(keep))
    return {node: remap[t] for node, t in tree_id.items() if t in remap}


def _logs(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(v, 0.0))


#: bytes kept between a pre-token cut and the end of a prefix (the regexes look ahead one character)
_CUT_MARGIN = 8


def _local_pretokens(tok) -> bool:
    """Whether encode(text) is BPE over regex pre-tokens of the raw text (byte-level BPE, tiktoken)."""
    inner = getattr(tok, "_tok", None)
    if inner is not None and getattr(inner, "normalizer", None) is not None:
        return False
    return tok.pretokenize("a b") is not None and tok.encode_token_bytes(b"a") is not None


def prefix_encodings(blm: ByteLM, x: bytes, ends: list[int]) -> dict[int, tuple[list[int], list[int]]]:
    """The canonical encoding of x[:e] for every e in `ends` where x[:e] is valid UTF-8, as (head, tail).

    head + tail == encode(x[:e]); head is a prefix of encode(x) shared by many e. For tokenizers that
    run BPE on regex pre-tokens of the raw text, a pre-token boundary c of x at least `_CUT_MARGIN` bytes
    before e is also one of x[:e] (the regexes look ahead one character and never behind), so
    encode(x[:e]) = encode(x)[:k] + encode(x[c:e]) with c the end of token k: only short tails are
    encoded, instead of every prefix whole (quadratic in the window). Other tokenizers encode x[:e].
    """
    tok = blm.tok
    ok = [e for e in ends if valid_utf8(x[:e])]
    cuts = np.zeros(1, dtype=np.int64)
    full: list[int] = []
    if ok and valid_utf8(x) and _local_pretokens(tok):
        text = x.decode("utf-8")
        pieces = tok.pretokenize(text)
        full = tok.encode(text)
        offs = np.cumsum([0] + [len(tok.vocab.tokens[i]) for i in full])
        bounds = np.cumsum([0] + [len(p.encode("utf-8")) for p in pieces])
        if "".join(pieces) == text and int(offs[-1]) == len(x):
            cuts = np.intersect1d(bounds, offs)  # pre-token boundaries (always token boundaries too)
            tok_at = {int(o): k for k, o in enumerate(offs.tolist())}
    at = [int(cuts[np.searchsorted(cuts, max(e - _CUT_MARGIN, 0), side="right") - 1]) for e in ok]
    tails = tok.encode_batch([x[c:e].decode("utf-8") for c, e in zip(at, ok, strict=True)])
    return {e: (full[: tok_at[c]] if c else [], tail) for c, e, tail in zip(at, ok, tails, strict=True)}


def _ends_with(parent: list[int], token: list[int], depth: list[int], node: int,
               enc: tuple[list[int], list[int]], on_e: dict[int, bool]) -> bool:
    """Whether the node's tokens are head + tail (walks up len(tail) steps, then checks the head)."""
    head, tail = enc
    if depth[node] != len(head) + len(tail):
        return False
    for t in reversed(tail):
        if token[node] != t:
            return False
        node = parent[node]
    return _is_head(parent, token, depth, node, head, on_e)


def _is_head(parent: list[int], token: list[int], depth: list[int], node: int, head: list[int],
             on_e: dict[int, bool]) -> bool:
    """Whether the node's tokens are exactly `head` (memoised per node: heads are prefixes of one list)."""
    stack = []
    while node not in on_e:
        stack.append(node)
        node = parent[node]
    good = on_e[node]
    for n in reversed(stack):
        good = good and depth[n] <= len(head) and head[depth[n] - 1] == token[n]
        on_e[n] = good
    return on_e[stack[0]] if stack else good


def score_text_bytes(blm: ByteLM, text: bytes, *, prompt: bytes = b"", window: int = defaults.WINDOW,
                     stride: int = defaults.STRIDE, with_end: bool = False, keep_distributions: bool = False,
                     chunk: int | None = None, progress: Callable[[int], None] | None = None) -> ByteScore:
    """`ByteLM.score`: log-probability of every byte of `text` after `prompt`, in batched forwards.

    Equal (up to float rounding) to advancing `blm.start(prompt)` through `text` when prompt + text fits
    one window; longer texts slide windows as the module docstring says. `chunk` overrides the nodes
    per forward (default: `CHUNK_NODES`, fewer where `CHUNK_BYTES` of log-probabilities say so).
    """
    from toksmith.bridge.generate import ByteScore

    t0 = time.perf_counter()
    data = prompt + text
    n0 = len(prompt)
    lps: list[np.ndarray] = []
    uns: list[np.ndarray] = []
    norms: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    end = end_un = end_norm = end_dist = None
    forwards = positions = 0
    wins = byte_windows(blm, data, window=window, stride=stride)
    if not wins and with_end:
        wins = [ByteWindow(0, 0, 0)]
    for wi, w in enumerate(wins):
        first = max(w.first, n0)
        last = wi == len(wins) - 1
        if w.end <= first and not (last and with_end):
            continue
        r = _score_window(blm, data[w.context: w.end], first - w.context, with_end=with_end and last,
                          full=keep_distributions, chunk=chunk, head=w.head)
        forwards += r.forwards
        positions += r.nodes
        lps.append(r.logprobs)
        uns.append(r.log_unnormalised)
        norms.append(r.normalisers)
        if keep_distributions:
            dists.append(r.distributions)
        if last and with_end:
            end, end_un, end_norm, end_dist = r.end_logprob, r.end_log_unnormalised, r.end_normaliser, \
                r.end_distribution
        if progress:
            progress(w.end - first)
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0))  # noqa: E731
    un = cat(uns).tolist()
    nm = cat(norms).tolist()
    if with_end:
        un.append(end_un)
        nm.append(end_norm)
    sc = ByteScore(model=blm.name, bytes=len(text), logprobs=cat(lps).tolist(), log_unnormalised=un,
                   end_logprob=end, normalisers=nm, forwards=forwards, positions=positions,
                   seconds=time.perf_counter() - t0,
                   distributions=np.concatenate(dists) if keep_distributions and dists else None)
    sc.end_distribution = end_dist
    return sc
