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


def test_template_from_counts_takes_the_most_accepted_paths_as_a_tree() -> None:
    from toksmith.decoding import template_from_counts

    counts = {(0,): 50, (1,): 20, (2,): 4, (0, 0): 30, (0, 1): 6, (1, 0): 6, (0, 0, 0): 21, (3, 0): 9}
    t = template_from_counts(counts, 5)
    # (3, 0) counts 9 but its parent (3,) was never accepted: skipped; ties (0, 1) / (1, 0) go to the smaller
    assert t.paths == [(0,), (1,), (0, 0), (0, 1), (0, 0, 0)]
    assert template_from_counts(counts, 3).paths == [(0,), (0, 0), (0, 0, 0)]  # depth where it pays
    with pytest.raises(OptionError, match="node"):
        template_from_counts(counts, 0)


def test_template_file_round_trip_and_bad_file(tmp_path) -> None:
    import json

    from toksmith.decoding import load_template
    from toksmith.decoding.api import resolve_template
    from toksmith.errors import ToksmithError

    path = tmp_path / "t.json"
    path.write_text(json.dumps({"paths": [[0], [1], [0, 0]]}))
    assert resolve_template(str(path), 8).paths == template_from_widths([2, 1]).paths
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ToksmithError, match="template"):
        load_template(tmp_path / "bad.json")


def test_branch_hangs_recycled_successors_under_every_chain_node() -> None:
    m = AdjacencyMatrix(20, 3)
    m.update([5, 7, 9, 11], [[7, 8, 1], [9, 2, 3], [4, 6, 0], [12, 13, 14]])
    tree = build_draft(5, template=template_from_widths([1]), adjacency=m, chain=[7, 3, 11],
                       branch=template_from_widths([1]))
    # template: 5 -> 7; chain 7 -> 3 -> 11; branch (rank 0 of M) under 7 (= 9), under 3 (= 0), under 11 (= 12)
    assert tree.tokens == [5, 7, 3, 11, 9, 0, 12]
    assert tree.parents == [-1, 0, 1, 2, 1, 2, 3]
    assert tree.sources[1] == FROM_RECYCLE | FROM_SUFFIX and tree.sources[4] == FROM_RECYCLE


def test_order_two_rows_follow_the_token_pair(tmp_path) -> None:
    m = AdjacencyMatrix(20, 2, order=2)
    m.update([4, 5, 5], [[1, 2], [7, 8], [9, 10]], prev=[-1, 4, 6])
    assert m.successors(5).tolist() == [9, 10]  # the token row: last occurrence wins
    assert m.successors(5, 4).tolist() == [7, 8] and m.successors(5, 6).tolist() == [9, 10]
    assert m.successors(5, 3).tolist() == [9, 10]  # an unseen pair falls back to the token row
    # the draft under root 5 after 4 follows the pair row (7, 8), not the token row (9, 10)
    tree = build_draft(5, template=template_from_widths([2]), adjacency=m, prev=4)
    assert tree.tokens == [5, 7, 8]
    loaded = AdjacencyMatrix.load(m.save(tmp_path / "m2.safetensors"))
    assert loaded.order == 2 and loaded.pairs.keys() == m.pairs.keys()
    assert all(np.array_equal(loaded.pairs[k], m.pairs[k]) for k in m.pairs)
    with pytest.raises(OptionError, match="order"):
        AdjacencyMatrix(20, 2, order=4)


