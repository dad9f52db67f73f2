"""recycle, suffix and hybrid emit exactly plain greedy's token ids (transformers' generate as oracle).

The oracle is transformers' own `generate(do_sample=False)` on the same model object: same dtype,
same attention implementation (sdpa), same cache type (a plain DynamicCache).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toksmith.decoding import AdjacencyMatrix, SuffixDrafter, generate
from toksmith.decoding.api import CPU_DEFAULTS, DEFAULTS, GPU_DEFAULTS
from toksmith.decoding.draft import FROM_SUFFIX
from toksmith.errors import OptionError, ToksmithError

pytestmark = pytest.mark.slow

METHODS = ("recycle", "suffix", "hybrid")


def _hf_greedy(lm, ids: list[int], n: int, eos: list[int]) -> list[int]:
    import torch
    from transformers.cache_utils import DynamicCache

    x = torch.tensor([ids])
    with torch.inference_mode():
        out = lm.model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                past_key_values=DynamicCache(), eos_token_id=eos, pad_token_id=eos[0])
    return out[0, len(ids):].tolist()


def _english(shared_data: Path) -> str:
    return (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")


def _prompts(lm, shared_data: Path) -> list[list[int]]:
    text = _english(shared_data)
    enc = lm.tokenizer.encode
    return [
        [lm.bos_id] + enc(text[:400]),
        [lm.bos_id] + enc("def fibonacci(n):\n    if n < 2:\n        return n\n    return"),
        [lm.bos_id] + enc("Q: What is the capital of France?\nA: Paris.\nQ: What is the capital of Spain?\nA:"),
    ]


@pytest.fixture(scope="module", autouse=True)
def few_row_threads():
    """At least 2 torch threads, as the benchmarks run the verifier's few-row linear layers (toksmith.lm.skinny)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, threads))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def smol():
    from toksmith import load_lm

    return load_lm("smollm2", device="cpu")


@pytest.fixture(scope="module")
def gemma():
    from toksmith import load_lm

    return load_lm("gemma3", device="cpu")


def _replayed_chains(prompt: list[int], out: list[int], emitted: list[int], min_match: int, n: int) -> list[list[int]]:
    """The suffix chain each step should have drafted: a fresh drafter over prompt + the tokens emitted so far."""
    chains, pos = [], 1
    for k in emitted:
        d = SuffixDrafter(min_match=min_match)
        d.extend(prompt + out[:pos])
        hit = d.match(n)
        chains.append(list(hit.draft) if hit is not None else [])
        pos += k
    return chains


def test_smollm2_methods_equal_greedy(smol, shared_data) -> None:
    """With each method's CPU defaults. Hybrid's chains are exactly the suffix matches of 4+ tokens (up to 6
    tokens of what followed), replayed step by step, and a full-length one is reached."""
    eos = [smol.eos_id]
    cpu = CPU_DEFAULTS["hybrid"]
    longest = 0
    for ids in _prompts(smol, shared_data):
        ref = _hf_greedy(smol, ids, 32, eos)
        assert generate(smol, ids, max_new_tokens=32, method="greedy", eos_ids=eos).ids == ref
        for method in METHODS:
            steps: list[tuple[list[int], int]] = []

            def on_step(draft, path, _steps=steps) -> None:
                chain = [draft.tokens[i] for i in range(len(draft)) if draft.sources[i] & FROM_SUFFIX]
                _steps.append((chain, len(path)))

            res = generate(smol, ids, max_new_tokens=32, method=method, eos_ids=eos, on_step=on_step)
            assert res.ids == ref, (method, res.stats)
            assert res.stats.forwards <= len(ref)
            if method == "hybrid":
                chains = [c for c, _ in steps]
                assert chains == _replayed_chains(ids, ref, [k for _, k in steps], cpu["min_match"], cpu["suffix_len"])
                longest = max(longest, *map(len, chains))
    assert longest == cpu["suffix_len"]


def test_smollm2_pair_rows_branches_and_an_80_node_tree_equal_greedy(smol, shared_data) -> None:
    """An order-2 M, M branches under the suffix chain and TR's 80-node tree change the drafts only."""
    eos = [smol.eos_id]
    prompts = _prompts(smol, shared_data)
    hot = AdjacencyMatrix(smol.vocab_size, 8, model=smol.name, order=2)
    for ids in prompts:
        ref = _hf_greedy(smol, ids, 32, eos)
        res = generate(smol, ids, max_new_tokens=32, method="hybrid", tree="4,3,2,1", branch="2,1", adjacency=hot,
                       eos_ids=eos, adaptive=False)
        assert res.ids == ref, res.stats
    assert hot.pairs  # the pair rows were filled (and carried across the prompts)
    ids = prompts[0]
    ref = _hf_greedy(smol, ids, 24, eos)
    for method in ("recycle", "hybrid"):
        m = AdjacencyMatrix(smol.vocab_size, 8, order=2)
        res = generate(smol, ids, max_new_tokens=24, method=method, tree="tr80", adjacency=m, eos_ids=eos,
                       adaptive=False)
        assert res.ids == ref and res.stats.tree_nodes >= 81, res.stats
    # a tree grown each step from M's stored probabilities (hot M from the prompts above) changes drafts only
    res = generate(smol, ids, max_new_tokens=24, method="hybrid", tree="dyn40", adjacency=hot.copy(), eos_ids=eos,
                   adaptive=False)
    assert res.ids == ref and res.stats.tree_nodes >= 41, res.stats
    # the same grown under the suffix chain, each step cut to the size its scores and measured costs pay for
    res = generate(smol, ids, max_new_tokens=24, method="hybrid", tree="dyn16", branch="dyn", adjacency=hot.copy(),
                   eos_ids=eos, adaptive=True)
    assert res.ids == ref and res.stats.tree_nodes <= DEFAULTS["max_nodes"], res.stats
    # the GPU defaults (a 128-node grown tree, grown under a 20-token chain too, every step drafted), run here
    gpu = {**GPU_DEFAULTS["hybrid"], "adaptive": False}
    res = generate(smol, ids, max_new_tokens=24, method="hybrid", adjacency=hot.copy(), eos_ids=eos, **gpu)
    assert res.ids == ref and res.stats.tree_nodes >= 100, res.stats


