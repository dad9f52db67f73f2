"""Cost-aware draft sizes (toksmith.decoding.sizing): the choice against brute force, the cut tree, the
cost estimates, and adaptive decoding against one forward per token."""

from __future__ import annotations

import itertools
import random

import pytest

from toksmith.decoding import AdjacencyMatrix, build_draft, generate
from toksmith.decoding.draft import FROM_RECYCLE, FROM_SUFFIX, DraftTree
from toksmith.decoding.sizing import TRUST, StepCosts, best_size, cut_draft, ranked_nodes
from toksmith.errors import OptionError


def _random_tree(rng: random.Random, n: int) -> DraftTree:
    """A tree whose scores shrink from parent to child, as grown and chain nodes' do; some scores tie."""
    t = DraftTree(tokens=[0])
    for _ in range(n - 1):
        parent = rng.randrange(len(t))
        node = t.add(parent, len(t), rng.choice([FROM_RECYCLE, FROM_SUFFIX]))
        t.scores[node] = t.scores[parent] * rng.choice([1.0, 0.9, 0.5, 0.25, rng.random()])
    return t


def test_best_size_is_the_best_prefix_by_brute_force() -> None:
    """Every prefix of the ranked nodes is a tree; best_size picks the one with the most expected tokens per
    second, ties to the smaller, and never a size past the tree."""
    rng = random.Random(3)
    for trial in range(300):
        tree = _random_tree(rng, rng.randrange(1, 14))
        order = ranked_nodes(tree)
        assert sorted(order) == list(range(len(tree)))  # parents never score below their children: none dropped
        costs = sorted(rng.uniform(1.0, 3.0) for _ in range(rng.randrange(1, 10)))
        trust = rng.choice([TRUST, 1.0, 0.05])
        scores = [tree.scores[i] for i in order[1:]]
        n = best_size(scores, costs, trust)
        rates = {k: (1 + trust * sum(scores[: k - 1])) / costs[k - 1]
                 for k in range(1, min(len(costs), len(tree)) + 1)}
        assert n == min(k for k, r in rates.items() if r == max(rates.values())), trial
        for k in range(1, len(order) + 1):  # every prefix keeps each node's parent
            assert all(tree.parents[i] in order[:k] for i in order[1:k])
    assert best_size([1.0], [1.0, 1.3], 0.3) == 1  # a tie (1.3 / 1.3 = 1 / 1) goes to the smaller size


def test_cut_draft_keeps_the_best_nodes_as_a_tree() -> None:
    """Flat costs keep the whole tree up to max_nodes; a dear second node keeps the root alone."""
    m = AdjacencyMatrix(20, 3, order=1)
    m.update([5, 7, 8], [[7, 8, 1], [9, 2, 3], [4, 6, 0]], probs=[[0.6, 0.3, 0.1], [0.9, 0.05, 0.05],
                                                                   [0.5, 0.4, 0.1]])
    tree = build_draft(5, template=None, adjacency=m, chain=[7, 3], grow=3, chain_match=1)
    # scores: 7 0.6 (chain and M), 3 1/3 (chain), 9 0.54, 8 0.3, 4 0.15 (test_draft's worked example)
    flat = StepCosts()
    for n in (1, 1, 8, 8):
        flat.add(n, 1.0)
    cut = cut_draft(tree, flat, max_nodes=4)
    assert cut.tokens == [5, 7, 3, 9] and cut.parents == [-1, 0, 1, 1]
    assert cut.scores == pytest.approx([1.0, 0.6, 1 / 3, 0.54])
    assert cut.sources == [0, FROM_RECYCLE | FROM_SUFFIX, FROM_SUFFIX, FROM_RECYCLE]
    assert cut.children == [{7: 1}, {3: 2, 9: 3}, {}, {}]
    assert cut.depths == [0, 1, 2, 2]
    assert cut_draft(tree, flat, max_nodes=8).tokens == tree.tokens
    dear = StepCosts()
    for n in [*range(1, 9)] * 2:  # every node adds more than the best node's trusted score
        dear.add(n, 1.0 + (n - 1) * (TRUST * 0.6 + 0.01))
    assert cut_draft(tree, dear).tokens == [5]
    with pytest.raises(ValueError, match="root"):
        tree.subtree([1, 2])
    with pytest.raises(ValueError, match="parent"):
        tree.subtree([0, 2])


def test_step_cost_estimates() -> None:
    """Medians of the readings after each size's first; unseen sizes optimistic (scaled below the smallest,
    else the cost of the largest size below); the medians made non-decreasing before anything else."""
    c = StepCosts(window=3)
    assert c.estimate(3) == [1.0, 1.0, 1.0]
    c.add(2, 50.0)  # a size's first step is not counted (one-time work)
    assert c.estimate(3) == [1.0, 1.0, 1.0]
    for s in (2.0, 9.0, 2.2, 2.4):  # the window drops the first; the median ignores one outlier
        c.add(2, s)
    for n, s in ((6, 99.0), (6, 4.4), (4, 99.0), (4, 1.0)):  # a noisy low reading of 4 nodes: raised to 2's
        c.add(n, s)
    est = c.estimate(8)
    assert est == pytest.approx([1.2, 2.4, 2.4, 2.4, 2.4, 4.4, 4.4, 4.4])
    assert all(a <= b for a, b in itertools.pairwise(est))


@pytest.fixture(params=["llama", "gemma3"])
def tiny(request, tmp_path):
    from tests.bridge.tiny import byte_level_bpe, tiny_gemma3, tiny_llama

    make = tiny_llama if request.param == "llama" else tiny_gemma3
    return make(byte_level_bpe(tmp_path))


def test_adaptive_steps_emit_greedy_ids_and_verify_at_most_max_nodes(tiny) -> None:
    """Adaptive hybrid and recycle: the ids of one forward per token; no step verifies more than max_nodes.
    (Which sizes are taken follows the clock; test_cut_draft_keeps_the_best_nodes_as_a_tree fixes the costs.)"""
    prompt = [tiny.bos_id] + tiny.tokenizer.encode("ab ab aab ba abba ab ab")
    ref = generate(tiny, prompt, max_new_tokens=40, method="greedy", eos_ids=[-1]).ids
    for kw in ({"method": "hybrid", "tree": "dyn12", "branch": "dyn"}, {"method": "recycle", "tree": "dyn6"}):
        for max_nodes in (1, 3, 8):
            sizes: list[int] = []
            res = generate(tiny, prompt, max_new_tokens=40, eos_ids=[-1], adaptive=True, max_nodes=max_nodes,
                           on_step=lambda d, p, _s=sizes: _s.append(len(d)), **kw)
            assert res.ids == ref, (kw, max_nodes, res.stats)
            assert max(sizes) <= max_nodes


def test_adaptive_needs_scored_nodes(tiny) -> None:
    with pytest.raises(OptionError, match="dynamic tree"):
        generate(tiny, "ab", max_new_tokens=4, method="recycle", tree="3,2", adaptive=True)
    with pytest.raises(OptionError, match="dynamic tree"):
        generate(tiny, "ab", max_new_tokens=4, method="suffix", adaptive=True)
    with pytest.raises(OptionError, match="max_nodes"):
        generate(tiny, "ab", max_new_tokens=4, method="hybrid", max_nodes=0)