def test_order_three_rows_follow_the_token_triple(tmp_path) -> None:
    m = AdjacencyMatrix(20, 2, order=3)
    m.update([4, 5, 6, 5], [[1, 2], [7, 8], [3, 4], [9, 10]], prev=[3, 4, 5, 6], prev2=[-1, 3, 4, 5])
    assert m.successors(5, 4, 3).tolist() == [7, 8]  # the triple (3, 4, 5)
    assert m.successors(5, 4, 9).tolist() == [7, 8]  # no triple (9, 4, 5): the pair (4, 5)
    assert m.successors(5, 2, 9).tolist() == [9, 10]  # neither: the token row (its last occurrence)
    m.update([5], [[11, 12]], prev=[4], prev2=[0])  # the pair (4, 5) is rewritten, the triple (3, 4, 5) kept
    assert m.successors(5, 4, 3).tolist() == [7, 8] and m.successors(5, 4, 0).tolist() == [11, 12]
    # the draft under root 5 (after 3, 4) follows the triple; its child 7 looks up the triple (4, 5, 7)
    m.update([7], [[13, 14]], prev=[5], prev2=[4])
    tree = build_draft(5, template=template_from_widths([1, 1]), adjacency=m, prev=4, prev2=3)
    assert tree.tokens == [5, 7, 13]
    loaded = AdjacencyMatrix.load(m.save(tmp_path / "m3.safetensors"))
    assert loaded.order == 3 and loaded.triples.keys() == m.triples.keys()
    assert loaded.successors(5, 4, 3).tolist() == [7, 8]


def test_template_from_gains_is_the_best_subtree_by_brute_force() -> None:
    """The tree knapsack against every prefix-closed subset of random small trees."""
    import itertools
    import random

    from toksmith.decoding import template_from_gains

    rng = random.Random(9)
    for _ in range(60):
        paths = [(0,), (1,), (2,)]
        for _ in range(rng.randint(0, 7)):
            child = rng.choice(paths) + (rng.randint(0, 2),)
            if child not in paths:
                paths.append(child)
        gains = {p: rng.choice([0, 0, 1, 2, 3, 5, 8]) for p in paths}
        n = rng.randint(1, len(paths))
        best = max(sum(gains[p] for p in sub) for r in range(1, n + 1) for sub in itertools.combinations(paths, r)
                   if all(len(p) == 1 or p[:-1] in sub for p in sub))
        t = template_from_gains(gains, n)
        assert len(t) == n and sum(gains.get(p, 0) for p in t.paths) == best
    # a node may gain where its parent does not (hybrid: deeper than the chain); top-N would take (1,), (2,)
    assert template_from_gains({(0,): 0, (0, 0): 10, (1,): 3, (2,): 2}, 2).paths == [(0,), (0, 0)]
    # equal gains: the rank prior 1 / prod(rank + 1) fills the slots ((0, 0): 1 beats (1,): 1/2)
    assert template_from_gains({(0,): 0, (1,): 0, (2,): 0, (0, 0): 0}, 2).paths == [(0,), (0, 0)]
    assert template_from_gains({(0,): 0, (1,): 1, (2,): 0, (0, 0): 0}, 2).paths == [(0,), (1,)]
    with pytest.raises(OptionError, match="gain"):
        template_from_gains({(0,): -1}, 2)


def test_grown_tree_follows_m_probabilities() -> None:
    m = AdjacencyMatrix(20, 3, order=1)
    m.update([5, 7, 8], [[7, 8, 1], [9, 2, 3], [4, 6, 0]], probs=[[0.6, 0.3, 0.1], [0.9, 0.05, 0.05],
                                                                   [0.5, 0.4, 0.1]])
    tree = build_draft(5, template=None, adjacency=m, grow=4)
    # scores: 7 0.6, 7->9 0.54, 8 0.3, 8->4 0.15, 1 0.1, ...; rows of unwritten tokens (9) hold the prior
    assert tree.tokens == [5, 7, 9, 8, 4] and tree.parents == [-1, 0, 1, 0, 3]
    assert tree.scores == pytest.approx([1.0, 0.6, 0.54, 0.3, 0.15])
    assert all(s == FROM_RECYCLE for s in tree.sources[1:])
    loaded = m.copy()
    assert np.array_equal(loaded.probs, m.probs) and loaded.probs[9, 0] == pytest.approx(0.1)


def test_probabilities_saved_with_m(tmp_path) -> None:
    m = AdjacencyMatrix(20, 2, order=2)
    m.update([4, 5], [[1, 2], [7, 8]], prev=[-1, 4], probs=[[0.7, 0.2], [0.6, 0.3]])
    loaded = AdjacencyMatrix.load(m.save(tmp_path / "m.safetensors"))
    assert np.array_equal(loaded.probs, m.probs)
    row, probs = loaded.successors_probs(5, 4)
    assert row.tolist() == [7, 8] and probs.tolist() == pytest.approx([0.6, 0.3])