def test_smollm2_corpus_chains_equal_greedy_and_are_counted(smol, shared_data) -> None:
    """Chains from a static corpus change drafts only, and their accepted tokens count as accepted_corpus.

    The corpus holds another prompt and this prompt followed by its greedy output, so the corpus match
    (the whole context) is always longer than any context match: every chain comes from the corpus.
    """
    eos = [smol.eos_id]
    prompts = _prompts(smol, shared_data)
    ids = prompts[0]
    ref = _hf_greedy(smol, ids, 24, eos)
    for method in ("suffix", "hybrid"):
        res = generate(smol, ids, max_new_tokens=24, method=method, corpus=[prompts[2], ids + ref], eos_ids=eos,
                       adaptive=False)
        assert res.ids == ref, (method, res.stats)
        assert 0 < res.stats.accepted_corpus == res.stats.accepted_suffix, res.stats
        plain = generate(smol, ids, max_new_tokens=24, method=method, eos_ids=eos, adaptive=False)
        assert plain.ids == ref and plain.stats.accepted_corpus == 0, plain.stats


def test_gemma3_methods_equal_greedy_across_the_sliding_window(gemma, shared_data) -> None:
    """Prompts short and long; the long one makes generation cross Gemma's 512-token window."""
    assert gemma.sliding_window == 512
    eos = [gemma.eos_id]
    long = [gemma.bos_id] + gemma.tokenizer.encode(_english(shared_data)[:4000])[:490]
    for ids, n in [(_prompts(gemma, shared_data)[1], 24), (long, 40)]:
        ref = _hf_greedy(gemma, ids, n, eos)
        for method in METHODS:
            res = generate(gemma, ids, max_new_tokens=n, method=method, eos_ids=eos, tree="3,2,1")
            assert res.ids == ref, (method, len(ids), res.stats)
    # rejected rows compacted after every step above (the CPU default); here kept in the cache, masked, across
    # the window (the GPU's way)
    res = generate(gemma, long, max_new_tokens=40, method="hybrid", eos_ids=eos, tree="3,2,1", max_dead=1024)
    assert res.ids == ref, res.stats
    assert len(long) + 40 > 512


def test_hot_adjacency_round_trip(smol, shared_data, tmp_path) -> None:
    """M carried across prompts, saved and reloaded, gives the same matrix and the same (greedy) output."""
    eos = [smol.eos_id]
    first, second, _ = _prompts(smol, shared_data)
    m = AdjacencyMatrix(smol.vocab_size, 8, model=smol.name)
    generate(smol, first, max_new_tokens=24, method="recycle", adjacency=m, eos_ids=eos)
    assert m.seen.sum() > len(set(first))  # rows of generated tokens were recycled too
    path = m.save(tmp_path / "m.safetensors")
    loaded = AdjacencyMatrix.load(path, vocab_size=smol.vocab_size, model=smol.name)
    assert loaded.k == 8 and np.array_equal(loaded.table, m.table) and np.array_equal(loaded.seen, m.seen)
    a = generate(smol, second, max_new_tokens=24, method="hybrid", adjacency=m, eos_ids=eos)
    b = generate(smol, second, max_new_tokens=24, method="hybrid", adjacency=loaded, eos_ids=eos)
    assert a.ids == b.ids == _hf_greedy(smol, second, 24, eos)
    assert np.array_equal(m.table, loaded.table)
    assert (a.stats.forwards, a.stats.accepted_recycle) == (b.stats.forwards, b.stats.accepted_recycle)
    with pytest.raises(ToksmithError, match="rows"):
        AdjacencyMatrix.load(path, vocab_size=smol.vocab_size + 1)
    (tmp_path / "bad.safetensors").write_bytes(b"not a matrix")
    with pytest.raises(ToksmithError, match="adjacency"):
        AdjacencyMatrix.load(tmp_path / "bad.safetensors")


def test_bad_options_raise_option_errors(smol) -> None:
    with pytest.raises(OptionError, match="method"):
        generate(smol, "Hi", max_new_tokens=4, method="beam")
    with pytest.raises(OptionError, match="max_new_tokens"):
        generate(smol, "Hi", max_new_tokens=0)
    with pytest.raises(OptionError, match="tree"):
        generate(smol, "Hi", max_new_tokens=4, method="recycle", tree="wide")
    with pytest.raises(OptionError, match="outside"):
        generate(smol, [10**9], max_new_tokens=4)
    with pytest.raises(OptionError, match="min_match"):
        generate(smol, "Hi", max_new_tokens=4, method="hybrid", min_match=0)
