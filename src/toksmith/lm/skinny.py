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

Which form is faster depends on the CPU, so by default it is measured on the machine at first use
(`faster_counts`): on this project's machine of session 9 W @ x^T took one row in 33 ms against
PyTorch's 55 ms, but on the same kind of machine in session 11 (another Xeon) in 111 ms against 58 ms.
The two forms round differently (~1e-7), so where a measurement could go either way from run to run,
TOKSMITH_FEW_ROWS=on or off pins the form (and with it the numerics) for every default `FewRows`.

`FewRows(model)(n)` / `few_rows(model, n)` switch every float32 CPU `nn.Linear` of the model to that
form for a forward of n rows (1 to `max_rows`) where it is the faster one, and back when the block ends;
longer forwards keep PyTorch's own path, and so does everything when torch runs one thread (a probe
found no gain there).
Other dtypes (not timed), GPU layers and layers that already carry their own `forward` (hooks of other
libraries) are left alone; a block inside another block on the same model switches nothing more. The
switch is on the module objects, so other threads using the model inside the block see it too.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from toksmith.errors import OptionError

__all__ = ["MAX_ROWS", "FewRows", "faster_counts", "few_rows", "pytorch_linear"]

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

#: row counts timed by `faster_counts`; a count between two takes the decision of the next one up
PROBE_COUNTS = (1, 2, 4, 8)
#: W @ x^T is taken only where it is this much faster than PyTorch's linear (so close calls keep one form)
MARGIN = 0.9
#: weights timed (bytes): more than a CPU's caches, so they stream from memory as in a forward
PROBE_BYTES = 64 << 20
_measured: dict[tuple, frozenset[int]] = {}  # per (threads, shapes timed): faster_counts' answer


def faster_counts(layers: Sequence[Any], *, repeats: int = 3) -> frozenset[int]:
    """The counts of PROBE_COUNTS at which W @ x^T beat PyTorch's linear on this machine, over `layers`.

    Times the first layers holding PROBE_BYTES of weights (all of them if fewer), both forms in
    alternation, medians of `repeats`; a form must be MARGIN times the other's time to count as faster.
    Measured once per process for the same shapes and torch thread count (about 0.25 s for SmolLM2).
    """
    torch = _torch
    sample, size = [], 0
    for m in layers:
        if size >= PROBE_BYTES:
            break
        sample.append(m)
        size += m.weight.numel() * m.weight.element_size()
    key = (torch.get_num_threads(), tuple(tuple(m.weight.shape) for m in sample))
    if key in _measured:
        return _measured[key]
    gen = torch.Generator().manual_seed(0)
    faster = set()
    clock = time.perf_counter
    with torch.inference_mode():
        for n in PROBE_COUNTS:
            xs = {m.in_features: torch.randn(n, m.in_features, generator=gen) for m in sample}
            secs: dict[bool, list[float]] = {True: [], False: []}
            for rep in range(repeats + 1):  # the first round warms both up
                for product in (True, False):
                    t0 = clock()
                    for m in sample:
                        x = xs[m.in_features]
                        _forward(m, x, n) if product else torch.nn.functional.linear(x, m.weight, m.bias)
                    if rep:
                        secs[product].append(clock() - t0)
            if statistics.median(secs[True]) < MARGIN * statistics.median(secs[False]):
                faster.add(n)
    _measured[key] = frozenset(faster)
    return _measured[key]


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
    `with rows(n):` when n <= max_rows and, unless `enabled` is True, that form measured faster here.

    Args:
        enabled: None (default): as the environment's TOKSMITH_FEW_ROWS says ("on", "off"), else where
            `faster_counts` measured W @ x^T faster on this machine; True: always; False: never (PyTorch's
            own path).
    """

    def __init__(self, model: Any, *, max_rows: int = MAX_ROWS, enabled: bool | None = None) -> None:
        global _torch
        import torch

        _torch = self.torch = torch
        self.max_rows = max_rows
        if enabled is None:
            pinned = os.environ.get("TOKSMITH_FEW_ROWS", "auto").strip().lower()
            if pinned not in ("auto", "on", "off"):
                raise OptionError(f"TOKSMITH_FEW_ROWS is '{pinned}'; use auto, on or off")
            enabled = {"auto": None, "on": True, "off": False}[pinned]
        self.measure = enabled is None
        self._faster: dict[int, frozenset[int]] = {}  # faster_counts per torch thread count
        self._forward = functools.partial(_forward, max_rows=max_rows)
        self.layers = [] if enabled is False else [
            m for m in model.modules()
            if type(m) is torch.nn.Linear and m.weight.device.type == "cpu" and m.weight.dtype == torch.float32]

    def takes(self, rows: int) -> bool:
        """Whether a forward of `rows` rows takes the W @ x^T form now."""
        threads = self.torch.get_num_threads()
        if not self.layers or not 1 <= rows <= self.max_rows or threads < 2 or _held_off:
            return False  # on one thread MKL's own kernels are the faster ones (W @ x^T gains only bandwidth)
        if not self.measure:
            return True
        probe = next((c for c in PROBE_COUNTS if c >= rows), PROBE_COUNTS[-1])
        if threads not in self._faster:
            self._faster[threads] = faster_counts(self.layers)
        return probe in self._faster[threads]

    @contextmanager
    def __call__(self, rows: int) -> Iterator[None]:
        """Within the block, forwards of `rows` rows (1..max_rows) take the W @ x^T form; restored after."""
        if not self.takes(rows):
            yield
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
    """Within the block, `model`'s CPU linear layers compute forwards of `rows` rows as W @ x^T (if 1..max_rows,
    from 2 threads on; not measured: always).

    The layers are restored when the block ends, even on an error, so other users of the same model
    (transformers' own `generate`, for one) see it unchanged. Hold a `FewRows` for repeated use.
    """
    with FewRows(model, max_rows=max_rows, enabled=True)(rows):
        yield