def test_dynamic_tree_option() -> None:
    from toksmith.decoding.api import grow_budget

    assert grow_budget("dyn80") == 80 and grow_budget("tr80") == 0
    with pytest.raises(OptionError, match="dyn"):
        grow_budget("dynamic")


def test_grown_tree_under_the_chain_shares_one_budget() -> None:
    m = AdjacencyMatrix(20, 3, order=1)
    m.update([5, 7, 8], [[7, 8, 1], [9, 2, 3], [4, 6, 0]], probs=[[0.6, 0.3, 0.1], [0.9, 0.05, 0.05],
                                                                   [0.5, 0.4, 0.1]])
    tree = build_draft(5, template=None, adjacency=m, chain=[7, 3], grow=3, chain_match=1)
    # chain 7 (score 1/2), 3 (1/3); M's 7 under the root (0.6) is the chain's node: no budget, score 0.6;
    # then 9 under 7 (0.54), 8 (0.3), 4 under 8 (0.15); 3's row is the prior (1/3 * 0.1): not reached
    assert tree.tokens == [5, 7, 3, 9, 8, 4] and tree.parents == [-1, 0, 1, 1, 0, 4]
    assert tree.scores == pytest.approx([1.0, 0.6, 1 / 3, 0.54, 0.3, 0.15])
    assert tree.sources[1] == FROM_RECYCLE | FROM_SUFFIX and tree.sources[2] == FROM_SUFFIX


@pytest.mark.parametrize("order", [1, 2, 3])
def test_compiled_growth_equals_the_python_reference(order: int) -> None:
    """The compiled best-first loop grows the tree `_grow_reference` grows, field for field, on random Ms.

    A small vocabulary and probabilities on a coarse grid make tied scores, tokens repeated along a path and
    chain nodes reached again by growth (which cost no budget and keep the higher score) common; pair and
    triple rows are written for some contexts only, so every branch of the row lookup is taken.
    """
    from toksmith._native import draft_ext
    from toksmith.decoding import draft

    assert draft_ext is not None, "the compiled extension is not built (pip install -e . builds it)"
    rng = np.random.default_rng(order)
    vocab, k = 9, 4
    raised = 0  # chain nodes whose score growth raised (the stale-entry and score-raise paths)
    for trial in range(150):
        m = AdjacencyMatrix(vocab, k, order=order)
        n = int(rng.integers(1, 40))
        toks = rng.integers(0, vocab, n)
        rows = np.stack([rng.permutation(vocab)[:k] for _ in range(n)])
        probs = -np.sort(-rng.integers(0, 9, (n, k)) / 8.0, axis=1)  # sorted, ties, zeros and ones included
        m.update(toks, rows, prev=rng.integers(-1, vocab, n), probs=probs, prev2=rng.integers(-1, vocab, n))
        root = int(rng.integers(0, vocab))
        prev, prev2 = (int(x) for x in rng.integers(-1, vocab, 2))  # -1: no token before (the plain row)
        chain = [int(t) for t in rng.integers(0, vocab, int(rng.integers(0, 5)))]
        budget = int(rng.integers(1, 60))
        match = int(rng.integers(1, 6)) if chain else 0
        trees = []
        for grow in (draft._grow, draft._grow_reference):
            saved, draft._grow = draft._grow, grow
            try:
                trees.append(build_draft(root, template=None, adjacency=m, chain=chain, prev=prev, prev2=prev2,
                                         grow=budget, chain_match=match))
            finally:
                draft._grow = saved
        native, ref = trees
        assert native == ref, (order, trial)
        assert len(ref) > 1
        raised += sum(1 for d in range(1, len(chain) + 1)
                      if ref.sources[d] & FROM_RECYCLE and ref.scores[d] > match / (match + d))  # chain node d
    assert raised > 0


