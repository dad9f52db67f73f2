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


def build_draft(root: int, *, template: Template | None, adjacency: AdjacencyMatrix | None,
                chain: Sequence[int] = ()) -> DraftTree:
    """The draft tree under `root`: `template` filled from `adjacency`, merged with the suffix `chain`."""
    tree = DraftTree(tokens=[int(root)])
    if template is not None and adjacency is not None and len(template):
        table = adjacency.table
        node_of = [0] * len(template.parents)
        for i in range(1, len(template.parents)):
            parent = node_of[template.parents[i]]
            node_of[i] = tree.add(parent, int(table[tree.tokens[parent], template.ranks[i]]), FROM_RECYCLE)
    node = 0
    for tok in chain:
        node = tree.add(node, int(tok), FROM_SUFFIX)
    return tree
