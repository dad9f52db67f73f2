"""Atomic writes: the file appears whole or not at all."""

from __future__ import annotations

import os

import pytest

from toksmith.errors import ToksmithError
from toksmith.io import atomic_write_bytes, atomic_write_text


def test_writes_and_replaces(tmp_path) -> None:
    p = tmp_path / "out.txt"
    atomic_write_text(p, "héllo\n")
    assert p.read_bytes() == b"h\xc3\xa9llo\n"
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.txt"]


def test_failed_write_leaves_no_file(tmp_path) -> None:
    p = tmp_path / "out.bin"
    with pytest.raises(TypeError):
        atomic_write_bytes(p, "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path) -> None:
    p = tmp_path / "out.txt"
    atomic_write_text(p, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(p, "lone surrogate \ud800")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["out.txt"]


def test_missing_directory_raises(tmp_path) -> None:
    with pytest.raises(ToksmithError, match="nope/x.txt: cannot write here"):
        atomic_write_text(tmp_path / "nope" / "x.txt", "x")
    assert not (tmp_path / "nope").exists()
