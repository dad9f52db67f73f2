"""Templates and merged draft trees, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from toksmith.decoding import AdjacencyMatrix, Template, build_draft, template_from_widths
from toksmith.decoding.draft import FROM_RECYCLE, FROM_SUFFIX
from toksmith.errors import OptionError


def test_template_from_widths_is_best_first_and_a_tree() -> None:
    t = template_from_widths([3, 2, 1])
    assert t.paths == [(0,), (1,), (2,), (0, 0), (0, 1), (0, 0, 0)]
    assert t.widths() == (3, 2, 1) and len(t) == 6 and t.depth == 3
    assert all(t.parents[i] < i for i in range(1, len(t.parents)))


def test_template_rejects_orphans_and_bad_widths() -> None:
    with pytest.raises(OptionError, match="parent"):
        Template([(0, 1)])
    with pytest.raises(OptionError, match="widths"):
        template_from_widths([2, 0])
    with pytest.raises(OptionError, match="exceeds"):
        template_from_widths([1, 9], k=8)


def test_hybrid_tree_merges_shared_prefixes() -> None:
    m = AdjacencyMatrix(20, 3)
    m.update([5, 7, 9], [[7, 8, 1], [9, 2, 3], [4, 6, 0]])
    tree = build_draft(5, template=template_from_widths([2, 1]), adjacency=m, chain=[7, 9, 11])
    # template: 5 -> {7, 8}, 7 -> 9; the chain 7, 9, 11 reuses 7 and 9 and adds 11 under 9
    assert tree.tokens == [5, 7, 8, 9, 11]
    assert tree.parents == [-1, 0, 0, 1, 3]
    assert tree.depths == [0, 1, 1, 2, 3]
    assert tree.sources == [0, FROM_RECYCLE | FROM_SUFFIX, FROM_RECYCLE, FROM_RECYCLE | FROM_SUFFIX, FROM_SUFFIX]
    anc = tree.ancestors()
    assert anc[4].tolist() == [True, True, False, True, True]
    assert np.array_equal(anc, anc & np.tril(np.ones((5, 5), dtype=bool)))


def test_adjacency_update_last_occurrence_wins() -> None:
    m = AdjacencyMatrix(10, 2)
    m.update([3, 3], [[1, 2], [4, 5]])
    assert m.successors(3).tolist() == [4, 5] and m.seen[3] and not m.seen[2]
    assert m.successors(2).tolist() == [0, 1]
