"""Compiled hot loops (pybind11). Each has a pure-Python reference elsewhere in the package.

`toksmith._native._bpe` (BPE training) and `toksmith._native._eval` (the per-batch reductions of the
evaluation pass) are built by setup.py (`pip install .` or `python setup.py build_ext --inplace`).
"""
