"""Compiled hot loops (pybind11). Each has a pure-Python reference elsewhere in the package.

`toksmith._native._bpe` (BPE training) and `toksmith._native._eval` (the per-batch reductions of the
evaluation pass) are built by setup.py (`pip install .` or `python setup.py build_ext --inplace`).
"""

from types import ModuleType

eval_ext: ModuleType | None
try:  # the evaluation pass falls back to its numpy references when the extension is not built
    from toksmith._native import _eval as eval_ext
except ImportError:  # pragma: no cover - a source checkout without build_ext
    eval_ext = None
