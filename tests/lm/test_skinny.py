"""Few-row forwards as W @ x^T (toksmith.lm.skinny): same logits, and the model restored after the block."""

from __future__ import annotations

import pytest


def test_few_rows_forward_equals_linear_and_restores_the_model(tmp_path) -> None:
    import torch
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.lm.skinny import FewRows

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the W @ x^T form applies from 2 threads on
    try:
        _check(tmp_path)
        torch.set_num_threads(1)
        lm = tiny_llama(byte_level_bpe(tmp_path))
        with FewRows(lm.model)(4):  # one thread: PyTorch's own kernels
            assert not any("forward" in m.__dict__ for m in lm.model.modules())
    finally:
        torch.set_num_threads(threads)


def _check(tmp_path) -> None:
    import torch
    from tests.bridge.tiny import byte_level_bpe, tiny_gemma3, tiny_llama

    from toksmith.lm.skinny import FewRows, few_rows, pytorch_linear

    tok = byte_level_bpe(tmp_path)
    for lm in (tiny_llama(tok), tiny_gemma3(tok)):
        model = lm.model
        linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
        assert linears
        for n in (1, 2, 4, 9):
            ids = torch.tensor([[(7 * i + 3) % lm.vocab_size for i in range(n)]])
            with torch.inference_mode():
                ref = model(ids).logits
                with few_rows(model, n):
                    got = model(ids).logits
            assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5), (lm.name, n)
        assert all("forward" not in m.__dict__ for m in linears)
        # switched only inside the block, and restored when the block raises
        rows = FewRows(model, max_rows=8)
        with pytest.raises(RuntimeError), rows(4):
            assert all("forward" in m.__dict__ for m in linears)
            raise RuntimeError("boom")
        assert all("forward" not in m.__dict__ and "_toksmith_max_rows" not in m.__dict__ for m in linears)
        with rows(9), rows(0), pytorch_linear(), rows(4):  # more than max_rows, no rows, held off: PyTorch's path
            assert all("forward" not in m.__dict__ for m in linears)
        assert FewRows(model, enabled=False).layers == []
