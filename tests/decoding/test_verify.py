"""The verifier's dead rows: rejected draft tokens stay in the KV cache, masked, until one compaction.

Tiny random Llama and Gemma 3 models (the Gemma 3 has a 3-token sliding window, so the masks of dead rows
must hold inside the window too); the real models run the same code in test_lossless.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from toksmith.decoding import generate
from toksmith.decoding.draft import DraftTree
from toksmith.decoding.verify import Verifier
from toksmith.errors import OptionError


@pytest.fixture(params=["llama", "gemma3"])
def tiny(request, tmp_path):
    from tests.bridge.tiny import byte_level_bpe, tiny_gemma3, tiny_llama

    make = tiny_llama if request.param == "llama" else tiny_gemma3
    return make(byte_level_bpe(tmp_path))


def _prompt(lm) -> list[int]:
    return [lm.bos_id] + lm.tokenizer.encode("ab ab aab ba abba ab ab")


def test_outputs_do_not_depend_on_when_dead_rows_are_compacted(tiny) -> None:
    """Compacting after every step, every few steps or never: the same ids as one forward per token."""
    prompt = _prompt(tiny)
    ref = generate(tiny, prompt, max_new_tokens=40, method="greedy", eos_ids=[-1]).ids
    for kw in ({"method": "recycle", "tree": "3,2,1"}, {"method": "hybrid", "tree": "dyn12", "branch": "dyn"},
               {"method": "suffix"},  # one-token steps where no suffix matches: with dead rows, masked too
               {"method": "hybrid", "tree": "2,1", "corpus": [prompt + ref[:25]]}):
        for max_dead in (0, 5, 10_000):
            res = generate(tiny, prompt, max_new_tokens=40, eos_ids=[-1], adaptive=False, max_dead=max_dead, **kw)
            assert res.ids == ref, (kw, max_dead, res.stats)
            st = res.stats
            assert st.draft_tokens > st.new_tokens - 1 - st.steps  # draft rows were rejected: dead rows were kept


def test_compaction_moves_the_live_rows_exactly(tiny) -> None:
    """After steps that keep dead rows, one compaction leaves exactly the live rows, bit for bit, in order."""
    prompt = _prompt(tiny)
    ver = Verifier(tiny, topk=0, max_dead=10_000)
    root = ver.prefill(prompt)[0]
    ref = generate(tiny, prompt, max_new_tokens=20, method="greedy", eos_ids=[-1]).ids
    done = 1
    for step in range(7):
        tree = DraftTree(tokens=[root])
        node = 0
        for tok in ref[done: done + step % 3]:  # the true continuation for 0-2 tokens: paths of every length
            node = tree.add(node, tok, 1)
        for i in range(4 if step < 6 else 0):  # and wrong tokens beside it; the last step is a plain one
            tree.add(i % max(1, len(tree) - 1), (step * 5 + i * 3 + 1) % tiny.vocab_size, 1)
        path, emitted, _ = ver.verify(tree)
        assert emitted == ref[done: done + len(emitted)]
        done += len(emitted)
        root = emitted[-1]
    rows = len(ver.live)
    assert ver.cached == int(ver.live.sum()) == len(prompt) + done - 1 < rows
    assert np.array_equal(ver.row_pos[ver.live], np.arange(ver.cached))
    live = np.flatnonzero(ver.live)
    before = [(layer.keys[:, :, live].clone(), layer.values[:, :, live].clone()) for layer in ver.cache.layers]
    ver._compact()
    assert len(ver.live) == ver.cached and ver.live.all() and np.array_equal(ver.row_pos, np.arange(ver.cached))
    for layer, (k, v) in zip(ver.cache.layers, before, strict=True):
        assert layer.keys.shape[2] == ver.cached
        assert (layer.keys == k).all() and (layer.values == v).all()
    path, emitted, _ = ver.verify(DraftTree(tokens=[root]))  # a plain step after compaction: no mask needed
    assert emitted == ref[done: done + 1]


def test_negative_max_dead_is_refused(tiny) -> None:
    with pytest.raises(OptionError, match="max_dead"):
        generate(tiny, _prompt(tiny), max_new_tokens=4, method="recycle", max_dead=-1)


@pytest.mark.parametrize("form", ["compiled", "product", "off"])
def test_every_few_row_form_decodes_the_same_ids(tiny, form, kernel_calls) -> None:
    """Hybrid drafts verified with each form of the CPU linear layers (forwards of 1-8 rows in that form, 2
    threads) give the ids of one PyTorch forward per token."""
    import torch

    prompt = _prompt(tiny)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        ref = generate(tiny, prompt, max_new_tokens=40, method="greedy", eos_ids=[-1], few_rows="off").ids
        res = generate(tiny, prompt, max_new_tokens=40, method="hybrid", tree="dyn5", branch="dyn", eos_ids=[-1],
                       adaptive=False, few_rows=form)
    finally:
        torch.set_num_threads(threads)
    assert res.ids == ref and res.stats.steps < len(ref), (form, res.stats)
    assert bool(kernel_calls.calls) == (form == "compiled")  # the kernel ran, and only in its form
    with pytest.raises(OptionError, match="few-row form"):
        generate(tiny, prompt, max_new_tokens=2, method="greedy", few_rows="fastest")


def test_masked_gqa_changes_no_bit(tiny, monkeypatch) -> None:
    """Tree forwards with SDPA's grouped-query attention (the default on a CPU) and with K and V copied per
    query head (transformers' way under a mask): the same paths, logits' top-k and KV rows, bit for bit; and
    the grouped kernel did run, with a mask, on the shared K/V heads."""
    import torch

    prompt = _prompt(tiny)
    ref = generate(tiny, prompt, max_new_tokens=12, method="greedy", eos_ids=[-1]).ids
    sdpa = torch.nn.functional.scaled_dot_product_attention
    grouped = []

    def spy(q, k, v, *args, **kw):
        grouped.append(bool(kw.get("enable_gqa")) and kw.get("attn_mask") is not None and k.shape[1] < q.shape[1])
        return sdpa(q, k, v, *args, **kw)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    runs = []
    for gqa in (True, False):
        ver = Verifier(tiny, topk=4, max_dead=10_000, gqa=gqa)
        assert ver.gqa is gqa
        root = ver.prefill(prompt)[0]
        grouped.clear()
        steps = []
        for step in range(4):
            tree = DraftTree(tokens=[root])
            node = tree.add(0, ref[1 + step], 1)
            tree.add(node, (step * 7 + 3) % tiny.vocab_size, 1)
            tree.add(0, (step * 5 + 1) % tiny.vocab_size, 1)
            path, emitted, top = ver.verify(tree)
            steps.append((path, emitted, top[0].tolist(), top[1].tobytes()))
            root = emitted[-1]
        assert any(grouped) is gqa
        kv = [(layer.keys.clone(), layer.values.clone()) for layer in ver.cache.layers]
        runs.append((steps, kv))
    (steps_g, kv_g), (steps_c, kv_c) = runs
    assert steps_g == steps_c
    for (kg, vg), (kc, vc) in zip(kv_g, kv_c, strict=True):
        assert torch.equal(kg, kc) and torch.equal(vg, vc)
