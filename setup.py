"""Build the compiled hot loops (pybind11); everything else is declared in pyproject.toml."""

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

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
        "toksmith._native._draft",
        ["src/toksmith/_native/draft.cpp"],
        cxx_std=17,
        extra_compile_args=["-O3"],
    ),
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})