def test_defaults_follow_the_device() -> None:
    """Per method, a CUDA model gets GPU_DEFAULTS over DEFAULTS and a CPU model CPU_DEFAULTS (small trees); no
    device cuts its drafts (adaptive off)."""
    from toksmith.decoding.api import CPU_DEFAULTS, DEFAULTS, GPU_DEFAULTS, device_defaults, grow_budget
    from toksmith.decoding.templates import TEMPLATES

    cpu_h, cpu_r, cpu_s = (device_defaults("cpu", m) for m in ("hybrid", "recycle", "suffix"))
    assert cpu_r == DEFAULTS and TEMPLATES[cpu_r["tree"]] == (1,) and cpu_s == {**DEFAULTS, **CPU_DEFAULTS["suffix"]}
    assert cpu_h == {**DEFAULTS, **CPU_DEFAULTS["hybrid"]} and grow_budget(cpu_h["tree"]) == 1
    assert cpu_h["adaptive"] is cpu_r["adaptive"] is False
    hybrid, recycle, suffix = (device_defaults("cuda:0", m) for m in ("hybrid", "recycle", "suffix"))
    assert hybrid["adaptive"] is recycle["adaptive"] is suffix["adaptive"] is False
    assert {k: hybrid[k] for k in GPU_DEFAULTS["hybrid"]} == GPU_DEFAULTS["hybrid"] and grow_budget(hybrid["tree"])
    assert recycle["tree"] == "tr80" and "branch" not in recycle
    assert suffix["suffix_len"] == DEFAULTS["suffix_len"] and suffix["max_new_tokens"] == DEFAULTS["max_new_tokens"]


def test_accepted_counts_stop_at_the_emitted_tokens(tmp_path) -> None:
    """A chain accepted past max_new_tokens counts only the draft tokens that were emitted.

    The corpus holds the prompt and its greedy continuation, so every step accepts the whole 10-token chain;
    with max_new_tokens = 7 only 6 of the first step's 10 (after the prefill's token) are emitted.
    """
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.decoding import generate

    lm = tiny_llama(byte_level_bpe(tmp_path))
    prompt = [lm.bos_id] + lm.tokenizer.encode("ab ab aab ba abba ab ab")
    full = generate(lm, prompt, max_new_tokens=40, method="greedy", eos_ids=[-1]).ids
    for n in (7, 13, 25, 30):
        paths: list[int] = []
        res = generate(lm, prompt, max_new_tokens=n, method="suffix", suffix_len=10, adaptive=False, eos_ids=[-1],
                       corpus=[prompt + full], on_step=lambda d, p, _a=paths: _a.append(len(p) - 1))
        st = res.stats
        assert res.ids == full[:n] and sum(paths) > st.new_tokens - 1 - st.steps  # the last step was cut short
        # every step emits its accepted tokens and one more, except the cut one, which emits only accepted ones
        assert st.accepted_suffix == st.new_tokens - 1 - (st.steps - 1) <= n - 1, (n, paths, st)


def test_margin_read_off_the_top_k_equals_a_second_pass(tmp_path) -> None:
    """With M's top-k at hand the near-tie margin comes from it; it equals the top-2 pass over the path's logits."""
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.decoding.draft import DraftTree
    from toksmith.decoding.verify import Verifier

    lm = tiny_llama(byte_level_bpe(tmp_path))
    prompt = [lm.bos_id] + lm.tokenizer.encode("ab ab aab ba abba ab ab")
    with_m, without = Verifier(lm, topk=8), Verifier(lm, topk=0)
    roots = [with_m.prefill(prompt)[0], without.prefill(prompt)[0]]
    assert roots[0] == roots[1]
    root = roots[0]
    for step in range(6):
        tree = DraftTree(tokens=[root])
        for i in range(1, 7):  # a small tree of arbitrary tokens under the root and its first child
            tree.add(0 if i < 4 else 1, (step * 7 + i * 3) % lm.vocab_size, 1)
        with_m.min_margin = without.min_margin = float("inf")  # this step's margin only
        a, b = with_m.verify(tree), without.verify(tree)
        assert a[:2] == b[:2] and a[2] is not None and b[2] is None
        assert with_m.min_margin == without.min_margin < float("inf")
        root = a[1][-1]
