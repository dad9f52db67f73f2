"""Draft trees: a recycled template filled from M and a suffix chain, merged into one token trie.

Both drafters propose continuations of the same root (the last committed token). Inserting them into
one trie shares their common prefixes, so a branch both agree on costs one node, and the verifier
checks every proposal in the same forward pass.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from toksmith._native import draft_ext
from toksmith.decoding.adjacency import AdjacencyMatrix
from toksmith.decoding.templates import Template

__all__ = ["DraftTree", "FROM_RECYCLE", "FROM_SUFFIX", "build_draft"]

FROM_RECYCLE = 1
FROM_SUFFIX = 2


@dataclass
class DraftTree:
    """Tokens with parents (node 0 = root, parents before children), depths and proposer bits."""

    tokens: list[int]
    parents: list[int] = field(default_factory=lambda: [-1])
    depths: list[int] = field(default_factory=lambda: [0])
    sources: list[int] = field(default_factory=lambda: [0])
    children: list[dict[int, int]] = field(default_factory=lambda: [{}])
    #: each node's estimated chance of acceptance where the drafter gave one (a grown node's path
    #: probability from M, a chain node's match score), else 0.0; the root's is 1.0
    scores: list[float] = field(default_factory=lambda: [1.0])

    def __len__(self) -> int:
        return len(self.tokens)

    def add(self, parent: int, token: int, source: int) -> int:
        """Child `token` of `parent` (reused if present); returns its node id."""
        node = self.children[parent].get(token)
        if node is not None:
            self.sources[node] |= source
            return node
        node = len(self.tokens)
        self.tokens.append(int(token))
        self.parents.append(parent)
        self.depths.append(self.depths[parent] + 1)
        self.sources.append(source)
        self.scores.append(0.0)
        self.children.append({})
        self.children[parent][int(token)] = node
        return node

    def subtree(self, nodes: Sequence[int]) -> DraftTree:
        """The tree of `nodes` (the root and nodes whose parents are among them), renumbered in their order
        here, so parents still come first; tokens, sources and scores carried over."""
        keep = sorted(set(nodes))
        if not keep or keep[0] != 0:
            raise ValueError("a subtree keeps the root (node 0)")
        new = {old: i for i, old in enumerate(keep)}
        out = DraftTree(tokens=[self.tokens[0]], sources=[self.sources[0]], scores=[self.scores[0]])
        for old in keep[1:]:
            parent = new.get(self.parents[old])
            if parent is None:
                raise ValueError(f"node {old} is kept without its parent {self.parents[old]}")
            node = out.add(parent, self.tokens[old], self.sources[old])
            out.scores[node] = self.scores[old]
        return out

    def ancestors(self) -> np.ndarray:
        """(n, n) bool: row i marks i and its ancestors (the tree part of the attention mask)."""
        n = len(self.tokens)
        anc = np.zeros((n, n), dtype=bool)
        for i in range(n):
            p = self.parents[i]
            if p >= 0:
                anc[i] = anc[p]
            anc[i, i] = True
        return anc


def _context(tree: DraftTree, node: int, prev: int, prev2: int) -> tuple[int, int]:
    """The two tokens before `node`'s token (its parent's and grandparent's; above the root: prev, prev2)."""
    up = tree.parents[node]
    if up < 0:
        return prev, prev2
    upup = tree.parents[up]
    return tree.tokens[up], tree.tokens[upup] if upup >= 0 else prev


def _fill(tree: DraftTree, at: int, template: Template, m: AdjacencyMatrix, prev: int, prev2: int = -1) -> None:
    """Hang `template` under node `at`, each node's token looked up in M (ranks of its parent's row).

    The row of a node is its token's (or, for an order-2 M, its (parent token, token) pair's; order 3:
    its triple's); `prev` and `prev2` are the tokens before the root.
    """
    tokens = tree.tokens
    rows: dict[int, np.ndarray] = {}
    node_of = [at] * len(template.parents)
    for i in range(1, len(template.parents)):
        parent = node_of[template.parents[i]]
        row = rows.get(parent)
        if row is None:
            row = rows[parent] = m.successors(tokens[parent], *_context(tree, parent, prev, prev2))
        node_of[i] = tree.add(parent, int(row[template.ranks[i]]), FROM_RECYCLE)


