"""Few-row forwards (toksmith.lm.skinny): the compiled kernel against torch's linear (its reference), the
forms really taken, the model restored, the measurement followed, and the environment's pin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture
def two_threads():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the forms split the weights over threads: two, so the split is tested
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("form", ["compiled", "product"])
def test_few_rows_forward_equals_linear_and_restores_the_model(tmp_path, two_threads, kernel_calls, form) -> None:
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
                before = kernel_calls.calls
                with few_rows(model, n, form=form):
                    got = model(ids).logits
                assert (kernel_calls.calls > before) == (form == "compiled" and n <= 8), (form, n)
            assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5), (lm.name, n)
        assert all("forward" not in m.__dict__ for m in linears)
        # switched only inside the block, and restored when the block raises
        rows = FewRows(model, max_rows=8, form=form)
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
        assert FewRows(model, form="off").layers == []


@pytest.mark.parametrize("form", ["compiled", "product"])
def test_few_rows_take_the_form_with_bias_batches_and_float32_only(two_threads, monkeypatch, kernel_calls,
                                                                   form) -> None:
    import torch

    from toksmith.lm.skinny import FewRows

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.Linear(24, 8, bias=False))
    half = torch.nn.Linear(16, 4).to(torch.bfloat16)
    own = torch.nn.Linear(16, 4)
    hook = own.forward
    own.forward = hook  # a forward of its own (as other libraries' hooks set): left alone and kept
    rows = FewRows(torch.nn.ModuleList([model, half, own]), form=form)
    assert half not in rows.layers and own in rows.layers
    calls = []
    for mm in ("mm", "addmm"):
        real = getattr(torch, mm)
        monkeypatch.setattr(torch, mm, lambda *a, _r=real, _n=mm, **k: calls.append(_n) or _r(*a, **k))
    for shape in ((1, 16), (16,), (2, 3, 16), (1, 5, 16)):
        x = torch.randn(*shape)
        ref = model(x)
        calls.clear()
        kernel_calls.calls = 0
        with torch.no_grad(), rows(x.numel() // 16):
            got = model(x)
            assert own.__dict__["forward"] is hook
        if form == "product":  # the biased layer fused its bias, the other had none
            assert calls == ["addmm", "mm"], (shape, calls)
        else:
            assert calls == [] and kernel_calls.calls == 2, (shape, kernel_calls.calls)
        assert got.shape == ref.shape and torch.allclose(got, ref, rtol=1e-5, atol=1e-6), shape
    assert own.__dict__["forward"] is hook


def test_compiled_form_hands_what_it_cannot_take_to_torch(two_threads, kernel_calls) -> None:
    """No outputs, a bias of another dtype or a broadcast shape, a non-contiguous bias, autocast, another
    default dtype: PyTorch's linear (same values, no kernel call); the kernel's output is float32 on the CPU."""
    import torch

    from toksmith.lm import skinny

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 16, generator=gen)
    broadcast = torch.nn.Linear(16, 6)
    broadcast.bias = torch.nn.Parameter(torch.randn(1, generator=gen))
    strided = torch.nn.Linear(16, 6)
    strided.bias = torch.nn.Parameter(torch.randn(12, generator=gen)[::2])
    mixed = torch.nn.Linear(16, 6)
    mixed.bias = torch.nn.Parameter(torch.randn(6, generator=gen, dtype=torch.float64))
    with torch.inference_mode():
        for layer in (torch.nn.Linear(16, 0), broadcast, strided):
            ref = torch.nn.functional.linear(x, layer.weight, layer.bias)
            assert torch.equal(skinny._compiled(layer, x, 8, 2), ref)
        with pytest.raises(RuntimeError, match="dtype"):  # torch's own error, as without the kernel
            skinny._compiled(mixed, x, 8, 2)
        assert kernel_calls.calls == 0
        plain = torch.nn.Linear(16, 6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert skinny._compiled(plain, x, 8, 2).dtype == torch.bfloat16 and kernel_calls.calls == 0
        default = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            y = skinny._compiled(plain, x, 8, 2)
        finally:
            torch.set_default_dtype(default)
        assert kernel_calls.calls == 1 and y.dtype == torch.float32
        assert torch.allclose(y, torch.nn.functional.linear(x, plain.weight, plain.bias), rtol=1e-5, atol=1e-6)


def test_the_form_is_measured_once_and_followed_by_default(tmp_path, two_threads) -> None:
    """By default a count takes the form `fastest_forms` measured fastest here (that of the next probed count
    up); the measurement is made once per forms, shapes and thread count; form="off" never switches."""
    import torch
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.lm import skinny

    model = tiny_llama(byte_level_bpe(tmp_path)).model
    rows = skinny.FewRows(model)
    linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
    fastest = skinny.fastest_forms(rows.layers)
    assert set(fastest) == set(skinny.PROBE_COUNTS) and skinny.fastest_forms(rows.layers) is fastest  # cached
    assert set(fastest.values()) <= {"off", *skinny.available_forms()}
    for n in range(1, 9):
        form = fastest[min(c for c in skinny.PROBE_COUNTS if c >= n)]
        assert rows.takes(n) == form
        with rows(n):
            assert all(("forward" in m.__dict__) == (form != "off") for m in linears)
    off = skinny.FewRows(model, form="off")
    assert all(off.takes(n) == "off" for n in range(1, 9))
    assert skinny.fastest_forms(rows.layers, forms=()) == dict.fromkeys(skinny.PROBE_COUNTS, "off")


def test_the_environment_pins_the_form(tmp_path, two_threads, monkeypatch) -> None:
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.errors import OptionError
    from toksmith.lm import skinny

    model = tiny_llama(byte_level_bpe(tmp_path)).model
    for form in ("compiled", "product", "off"):
        monkeypatch.setenv("TOKSMITH_FEW_ROWS", form)
        assert all(skinny.FewRows(model).takes(n) == form for n in range(1, 9))
        assert skinny.FewRows(model).takes(9) == "off"  # beyond 8 rows: PyTorch's own path
    assert skinny.FewRows(model, form="product").takes(2) == "product"  # an explicit choice wins over the environment
    monkeypatch.setenv("TOKSMITH_FEW_ROWS", "sometimes")
    with pytest.raises(OptionError, match="TOKSMITH_FEW_ROWS"):
        skinny.FewRows(model)
    with pytest.raises(OptionError, match="few-row form"):
        skinny.FewRows(model, form="fast")


def _kernels(isa: str) -> list[str]:
    """Every kernel a CPU whose widest is `isa` runs, widest first."""
    return {"avx512": ["avx512", "avx2", "portable"], "avx2": ["avx2", "portable"]}.get(isa, ["portable"])


def _guarded(values):
    """`values` as a view inside a NaN-filled buffer, at an offset: a read outside it makes the output NaN."""
    import torch

    buf = torch.full((values.numel() + 64,), float("nan"))
    view = buf[17: 17 + values.numel()].view(values.shape)
    view.copy_(values)
    return view


def _kernel_inputs(gen, rows: int, width: int, out: int, bias: bool):
    import torch

    x = _guarded(torch.randn(rows, width, generator=gen))
    w = _guarded(torch.randn(out, width, generator=gen) / width**0.5)
    b = _guarded(torch.randn(out, generator=gen)) if bias else None
    return x, w, b


def test_compiled_kernel_equals_torch_linear_on_every_instruction_set() -> None:
    """Every kernel this CPU runs (16, 8 and 4 lanes) against torch's linear, its reference: 1 to 8 rows, widths
    with and without a tail past the lanes, layers narrower than one thread's share, with and without bias."""
    import torch

    from toksmith.lm import skinny

    skinny._bind()
    ext = skinny.rows_ext
    assert ext is not None, "the compiled extension is not built (pip install -e .)"
    assert ext.MAX_ROWS == skinny.MAX_ROWS  # the Python side's limit is the kernel's
    kernels = _kernels(ext.isa())
    gen = torch.Generator().manual_seed(0)
    for kernel in kernels:
        for rows in range(1, 9):
            for width, out, bias in ((16, 24, True), (37, 130, False), (576, 192, True), (5, 3, False),
                                     (111, 70, True)):
                x, w, b = _kernel_inputs(gen, rows, width, out, bias)
                y = torch.empty(rows, out)
                ext.linear(x.data_ptr(), w.data_ptr(), 0 if b is None else b.data_ptr(), y.data_ptr(), rows, width,
                           out, 2, kernel)
                ref = torch.nn.functional.linear(x.double(), w.double(), None if b is None else b.double())
                assert torch.allclose(y.double(), ref, rtol=1e-5, atol=1e-5), (kernel, rows, width, out)  # no NaN
    if sys.platform.startswith("linux"):  # built with OpenMP, on torch's runtime where torch bundles one
        assert Path(ext.openmp_library()).is_file() and skinny._shared_threads, ext.openmp_library()
    with pytest.raises(ValueError, match="1 to 8 rows"):
        ext.linear(x.data_ptr(), w.data_ptr(), 0, y.data_ptr(), 9, 5, 3, 1, kernels[-1])
    with pytest.raises(ValueError, match="no sse9 kernel"):
        ext.linear(x.data_ptr(), w.data_ptr(), 0, y.data_ptr(), 1, 5, 3, 1, "sse9")


