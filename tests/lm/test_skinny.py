"""Few-row forwards as W @ x^T (toksmith.lm.skinny): same outputs, the form really taken, the model restored."""

from __future__ import annotations

import pytest


@pytest.fixture
def two_threads():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the W @ x^T form applies from 2 threads on
    yield
    torch.set_num_threads(threads)


def test_few_rows_forward_equals_linear_and_restores_the_model(tmp_path, two_threads) -> None:
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
        rows = FewRows(model, max_rows=8, enabled=True)
        with pytest.raises(RuntimeError), rows(4):
            assert all("forward" in m.__dict__ for m in linears)
            raise RuntimeError("boom")
        assert all("forward" not in m.__dict__ for m in linears)
        with rows(9), rows(0), pytorch_linear(), rows(4):  # more than max_rows, no rows, held off: PyTorch's path
            assert all("forward" not in m.__dict__ for m in linears)
        with rows(2):  # a block inside a block switches nothing more, and leaves the outer one switched
            with rows(3):
                pass
            assert all("forward" in m.__dict__ for m in linears)
        assert all("forward" not in m.__dict__ for m in linears)
        assert FewRows(model, enabled=False).layers == []
        torch.set_num_threads(1)
        with rows(4):  # one thread: PyTorch's own kernels
            assert not any("forward" in m.__dict__ for m in linears)
        torch.set_num_threads(2)


def test_few_rows_take_the_product_form_with_bias_batches_and_float32_only(two_threads, monkeypatch) -> None:
    import torch

    from toksmith.lm.skinny import FewRows

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.Linear(24, 8, bias=False))
    half = torch.nn.Linear(16, 4).to(torch.bfloat16)
    own = torch.nn.Linear(16, 4)
    hook = own.forward
    own.forward = hook  # a forward of its own (as other libraries' hooks set): left alone and kept
    rows = FewRows(torch.nn.ModuleList([model, half, own]), enabled=True)
    assert half not in rows.layers and own in rows.layers
    calls = []
    for mm in ("mm", "addmm"):
        real = getattr(torch, mm)
        monkeypatch.setattr(torch, mm, lambda *a, _r=real, _n=mm, **k: calls.append(_n) or _r(*a, **k))
    for shape in ((1, 16), (16,), (2, 3, 16), (1, 5, 16)):
        x = torch.randn(*shape)
        ref = model(x)
        calls.clear()
        with torch.no_grad(), rows(x.numel() // 16):
            got = model(x)
            assert own.__dict__["forward"] is hook
        assert calls == ["addmm", "mm"], (shape, calls)  # the biased layer fused its bias, the other had none
        assert got.shape == ref.shape and torch.allclose(got, ref, rtol=1e-5, atol=1e-6), shape
    assert own.__dict__["forward"] is hook


def test_the_form_is_measured_once_and_followed_by_default(tmp_path, two_threads) -> None:
    """By default a count takes W @ x^T only where `faster_counts` measured it faster (the next probed count up);
    the measurement is made once per shapes and thread count; enabled=False never switches."""
    import torch
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.lm import skinny

    model = tiny_llama(byte_level_bpe(tmp_path)).model
    rows = skinny.FewRows(model)
    linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
    faster = skinny.faster_counts(rows.layers)
    assert faster <= set(skinny.PROBE_COUNTS) and skinny.faster_counts(rows.layers) is faster  # cached
    for n in range(1, 9):
        probe = min(c for c in skinny.PROBE_COUNTS if c >= n)
        assert rows.takes(n) == (probe in faster)
        with rows(n):
            assert all(("forward" in m.__dict__) == (probe in faster) for m in linears)
    off = skinny.FewRows(model, enabled=False)
    assert not any(off.takes(n) for n in range(1, 9))


def test_the_environment_pins_the_form(tmp_path, two_threads, monkeypatch) -> None:
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.errors import OptionError
    from toksmith.lm import skinny

    model = tiny_llama(byte_level_bpe(tmp_path)).model
    monkeypatch.setenv("TOKSMITH_FEW_ROWS", "on")
    assert all(skinny.FewRows(model).takes(n) for n in range(1, 9))
    monkeypatch.setenv("TOKSMITH_FEW_ROWS", "off")
    assert not any(skinny.FewRows(model).takes(n) for n in range(1, 9))
    assert skinny.FewRows(model, enabled=True).takes(2)  # an explicit choice wins over the environment
    monkeypatch.setenv("TOKSMITH_FEW_ROWS", "sometimes")
    with pytest.raises(OptionError, match="TOKSMITH_FEW_ROWS"):
        skinny.FewRows(model)
