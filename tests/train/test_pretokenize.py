"""Pre-tokenizers: number modes by hand, the compiled matchers against the `regex` reference, and both
against Hugging Face `tokenizers` (Oniguruma) on real text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from toksmith.errors import TrainingError
from toksmith.train.api import _native
from toksmith.train.pretokenize import NUMBER_MODES, PRESETS, Pretokenizer

MODES = [None, *NUMBER_MODES]


@pytest.mark.parametrize(("mode", "expected"), [
    ("r2l3", ["1", "234", "567"]),
    ("l2r3", ["123", "456", "7"]),
    ("single", ["1", "2", "3", "4", "5", "6", "7"]),
    (None, ["1234567"]),
])
def test_number_modes_by_hand(mode: str | None, expected: list[str]) -> None:
    assert Pretokenizer.from_options("gpt2", numbers=mode).split("1234567") == expected


def test_number_modes_in_context() -> None:
    pt = Pretokenizer.from_options("gpt2", numbers="r2l3")
    assert pt.split("pay 12345 now") == ["pay", " ", "12", "345", " now"]
    assert pt.split("999") == ["999"]
    assert pt.split("1000") == ["1", "000"]
    # cl100k's own digit rule is left to right in groups of up to 3
    assert Pretokenizer.from_options("cl100k").split("1234567") == ["123", "456", "7"]
    assert Pretokenizer.from_options("cl100k", numbers="r2l3").split("x1234567") == ["x", "1", "234", "567"]


def test_stage2_lets_pieces_cross_single_spaces() -> None:
    pt = Pretokenizer.from_options("superbpe-stage2")
    assert pt.split("by the way, it is 2024... ok  then") == [
        "by the way, it is ", "202", "4", "...", " ok", " ", " then"]
    assert not pt.splits_on_whitespace()
    assert Pretokenizer.from_options("cl100k").splits_on_whitespace()


def test_bad_options() -> None:
    with pytest.raises(TrainingError, match="unknown preset"):
        Pretokenizer.from_options("gpt5")
    with pytest.raises(TrainingError, match="number mode"):
        Pretokenizer.from_options("gpt2", numbers="r2l4")
    with pytest.raises(TrainingError, match="does not compile"):
        Pretokenizer.from_options(None, regex_pattern="(unclosed")


def _texts(shared_data: Path, chars: int = 3000) -> list[str]:
    """The start of every UDHR language and of the State of the Union addresses."""
    udhr = sorted((shared_data / "udhr").glob("*.txt"))
    texts = [f.read_text(encoding="utf-8")[:chars] for f in udhr]
    texts.append((shared_data / "english" / "state_union.txt").read_text(encoding="utf-8")[:30 * chars])
    return texts


def _fuzz(n: int) -> list[str]:
    alpha = list("aAsSTtrReEvVlLmMdD'ſ’ \t\r\n.,;:!?/-_()\"0123456789²½Ⅳé ÉßΣσ中文ー한국ـبالअनुĞğİı\u0301\u200b"
                 "\u00a0\u3000🙂𝔘ǅʰ々")
    rnd = random.Random(1234)
    return ["".join(rnd.choice(alpha) for _ in range(rnd.randint(1, 30))) for _ in range(n)]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_compiled_matchers_equal_regex(shared_data: Path, preset: str) -> None:
    bpe = _native()
    texts = _texts(shared_data) + _fuzz(1500)
    for mode in MODES:
        pt = Pretokenizer.from_options(preset, numbers=mode)
        for t in texts:
            assert bpe.pretokenize(preset, mode or "", t) == [p.encode() for p in pt.split(t)], (preset, mode, t)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_regex_equals_tokenizers_library(shared_data: Path, preset: str) -> None:
    """The pieces of our reference equal those of the tokenizer.json pre-tokenizer run by `tokenizers`."""
    import json

    texts = _texts(shared_data, 600) + _fuzz(300)
    for mode in MODES:
        pt = Pretokenizer.from_options(preset, numbers=mode)
        spec = json.loads(Tokenizer(models.BPE()).to_str())
        spec["pre_tokenizer"] = pt.hf_json()
        hf = Tokenizer.from_str(json.dumps(spec)).pre_tokenizer
        assert isinstance(hf, pre_tokenizers.Sequence)
        for t in texts:
            ours = [Pretokenizer_bytes(p) for p in pt.split(t)]
            theirs = [p for p, _ in hf.pre_tokenize_str(t)]
            assert ours == theirs, (preset, mode, t[:80])


def Pretokenizer_bytes(piece: str) -> str:  # noqa: N802
    """A piece as ByteLevel spells it (GPT-2 byte-to-unicode)."""
    from toksmith.vocab import byte_level_encode

    return byte_level_encode(piece.encode("utf-8"))