def test_compiled_form_gives_the_same_bits_on_any_thread_count_and_hands_autograd_back(monkeypatch,
                                                                                        kernel_calls) -> None:
    """Each output is summed by one thread in one order, so the thread count changes no bit (every kernel this
    CPU runs, a width with a tail past the lanes); with autograd recording, or a non-contiguous weight, the
    layer takes torch's linear (gradients flow)."""
    import torch

    from toksmith.lm import skinny

    kernels = _kernels(skinny._ISA)
    gen = torch.Generator().manual_seed(1)
    layer = torch.nn.Linear(111, 1000)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(1000, 111, generator=gen))
    x = torch.randn(3, 2, 111, generator=gen)[:, 1]  # a view with strides: made contiguous first
    ref = torch.nn.functional.linear(x, layer.weight, layer.bias)
    for kernel in kernels:
        monkeypatch.setattr(skinny, "_ISA", kernel)
        with torch.inference_mode():
            outs = [skinny._compiled(layer, x, 8, threads) for threads in (1, 2, 3, 7)]
        assert all(torch.equal(o, outs[0]) for o in outs), kernel
        assert torch.allclose(outs[0], ref, rtol=1e-5, atol=1e-4), kernel
    assert kernel_calls.calls == 4 * len(kernels)
    xg = x.clone().requires_grad_()
    y = skinny._compiled(layer, xg, 8, 2)
    y.sum().backward()
    assert xg.grad is not None and torch.allclose(y, ref, rtol=1e-5, atol=1e-4)
    strided = torch.nn.Linear(96, 40)
    strided.weight = torch.nn.Parameter(torch.randn(96, 40, generator=gen).t())  # not contiguous
    x96 = torch.randn(2, 96, generator=gen)
    with torch.inference_mode():
        assert torch.equal(skinny._compiled(strided, x96, 8, 2),
                           torch.nn.functional.linear(x96, strided.weight, strided.bias))
    assert kernel_calls.calls == 4 * len(kernels)
