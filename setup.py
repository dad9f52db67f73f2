"""Build the compiled hot loops (pybind11); everything else is declared in pyproject.toml."""

import sys

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

OPENMP = ["-fopenmp"] if sys.platform.startswith("linux") else []
LINK_OPENMP = [*OPENMP, "-ldl"] if OPENMP else []  # dladdr (rows.cpp's openmp_library), in libc from glibc 2.34

ext_modules = [
    Pybind11Extension(
        "toksmith._native._bpe",
        ["src/toksmith/_native/bpe.cpp"],
        # bpe.cpp includes these (one translation unit); a change to any of them rebuilds the module
        depends=[f"src/toksmith/_native/{h}.h" for h in ("hash_table", "matchers", "counter", "trainer")],
        cxx_std=17,
        extra_compile_args=["-O3"],
    ),
    Pybind11Extension(
        "toksmith._native._eval",
        ["src/toksmith/_native/eval.cpp"],
        cxx_std=17,
        extra_compile_args=["-O3"],
    ),
    Pybind11Extension(
        "toksmith._native._rows",
        ["src/toksmith/_native/rows.cpp"],
        cxx_std=17,
        # OpenMP on Linux links libgomp.so.1, the soname of torch's own copy: imported after torch, the
        # kernel runs on torch's threads (toksmith.lm.skinny imports it so); elsewhere it runs single-threaded
        extra_compile_args=["-O3", *OPENMP],
        extra_link_args=LINK_OPENMP,
    ),
    Pybind11Extension(
        "toksmith._native._draft",
        ["src/toksmith/_native/draft.cpp"],
        cxx_std=17,
        extra_compile_args=["-O3"],
    ),
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})