def _grow(tree: DraftTree, seeds: dict[int, float], budget: int, m: AdjacencyMatrix, prev: int,
          prev2: int = -1) -> None:
    """Add `budget` nodes under the `seeds` (node -> score), best first by path probability from M.

    Runs the compiled loop (`toksmith._native._draft`), which gives the tree `_grow_reference` gives,
    node for node, in about half the time (benchmarks/draft_speed.py: 0.25 against 0.53 ms a 128-node
    tree); the reference runs where the extension is not built.
    """
    if draft_ext is None:
        _grow_reference(tree, seeds, budget, m, prev, prev2)
        return
    mat = draft_ext.Matrix(m.table, m.probs, m.order, m.pairs, m.pair_probs, m.triples, m.triple_probs)
    n0 = len(tree)
    tree.tokens, tree.parents, tree.sources, tree.scores = draft_ext.grow(
        tree.tokens, tree.parents, tree.sources, tree.scores, list(seeds), list(seeds.values()), budget, prev, prev2,
        FROM_RECYCLE, mat)
    depths, children, parents, tokens = tree.depths, tree.children, tree.parents, tree.tokens
    for node in range(n0, len(tokens)):
        parent = parents[node]
        depths.append(depths[parent] + 1)
        children.append({})
        children[parent][tokens[node]] = node


def _grow_reference(tree: DraftTree, seeds: dict[int, float], budget: int, m: AdjacencyMatrix, prev: int,
                    prev2: int = -1) -> None:
    """`_grow` in Python: the reference the compiled loop is tested against.

    A node's score is its parent's times the probability M stored for it in the parent's row (looked
    up as `_fill` does); candidates are the next sibling and the first child of every added node
    (rows are sorted, so no other candidate can score higher). A candidate already in the tree (a
    suffix-chain node) costs no budget; it keeps the higher of its two scores. Ties go to the
    candidate queued first, so the tree is deterministic.
    """
    tokens = tree.tokens
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    heap: list[tuple[float, int, int, int]] = []
    offered: dict[tuple[int, int], float] = {}
    base = dict(seeds)
    seq = 0

    def offer(node: int, rank: int) -> None:
        nonlocal seq
        row = rows.get(node)
        if row is None:
            row = rows[node] = m.successors_probs(tokens[node], *_context(tree, node, prev, prev2))
        if rank < len(row[0]):
            score = base[node] * float(row[1][rank])
            if score > offered.get((node, rank), -1.0):
                offered[node, rank] = score
                heapq.heappush(heap, (-score, seq, node, rank))
                seq += 1

    for node in seeds:
        offer(node, 0)
    added = 0
    while heap and added < budget:
        neg, _, parent, rank = heapq.heappop(heap)
        if -neg < offered[parent, rank]:
            continue  # a stale entry: the same candidate was offered again with a higher score
        size = len(tree)
        node = tree.add(parent, int(rows[parent][0][rank]), FROM_RECYCLE)
        added += len(tree) > size
        offer(parent, rank + 1)
        if -neg > base.get(node, -1.0):
            base[node] = tree.scores[node] = -neg
            offer(node, 0)


def build_draft(root: int, *, template: Template | None, adjacency: AdjacencyMatrix | None,
                chain: Sequence[int] = (), branch: Template | None = None, prev: int = -1,
                grow: int = 0, chain_match: int = 0, prev2: int = -1) -> DraftTree:
    """The draft tree under `root`: `template` filled from `adjacency`, merged with the suffix `chain`.

    `branch` (optional) is a small template hung from M under every node of the chain: where the
    chain stops matching the model, the recycled successors of its last right token still get a chance.
    `prev` is the committed token before `root` (-1: none), for an order-2 M; `prev2` the one before it
    (order 3).
    `grow` > 0 replaces the static template by a tree of that many nodes grown best first where M's
    stored probabilities are highest (a dynamic tree: deep where M is confident, wide where not).
    `chain_match` > 0 (with `grow`): the chain came from a suffix match of that length L; its node at
    depth d is scored L / (L + d) (the chance, by Laplace's rule, that a match grown by d tokens has held
    each time) and grows M successors too, in one budget with the root's.
    """
    tree = DraftTree(tokens=[int(root)])
    if grow > 0 and adjacency is not None:
        seeds = {0: 1.0}
        if chain_match > 0:
            node = 0
            for d, tok in enumerate(chain, 1):
                node = tree.add(node, int(tok), FROM_SUFFIX)
                seeds[node] = tree.scores[node] = chain_match / (chain_match + d)
        _grow(tree, seeds, grow, adjacency, prev, prev2)
    elif template is not None and adjacency is not None and len(template):
        _fill(tree, 0, template, adjacency, prev, prev2)
    node = 0
    nodes = []
    for tok in chain:
        node = tree.add(node, int(tok), FROM_SUFFIX)
        nodes.append(node)
    if branch is not None and adjacency is not None and len(branch):
        for node in nodes:
            _fill(tree, node, branch, adjacency, prev, prev2)
    return tree
