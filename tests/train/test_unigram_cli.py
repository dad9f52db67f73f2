"""Unigram through SentencePiece (tokenizer.json encodes as the .model does) and the `toksmith train` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from typer.testing import CliRunner

from toksmith.cli import app
from toksmith.train import train_unigram


def test_unigram_json_encodes_like_sentencepiece(shared_data: Path, tmp_path: Path) -> None:
    import sentencepiece as spm

    docs = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8").splitlines(True)[:2000]
    paths = train_unigram(docs, tmp_path, vocab_size=1500)
    assert {p.name for p in paths} == {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    hf = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    lines = ["  leading spaces", "two  spaces", "digits 1234 and é ü 中文 🙂"]
    for f in sorted((shared_data / "udhr").glob("*.txt"))[::8]:
        lines += f.read_text(encoding="utf-8").splitlines()[:15]
    for line in lines:
        assert hf.encode(line, add_special_tokens=False).ids == sp.encode(line), line
    assert json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))["model"]["type"] == "Unigram"


def test_cli_train_writes_loadable_tokenizer(shared_data: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text((shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:300_000],
                      encoding="utf-8")
    out = tmp_path / "OUT"
    res = CliRunner().invoke(app, ["train", "--corpus", str(corpus), "--vocab-size", "1000", "--out", str(out),
                                   "--numbers", "r2l3", "--save-sizes", "500", "--quiet"])
    assert res.exit_code == 0, res.output
    import toksmith

    tok = toksmith.load_tokenizer(out)
    assert tok.vocab.size == 1000
    assert toksmith.load_tokenizer(out / "500").vocab.size == 500
    ends, pos = set(), 0
    for i in tok.encode("1234567"):
        pos += len(tok.decode([i]))
        ends.add(pos)
    assert {1, 4, 7} <= ends  # r2l3: 1|234|567 is never merged across


@pytest.mark.parametrize(("args", "message"), [
    (["--vocab-size", "100"], "below"),
    (["--vocab-size", "1000", "--engine", "spark"], "unknown engine 'spark'"),
    (["--vocab-size", "1000", "--model", "unigram", "--engine", "ray"], "runs with --engine local only"),
    (["--vocab-size", "1000", "--preset", "nope"], "unknown preset"),
])
def test_cli_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 2
    assert message in res.output


def test_cli_empty_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("", encoding="utf-8")
    res = CliRunner().invoke(app, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                                   "--vocab-size", "1000"])
    assert res.exit_code == 2 and "no text" in res.output
