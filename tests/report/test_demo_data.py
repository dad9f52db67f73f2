"""The built-in parallel demo corpus: complete, aligned, and readable through `read_parallel`."""

from __future__ import annotations

import unicodedata

from toksmith.data import DEMO_LANGUAGES, demo_parallel, demo_parallel_dir

N_LINES = 17


def test_every_language_has_every_line() -> None:
    files = sorted(demo_parallel_dir().glob("*.txt"))
    assert tuple(f.stem for f in files) == DEMO_LANGUAGES
    for f in files:
        text = f.read_text(encoding="utf-8")
        lines = text.split("\n")
        assert text.endswith("\n") and lines[-1] == "", f.name
        assert len(lines) - 1 == N_LINES, f.name
        assert all(line.strip() == line and line for line in lines[:-1]), f.name
        assert unicodedata.is_normalized("NFC", text), f.name


def test_lines_are_aligned_on_their_numbers() -> None:
    d = demo_parallel_dir()
    for lang in DEMO_LANGUAGES:
        lines = (d / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        assert "1234567" in lines[1], lang
        assert "3.14159" in lines[2] or "3,14159" in lines[2], lang
        assert "2024" in lines[3], lang
        assert lines[6].endswith(("count = count + 1.", "count = count + 1。")), lang
        assert lines[13].startswith('if x > 100: print("') and lines[13].endswith("else: print(x * 2)"), lang
        assert "+44 20 7946 0958" in lines[15] and "info@library.example" in lines[15], lang


def test_demo_parallel_reads_through_read_parallel() -> None:
    corpus = demo_parallel()
    assert tuple(corpus) == DEMO_LANGUAGES
    docs = list(corpus["jpn"])
    assert len(docs) == N_LINES and docs[0].lang == "jpn"
    assert docs[1].text.startswith("昨年は")
    assert tuple(demo_parallel(["eng", "kor"])) == ("eng", "kor")
