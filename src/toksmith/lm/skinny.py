"""Forwards of a few tokens on a CPU at about the price of one: each linear layer reading its weights once.

A draft tree's forward multiplies every weight matrix by a few rows at once. Decoding one token is a
matrix-vector product bound by memory bandwidth; a few rows should cost about the same, since the
weights are read once either way. PyTorch's `linear` (x @ W^T, MKL) does not get there on every CPU: on
session 12's 2-core machine a verification step of 4 SmolLM2 nodes cost 2.0x its one-node step, 8 nodes
2.4x. Two other forms:

- "compiled" (`toksmith._native._rows`, 16 / 8 / 4 lanes: AVX-512, AVX2, portable): each weight row is
  streamed once into up to 8 dot products, on torch's own OpenMP threads. There 4 nodes cost 1.46x and 8
  nodes 1.72x PyTorch's one-node step (`benchmarks/verify_cost.py --few-rows all`). Its sums do not
  depend on the thread count.
- "product": the same product as (W @ x^T)^T, which on some CPUs lets MKL stream the weights on every core
  (session 9's machine: 2 rows at 0.59x PyTorch's one row), on others is 2x slower (sessions 11 and 12).

All three are the same sums in another order, so they round differently by about 1e-7 relative, as any
change of shape already does (see `toksmith.decoding.verify` on near-ties). Which is fastest depends on
the CPU, so by default it is measured on the machine at first use, per row count (`fastest_forms`); the
environment's TOKSMITH_FEW_ROWS=auto|compiled|product|off sets the default, and pins the form (and with it
the numerics) where a timing could go either way from run to run.

`FewRows(model)(n)` / `few_rows(model, n)` switch every float32 CPU `nn.Linear` of the model to the chosen
form for a forward of n rows (1 to `max_rows`), and back when the block ends; longer forwards keep
PyTorch's own path. Other dtypes (not timed), GPU layers and layers that already carry their own
`forward` (hooks of other libraries) are left alone; a block inside another block on the same model
switches nothing more. The switch is on the module objects, so other threads using the model inside the
block see it too. With autograd recording, the compiled form hands back to PyTorch's linear.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toksmith._native import load_rows
from toksmith.errors import OptionError

__all__ = ["FORMS", "MAX_ROWS", "FewRows", "available_forms", "fastest_forms", "few_rows", "pytorch_linear"]

#: Up to this many rows a forward can take a few-row form (the compiled kernel's limit; W @ x^T was the
#: faster form at every count up to 8 on session 9's machine and mixed beyond: benchmarks/verify_cost.py).
MAX_ROWS = 8
#: the forms a `FewRows` can take: "auto" (the fastest measured here), "compiled", "product" (W @ x^T),
#: "off" (PyTorch's linear)
FORMS = ("auto", "compiled", "product", "off")


def _product(self: Any, x: Any, max_rows: int, threads: int) -> Any:
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


def _compiled(self: Any, x: Any, max_rows: int, threads: int) -> Any:
    """nn.Linear.forward by the compiled few-row kernel for 1..max_rows rows, on `threads` threads;
    PyTorch's linear otherwise (more rows, no outputs, another dtype or device, autograd or autocast).

    The kernel takes buffers by address (converting ~200 tensors a forward cost more than a small layer's
    product), so this checks what it passes: float32 on the CPU, contiguous, the shapes it states. A weight
    whose storage another thread replaces during the call is not safe (as for any kernel on raw memory).
    """
    torch = _torch
    weight, bias = self.weight, self.bias
    width = x.shape[-1] if x.dim() else 0
    rows = x.numel() // width if width else 0
    out = weight.shape[0] if weight.dim() == 2 else 0
    if (not 1 <= rows <= max_rows or not out or x.dtype != torch.float32 or x.device.type != "cpu"
            or torch.is_grad_enabled() or torch.is_autocast_enabled("cpu")
            or weight.dtype != torch.float32 or weight.device.type != "cpu" or not weight.is_contiguous()
            or weight.shape[1] != width
            or (bias is not None and (bias.dtype != torch.float32 or bias.device.type != "cpu"
                                      or bias.shape != (out,) or not bias.is_contiguous()))):
        return torch.nn.functional.linear(x, weight, bias)
    if not x.is_contiguous():
        x = x.contiguous()
    y = torch.empty((*x.shape[:-1], out), dtype=torch.float32, device="cpu")
    rows_ext.linear(x.data_ptr(), weight.data_ptr(), 0 if bias is None else bias.data_ptr(), y.data_ptr(), rows,
                    width, out, threads, _ISA)
    return y


_FORWARDS: dict[str, Callable[..., Any]] = {"product": _product, "compiled": _compiled}
_torch: Any = None  # torch, bound when the first FewRows is built (torch is the optional [lm] extra)
rows_ext: Any = None  # the compiled kernel (toksmith._native._rows), imported with torch: see `_bind`
_ISA = ""  # the compiled kernel's widest lanes on this CPU
_shared_threads = True  # whether the kernel's OpenMP runtime is torch's (see `_bind`)
_held_off = 0  # open `pytorch_linear` blocks

#: row counts timed by `fastest_forms`; a count between two takes the decision of the next one up
PROBE_COUNTS = (1, 2, 4, 8)
#: a few-row form is taken only where it is this much faster than PyTorch's linear (so close calls keep one form)
MARGIN = 0.9
#: weights timed (bytes): more than a CPU's caches, so they stream from memory as in a forward
PROBE_BYTES = 256 << 20
_measured: dict[tuple, dict[int, str]] = {}  # per (forms, threads, shapes timed): fastest_forms' answer


def _bind() -> None:
    """Import torch, then the compiled kernel (so that it runs on torch's OpenMP threads: `load_rows`).

    Where that did not give one runtime (a torch whose libgomp has another soname, or an Intel / LLVM
    OpenMP), the kernel's threads would be a second team competing with torch's for the cores, so "auto"
    leaves it out (a warning says so; "compiled" can still be asked for).
    """
    global _torch, rows_ext, _ISA, _shared_threads
    if _torch is None:
        import torch

        rows_ext = load_rows()
        _ISA = rows_ext.isa() if rows_ext is not None else ""
        _torch = torch
        _shared_threads = _shares_torch_threads(torch)
        if not _shared_threads:
            warnings.warn(f"toksmith: the compiled few-row kernel runs on {rows_ext.openmp_library()}, not on torch's "
                          "OpenMP runtime; it is left out of the measured forms (TOKSMITH_FEW_ROWS=compiled forces it)",
                          RuntimeWarning, stacklevel=2)


def available_forms() -> tuple[str, ...]:
    """The few-row forms this installation can take: "compiled" only where the extension is built."""
    _bind()
    return ("compiled", "product") if rows_ext is not None else ("product",)


def _shares_torch_threads(torch: Any) -> bool:
    """Whether the kernel's OpenMP runtime is torch's: where torch bundles one, the kernel must have resolved
    to that file (not to a second copy); where it does not, torch's runtime cannot be told apart, so yes."""
    ours = rows_ext.openmp_library() if rows_ext is not None else ""
    if not ours:
        return True  # built without OpenMP: one thread, nothing to compete with
    torch_dir = Path(torch.__file__).resolve().parent
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return True
    names = ("libgomp", "libiomp", "libomp")
    mapped = {Path(fields[-1]) for fields in map(str.split, maps.splitlines()) if fields and fields[-1].startswith("/")}
    runtimes = {p.resolve() for p in mapped if any(n in p.name for n in names)}
    bundled = {p for p in runtimes if p.is_relative_to(torch_dir)}
    return not bundled or Path(ours).resolve() in bundled


def fastest_forms(layers: Sequence[Any], *, forms: Sequence[str] | None = None, repeats: int = 3) -> dict[int, str]:
    """Per count of PROBE_COUNTS, the form that ran `layers` fastest on this machine: one of `forms` (default:
    the `available_forms`, the compiled one where it shares torch's threads) where it took under MARGIN times
    PyTorch's linear, else "off".

    Times the first layers holding PROBE_BYTES of weights (all of them if fewer), every form in alternation,
    medians of `repeats`. Measured once per process for the same forms, shapes and torch thread count (1.3-1.4 s
    for SmolLM2 on session 12's 2-core machine).
    """
    _bind()
    if forms is None:  # the compiled kernel only where it shares torch's threads (`_bind`)
        forms = [f for f in available_forms() if f != "compiled" or _shared_threads]
    forms = tuple(forms)
    torch = _torch
    sample, size = [], 0
    for m in layers:
        if size >= PROBE_BYTES:
            break
        sample.append(m)
        size += m.weight.numel() * m.weight.element_size()
    threads = torch.get_num_threads()
    key = (forms, threads, tuple(tuple(m.weight.shape) for m in sample))
    if key in _measured:
        return _measured[key]
    gen = torch.Generator().manual_seed(0)
    fastest = {}
    clock = time.perf_counter
    linear = torch.nn.functional.linear
    with torch.inference_mode():
        for n in PROBE_COUNTS:
            xs = {m.in_features: torch.randn(n, m.in_features, generator=gen) for m in sample}
            secs: dict[str, list[float]] = {form: [] for form in ("off", *forms)}
            for rep in range(repeats + 1):  # the first round warms every form up
                for form in secs:
                    forward = _FORWARDS.get(form)
                    t0 = clock()
                    for m in sample:
                        x = xs[m.in_features]
                        forward(m, x, n, threads) if forward else linear(x, m.weight, m.bias)
                    if rep:
                        secs[form].append(clock() - t0)
            median = {form: statistics.median(t) for form, t in secs.items()}
            best = min(forms, key=median.__getitem__, default="off")
            fastest[n] = best if forms and median[best] < MARGIN * median["off"] else "off"
    _measured[key] = fastest
    return fastest


@contextmanager
def pytorch_linear() -> Iterator[None]:
    """Within the block no `FewRows` switches a layer: PyTorch's own linear path (for timing one against the other)."""
    global _held_off
    _held_off += 1
    try:
        yield
    finally:
        _held_off -= 1


def _check_form(form: str, where: str) -> str:
    """`form` if it is one of FORMS and can be taken here, else an OptionError naming `where` it came from."""
    if form not in FORMS:
        raise OptionError(f"{where} is '{form}'; use one of {', '.join(FORMS)}")
    if form == "compiled" and "compiled" not in available_forms():
        raise OptionError(f"{where} is 'compiled', but the compiled extension is not built (pip install -e .)")
    return form


class FewRows:
    """The float32 CPU linear layers of `model` (as placed when built), switched to a few-row form inside
    `with rows(n):` when n <= max_rows.

    Args:
        form: one of FORMS. None (default): as the environment's TOKSMITH_FEW_ROWS says, "auto" if unset.
            "auto": per row count, the form `fastest_forms` measured fastest on this machine (or PyTorch's
            own); "compiled" / "product": that form at every count; "off": PyTorch's own path.
    """

    def __init__(self, model: Any, *, max_rows: int = MAX_ROWS, form: str | None = None) -> None:
        _bind()
        torch = self.torch = _torch
        if form is None:
            form = os.environ.get("TOKSMITH_FEW_ROWS", "auto").strip().lower() or "auto"
            form = _check_form(form, "TOKSMITH_FEW_ROWS")
        self.form = _check_form(form, "the few-row form")
        self.max_rows = min(max_rows, MAX_ROWS) if form in ("auto", "compiled") else max_rows
        self._fastest: dict[int, dict[int, str]] = {}  # fastest_forms per torch thread count
        self._forwards: dict[tuple[str, int], Callable[..., Any]] = {}
        self.layers = [] if form == "off" else [
            m for m in model.modules()
            if type(m) is torch.nn.Linear and m.weight.device.type == "cpu" and m.weight.dtype == torch.float32]

    def takes(self, rows: int) -> str:
        """The form a forward of `rows` rows takes now ("off": PyTorch's own path)."""
        if not self.layers or not 1 <= rows <= self.max_rows or _held_off:
            return "off"
        if self.form != "auto":
            return self.form
        threads = self.torch.get_num_threads()
        if threads not in self._fastest:
            self._fastest[threads] = fastest_forms(self.layers)
        return self._fastest[threads][next((c for c in PROBE_COUNTS if c >= rows), PROBE_COUNTS[-1])]

    @contextmanager
    def __call__(self, rows: int) -> Iterator[None]:
        """Within the block, forwards of `rows` rows (1..max_rows) take the form `takes` says; restored after."""
        form = self.takes(rows)
        if form == "off":
            yield
            return
        threads = self.torch.get_num_threads()
        forward = self._forwards.get((form, threads))
        if forward is None:
            forward = functools.partial(_FORWARDS[form], max_rows=self.max_rows, threads=threads)
            self._forwards[form, threads] = forward
        # layers with a forward of their own (another library's hook, or an enclosing block) stay as they are
        mine = [m for m in self.layers if "forward" not in m.__dict__]
        for m in mine:  # the instance dict directly: nn.Module.__setattr__ costs ~10x more
            m.__dict__["forward"] = types.MethodType(forward, m)
        try:
            yield
        finally:
            for m in mine:
                del m.__dict__["forward"]


@contextmanager
def few_rows(model: Any, rows: int, *, max_rows: int = MAX_ROWS, form: str | None = None) -> Iterator[None]:
    """Within the block, `model`'s CPU linear layers compute forwards of `rows` rows (1..max_rows) in `form`
    (default: the compiled kernel, or W @ x^T where it is not built; not measured).

    The layers are restored when the block ends, even on an error, so other users of the same model
    (transformers' own `generate`, for one) see it unchanged. Hold a `FewRows` for repeated use.
    """
    with FewRows(model, max_rows=max_rows, form=form or available_forms()[0])(rows):
        yield
