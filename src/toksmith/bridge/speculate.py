"""Speculative byte steps for `ByteState`: the nodes a drafted run of bytes will need, in one forward.

`ByteState.advance` runs one forward per byte: the anchors that end at the new byte. When the next
bytes can be guessed (a draft: the rest of the most probable token in the cover, or the known rest of a
prompt), every node those bytes can create is known before any of them is evaluated, so one tree
forward can run them all (`ByteState.prepare`). `advance` then finds each new anchor's log-probabilities
in that forward's results instead of running its own. The draft only decides which forwards run
early: every distribution is still computed by `ByteState.distribution` from the model's own
log-probabilities, so generation with drafts is byte for byte the generation without them.

The nodes are an over-approximation, as in batched scoring (`bridge.batched._Candidates`): children of
an evaluated anchor are exact (its masks are known); children of a node of the same forward are every
token the exact pair test admits, or that the single-token rule could admit through `mask_for`'s
unchecked tail. A child `advance` needs that is not among them is simply evaluated later (one more
forward), so the over-approximation affects speed, never the numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toksmith.bridge.canonical import Context
from toksmith.utf8 import pending_char

if TYPE_CHECKING:
    from toksmith.bridge.bytelm import ByteState, _Anchor

__all__ = ["MAX_DRAFT_NODES", "draft_bytes", "draft_nodes"]

#: nodes one speculative forward may hold; a longer draft is cut until its nodes fit.
MAX_DRAFT_NODES = 256


def draft_bytes(st: ByteState) -> bytes:
    """The rest of the most probable token in the cover of `st.prefix` (b"" when none extends past it).

    Uses only evaluated anchors (no forward): over every anchor and every canonical token that starts
    with the anchor's share of the prefix and goes past its end, the one of largest mass
    P(anchor) P(token | anchor); the draft is that token's bytes after the prefix.
    """
    blm, x = st.blm, st.prefix
    sb = blm.sorted_bytes
    best, out = -np.inf, b""
    for a in st.anchors:
        s = x[a.end:]
        lo, hi = blm.prefix_range(s)
        k0 = lo
        while k0 < hi and len(sb[k0]) == len(s):
            k0 += 1
        if k0 >= hi:
            continue
        q = np.diff(a.cum[k0: hi + 1])
        j = int(np.argmax(q))
        if q[j] <= 0:
            continue
        v = a.logmass + float(np.log(q[j]))
        if v > best:
            best, out = v, sb[k0 + j][len(s):]
    return out


def draft_nodes(st: ByteState, pending: list[tuple[_Anchor, int]], draft: bytes) -> list[tuple[int, int]]:
    """(parent node, token) for one `TokenTree.extend`: the `pending` children first, in order, then
    every node the bytes `draft` after `st.prefix` can create (parents given as future ids of the batch)."""
    blm = st.blm
    canon = blm.canon
    start = canon.start_mask()
    x = st.prefix
    n = len(x)
    y = x + draft
    base = len(st.tree)
    items: list[tuple[int, int]] = []
    # nodes of this batch whose children are over-approximated: (id, end, last token, pre, ctx)
    frontier: list[tuple[int, int, int, bytes, Context]] = []

    def add(parent: int, t: int, end: int, parent_end: int, ctx: Context) -> None:
        frontier.append((base + len(items), end, t, pending_char(y[:parent_end]), ctx))
        items.append((parent, t))

    for a, t in pending:
        add(a.node, t, n, a.end, canon.context_after(a.ctx, a.last, a.pre, t))
    for a in st.anchors:  # evaluated: their children along the draft are exactly those `advance` makes
        for m in range(n + 1, min(a.end + blm.max_len, len(y)) + 1):
            s = y[a.end:m]
            lo, hi = blm.prefix_range(s)
            if hi <= lo or a.cum[hi] - a.cum[lo] <= 0:
                break
            for t in st.admitted(a, s, lo, hi):
                add(a.node, t, m, a.end, canon.context_after(a.ctx, a.last, a.pre, t))
    i = 0
    while i < len(frontier):
        ref, e, last, pre, ctx = frontier[i]
        i += 1
        found = blm.spelled(y, e, len(y))
        if not found:
            continue
        decided = canon.decided(last, pre)
        ids = np.array([t for t, _ in found], dtype=np.int64)
        ok, _ = canon.context_mask(last, pre, ids[~decided[ids]], ctx)
        for t, m in found:
            if ok[t] or (start[t] and not decided[t]):
                add(ref, t, m, e, canon.context_after(ctx, last, pre, t))
        if len(items) > MAX_DRAFT_NODES:
            break
    return items
