"""Forwards of a few tokens on a CPU at the price of one: each linear layer as W @ x^T.

A draft tree's forward multiplies every weight matrix by a few rows at once. Decoding one token is a
matrix-vector product bound by memory bandwidth; a few rows should cost about the same, since the
weights are read once either way. PyTorch's `linear` (x @ W^T, MKL) does not get there on a CPU: on
this project's 2-core machine one row reads the weights from one core, SmolLM2's 4-row forward costs
1.4x the one-row forward, and 2-3 rows cost more than 4 (`benchmarks/verify_cost.py --few-rows both`).
The same product as (W @ x^T)^T lets MKL stream the weights on every core: 2 rows then cost 0.59x
what PyTorch's one row does, and 4 rows 0.75x. One row goes through the same 2-column product. The
values are the same sums in another order, so they round differently by about 1e-7 relative, as any
change of shape already does (see `toksmith.decoding.verify` on near-ties).

`FewRows(model)(n)` / `few_rows(model, n)` switch every float32 CPU `nn.Linear` of the model to that
form for a forward of n rows (1 to `max_rows`), and back when the block ends; longer forwards keep
PyTorch's own path, and so does everything when torch runs one thread (a probe found no gain there).
Other dtypes (not timed), GPU layers and layers that already carry their own `forward` (hooks of other
libraries) are left alone; a block inside another block on the same model switches nothing more. The
switch is on the module objects, so other threads using the model inside the block see it too.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MAX_ROWS", "FewRows", "few_rows", "pytorch_linear"]

#: Up to this many rows the W @ x^T form was the faster one at every count measured on a CPU
#: (benchmarks/verify_cost.py --few-rows both, SmolLM2, 2 threads: 1-8 rows cost 0.59-1.09x PyTorch's
#: one-row forward, against 1.0-1.97x its own way; beyond 8 it is mixed: 12 rows slower, 16-64 up to 13%
#: faster).
MAX_ROWS = 8


def _forward(self: Any, x: Any, max_rows: int) -> Any:
    """nn.Linear.forward as (W @ x^T)^T for 1..max_rows rows; PyTorch's linear otherwise.

    One row goes in twice: W @ x^T with one column is MKL's matrix-vector product again, on one core.
    """
    torch = _torch
    rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
    if not 1 <= rows <= max_rows:
        return torch.nn.functional.linear(x, self.weight, self.bias)
    cols = x.reshape(rows, x.shape[-1])
    cols = (cols.repeat(2, 1) if rows == 1 else cols).t()
    y = torch.mm(self.weight, cols) if self.bias is None else torch.addmm(self.bias[:, None], self.weight, cols)
    return y.t()[:rows].contiguous().reshape(*x.shape[:-1], self.weight.shape[0])


_torch: Any = None  # torch, bound when the first FewRows is built (torch is the optional [lm] extra)
_held_off = 0  # open `pytorch_linear` blocks


@contextmanager
def pytorch_linear() -> Iterator[None]:
    """Within the block no `FewRows` switches a layer: PyTorch's own linear path (for timing one against the other)."""
    global _held_off
    _held_off += 1
    try:
        yield
    finally:
        _held_off -= 1


class FewRows:
    """The float32 CPU linear layers of `model` (as placed when built), switched to W @ x^T inside
    `with rows(n):` when n <= max_rows."""

    def __init__(self, model: Any, *, max_rows: int = MAX_ROWS, enabled: bool = True) -> None:
        global _torch
        import torch

        _torch = self.torch = torch
        self.max_rows = max_rows
        self._forward = functools.partial(_forward, max_rows=max_rows)
        self.layers = [m for m in model.modules() if type(m) is torch.nn.Linear
                       and m.weight.device.type == "cpu" and m.weight.dtype == torch.float32] if enabled else []

    @contextmanager
    def __call__(self, rows: int) -> Iterator[None]:
        """Within the block, forwards of `rows` rows (1..max_rows) take the W @ x^T form; restored after."""
        if (not self.layers or not 1 <= rows <= self.max_rows or self.torch.get_num_threads() < 2
                or _held_off):
            yield  # on one thread MKL's own kernels are the faster ones (W @ x^T gains only bandwidth)
            return
        # layers with a forward of their own (another library's hook, or an enclosing block) stay as they are
        mine = [m for m in self.layers if "forward" not in m.__dict__]
        for m in mine:  # the instance dict directly: nn.Module.__setattr__ costs ~10x more
            m.__dict__["forward"] = types.MethodType(self._forward, m)
        try:
            yield
        finally:
            for m in mine:
                del m.__dict__["forward"]


@contextmanager
def few_rows(model: Any, rows: int, *, max_rows: int = MAX_ROWS) -> Iterator[None]:
    """Within the block, `model`'s CPU linear layers compute forwards of `rows` rows as W @ x^T (if 1..max_rows).

    The layers are restored when the block ends, even on an error, so other users of the same model
    (transformers' own `generate`, for one) see it unchanged. Hold a `FewRows` for repeated use.
    """
    with FewRows(model, max_rows=max_rows)(rows):
        yield
