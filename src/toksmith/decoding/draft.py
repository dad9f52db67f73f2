"""Draft trees: a recycled template filled from M and a suffix chain, merged into one token trie.

Both drafters propose continuations of the same root (the last committed token). Inserting them into
one trie shares their common prefixes, so a branch both agree on costs one node, and the verifier
checks every proposal in the same forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
        self.children.append({})
        self.children[parent][int(token)] = node
        return node

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


def _fill(tree: DraftTree, at: int, template: Template, m: AdjacencyMatrix, prev: int) -> None:
    """Hang `template` under node `at`, each node's token looked up in M (ranks of its parent's row).

    The row of a node is its token's (or, for an order-2 M, its (parent token, token) pair's);
    `prev` is the token before the root.
    """
    tokens, parents = tree.tokens, tree.parents
    rows: dict[int, np.ndarray] = {}
    node_of = [at] * len(template.parents)
    for i in range(1, len(template.parents)):
        parent = node_of[template.parents[i]]
        row = rows.get(parent)
        if row is None:
            up = parents[parent]
            row = rows[parent] = m.successors(tokens[parent], tokens[up] if up >= 0 else prev)
        node_of[i] = tree.add(parent, int(row[template.ranks[i]]), FROM_RECYCLE)


def build_draft(root: int, *, template: Template | None, adjacency: AdjacencyMatrix | None,
                chain: Sequence[int] = (), branch: Template | None = None, prev: int = -1) -> DraftTree:
    """The draft tree under `root`: `template` filled from `adjacency`, merged with the suffix `chain`.

    `branch` (optional) is a small template hung from M under every node of the chain: where the
    chain stops matching the model, the recycled successors of its last right token still get a chance.
    `prev` is the committed token before `root` (-1: none), for an order-2 M.
    """
    tree = DraftTree(tokens=[int(root)])
    if template is not None and adjacency is not None and len(template):
        _fill(tree, 0, template, adjacency, prev)
    node = 0
    nodes = []
    for tok in chain:
        node = tree.add(node, int(tok), FROM_SUFFIX)
        nodes.append(node)
    if branch is not None and adjacency is not None and len(branch):
        for node in nodes:
            _fill(tree, node, branch, adjacency, prev)
    return tree
