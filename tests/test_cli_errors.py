"""Every command meets bad input with one line on stderr, exit code 2 and no traceback.

The commands run as a user runs them: a real `toksmith` process, its stderr read back whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _toksmith(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "toksmith", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def _one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad-input")
    (d / "text.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 40, encoding="utf-8")
    (d / "bad.txt").write_bytes(b"valid start \xff\xfe then invalid\n")
    (d / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    (d / "a_file").write_text("I am a file, not a directory\n", encoding="utf-8")
    return d


# (name, argv, words the one line must contain); `{d}` is the work directory.
CASES = [
    ("eval: missing corpus", ["eval", "cl100k", "--corpus", "{d}/nope.txt", "--out", "{d}/o1"], ["nope.txt"]),
    ("eval: invalid UTF-8", ["eval", "cl100k", "--corpus", "{d}/bad.txt", "--out", "{d}/o2"], ["bad.txt"]),
    ("eval: bad --errors", ["eval", "cl100k", "--corpus", "{d}/text.txt", "--errors", "bogus", "--out", "{d}/o3"],
     ["bogus"]),
    ("eval: unknown tokenizer", ["eval", "{d}/nope-tokenizer", "--corpus", "{d}/text.txt"], ["nope-tokenizer"]),
    ("eval: unwritable --out", ["eval", "cl100k", "--corpus", "{d}/text.txt", "--metrics", "compression",
                                "--out", "{d}/a_file/sub"], ["a_file"]),
    ("inspect: unknown tokenizer", ["inspect", "{d}/nope-tokenizer", "hello"], ["nope-tokenizer"]),
    ("vocab overlap: corrupt gguf", ["vocab", "overlap", "cl100k", "{d}/broken.gguf"], ["broken.gguf"]),
    ("train: missing corpus", ["train", "--corpus", "{d}/nope.txt", "--vocab-size", "300", "--out", "{d}/t1"],
     ["nope.txt"]),
    ("train: bad --save-sizes", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300", "--out", "{d}/t2",
                                 "--save-sizes", "a,b"], ["--save-sizes"]),
    ("train: bad --regex", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300", "--out", "{d}/t3",
                            "--regex", "(unclosed"], ["regex"]),
    ("train: bad --numbers", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300", "--out", "{d}/t4",
                              "--numbers", "bogus"], ["bogus"]),
    ("train: bad --preset", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300", "--out", "{d}/t5",
                             "--preset", "bogus"], ["bogus"]),
    ("train: bad --threads", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300", "--out", "{d}/t6",
                              "--threads", "100000"], ["--threads"]),
    ("train: unwritable --out", ["train", "--corpus", "{d}/text.txt", "--vocab-size", "300",
                                 "--out", "{d}/a_file/sub"], ["a_file"]),
    ("score: corrupt model", ["score", "{d}/broken.gguf", "--corpus", "{d}/text.txt"], ["broken.gguf"]),
    ("score: bad --weights", ["score", "{d}/broken.gguf+{d}/broken.gguf", "--corpus", "{d}/text.txt",
                              "--weights", "x,y"], ["--weights"]),
    ("score: missing corpus", ["score", "{d}/broken.gguf", "--corpus", "{d}/nope.txt"], []),
    ("generate: corrupt model", ["generate", "{d}/broken.gguf", "--prompt", "Hi"], ["broken.gguf"]),
]


@pytest.mark.parametrize("argv,needles", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_exit_2(work: Path, argv: list[str], needles: list[str]) -> None:
    r = _toksmith(*[a.replace("{d}", str(work)) for a in argv], cwd=work)
    _one_line_error(r, *needles)
    if "--save-sizes" not in argv:  # the error names the real problem, not an option that was never given
        assert "--save-sizes" not in r.stderr, r.stderr


@pytest.mark.slow
def test_score_unwritable_out_is_one_line(work: Path) -> None:
    pytest.importorskip("torch")
    r = _toksmith("score", "smollm2", "--corpus", str(work / "text.txt"), "--max-bytes", "200",
                  "--out", str(work / "a_file" / "score.json"), "--quiet", cwd=work)
    _one_line_error(r, "a_file")
    assert not (work / "a_file").is_dir()


@pytest.mark.slow
def test_score_quiet_prints_nothing_on_stderr(work: Path) -> None:
    """--quiet silences the bars dependencies print too (transformers' GGUF de-quantizing bar)."""
    pytest.importorskip("torch")
    r = _toksmith("score", "smollm2", "--corpus", str(work / "text.txt"), "--max-bytes", "200",
                  "--out", str(work / "score.json"), "--quiet", cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout == ""
    assert (work / "score.json").is_file()
