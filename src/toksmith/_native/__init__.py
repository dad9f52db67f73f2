"""Compiled hot loops (pybind11). Each has a pure-Python reference elsewhere in the package.

`toksmith._native._bpe` (BPE training), `toksmith._native._eval` (the per-batch reductions of the
evaluation pass) and `toksmith._native._draft` (the growth of dynamic draft trees in speculative decoding)
are built by setup.py (`pip install .` or `python setup.py build_ext --inplace`).
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
