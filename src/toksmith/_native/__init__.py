"""Compiled hot loops (pybind11). Each has a pure-Python reference elsewhere in the package.

`toksmith._native._bpe` (BPE training), `toksmith._native._eval` (the per-batch reductions of the
evaluation pass), `toksmith._native._draft` (the growth of dynamic draft trees in speculative decoding)
and `toksmith._native._rows` (linear forwards of a few rows on a CPU, `load_rows`) are built by setup.py
(`pip install .` or `python setup.py build_ext --inplace`).
"""

from types import ModuleType

eval_ext: ModuleType | None
try:  # the evaluation pass falls back to its numpy references when the extension is not built
    from toksmith._native import _eval as eval_ext
except ImportError:  # pragma: no cover - a source checkout without build_ext
    eval_ext = None

draft_ext: ModuleType | None
try:  # dynamic draft trees fall back to their Python reference (toksmith.decoding.draft) when not built
    from toksmith._native import _draft as draft_ext
except ImportError:  # pragma: no cover - a source checkout without build_ext
    draft_ext = None


def load_rows() -> ModuleType | None:
    """The few-row linear kernel (`_rows`), or None where it is not built (PyTorch's linear is then taken).

    Imported after torch, so that its OpenMP runtime is torch's own (the same soname, libgomp.so.1): the
    kernel then runs on torch's threads, not on a second team competing with them for the cores.
    """
    import torch  # noqa: F401  (first: see above)

    try:
        from toksmith._native import _rows
    except ImportError:  # pragma: no cover - a source checkout without build_ext
        return None
    return _rows
