"""The type stubs of the compiled modules list exactly what the modules expose."""

from __future__ import annotations

import ast
from pathlib import Path

import toksmith._native
from toksmith._native import _bpe, _eval


def test_stub_matches_the_compiled_module() -> None:
    stub = Path(toksmith._native.__file__).parent / "_bpe.pyi"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    public = {k for k in vars(_bpe) if not k.startswith("_")}
    assert funcs | set(classes) == public
    for name, node in classes.items():
        members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} - {"__init__"}
        runtime = {k for k in vars(getattr(_bpe, name)) if not k.startswith("_")}
        assert members == runtime, name


def test_eval_stub_matches_the_compiled_module() -> None:
    stub = Path(toksmith._native.__file__).parent / "_eval.pyi"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert funcs == {k for k in vars(_eval) if not k.startswith("_")}
