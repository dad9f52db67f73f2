"""End-to-end training: Hugging Face files that reload unchanged and encode like the reference encoder,
determinism, nested sizes, extend, SuperBPE, and bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from toksmith.errors import CorpusError, TrainingError
from toksmith.train import TrainedBPE, train, train_bpe


def _english(shared_data: Path, n: int = 3000) -> list[str]:
    return (shared_data / "english" / "state_union.txt").read_text(encoding="utf-8").splitlines(True)[:n]


def _eval_texts(shared_data: Path) -> list[str]:
    """Held-out text: UDHR in 40 languages (every 10th file) and English inaugural addresses."""
    udhr = sorted((shared_data / "udhr").glob("*.txt"))[::10]
    texts = [f.read_text(encoding="utf-8")[:2000] for f in udhr]
    texts += (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8").splitlines(True)[:300]
    return texts


@pytest.fixture(scope="module")
def trained(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainedBPE, Path]:
    tb = train_bpe(_english(shared_data), vocab_size=2000, preset="cl100k", numbers="r2l3")
    out = tmp_path_factory.mktemp("bpe")
    tb.save(out)
    return tb, out


def test_hf_reload_encodes_like_reference(trained: tuple[TrainedBPE, Path], shared_data: Path) -> None:
    tb, out = trained
    assert tb.vocab_size == 2000
    hf = Tokenizer.from_file(str(out / "tokenizer.json"))
    ref = tb.reference_encoder()
    for text in _eval_texts(shared_data):
        ids = hf.encode(text, add_special_tokens=False).ids
        assert ids == ref.encode(text), text[:60]
        assert hf.decode(ids) == text


def test_transformers_and_toksmith_load(trained: tuple[TrainedBPE, Path], shared_data: Path) -> None:
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    import toksmith

    tb, out = trained
    text = _eval_texts(shared_data)[-1]
    ref = tb.reference_encoder().encode(text)
    auto = AutoTokenizer.from_pretrained(str(out))
    assert auto(text, add_special_tokens=False)["input_ids"] == ref
    assert auto.eos_token == "<|endoftext|>" and auto.convert_tokens_to_ids("<|endoftext|>") == 0
    fast = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    assert fast(text, add_special_tokens=False)["input_ids"] == ref
    tok = toksmith.load_tokenizer(out)
    assert tok.encode(text) == ref
    assert tok.vocab.size == 2000 and tok.vocab.bytes_of(1) == b"\x00" and tok.vocab.bytes_of(256) == b"\xff"


def test_all_bytes_and_id_layout(trained: tuple[TrainedBPE, Path]) -> None:
    tb, out = trained
    assert [tb.vocab[bytes([c])] for c in range(256)] == list(range(1, 257))
    spec = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert spec["added_tokens"][0]["content"] == "<|endoftext|>" and spec["added_tokens"][0]["id"] == 0
    assert [s["type"] for s in spec["pre_tokenizer"]["pretokenizers"]] == ["Split", "Split", "ByteLevel"]
    assert spec["pre_tokenizer"]["pretokenizers"][-1]["use_regex"] is False


def test_deterministic_files(shared_data: Path, tmp_path: Path) -> None:
    docs = _english(shared_data, 1500)
    a = train_bpe(docs, vocab_size=1200, threads=2)
    b = train_bpe(docs, vocab_size=1200, threads=1)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_nested_sizes_are_prefixes(shared_data: Path, tmp_path: Path) -> None:
    f = tmp_path / "corpus.txt"
    f.write_text("".join(_english(shared_data, 1500)), encoding="utf-8")
    rep = train(f, tmp_path / "out", vocab_size=1200, save_sizes=[400, 800])
    assert set(rep.outputs) == {400, 800, 1200}
    big = json.loads((tmp_path / "out" / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    for k in (400, 800):
        small = json.loads((tmp_path / "out" / str(k) / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        assert len(small["vocab"]) == k
        assert small["merges"] == big["merges"][:len(small["merges"])]
        assert all(big["vocab"][p] == i for p, i in small["vocab"].items())
        Tokenizer.from_file(str(tmp_path / "out" / str(k) / "tokenizer.json"))


def test_extend_replays_and_continues(shared_data: Path, tmp_path: Path) -> None:
    docs = _english(shared_data, 1500)
    base = train_bpe(docs, vocab_size=600)
    base.save(tmp_path / "base")
    ext = train_bpe(docs, vocab_size=1000, extend=tmp_path / "base")
    full = train_bpe(docs, vocab_size=1000)
    assert ext.merges[:len(base.merges)] == base.merges
    assert ext.merges == full.merges  # same corpus: resuming equals training in one go
    assert all(ext.vocab[b] == i for b, i in base.vocab.items())
    with pytest.raises(TrainingError, match="below"):
        train_bpe(docs, vocab_size=500, extend=tmp_path / "base")


def test_superbpe_tokens_span_words(shared_data: Path, tmp_path: Path) -> None:
    docs = _english(shared_data, 3000)
    plain = train_bpe(docs, vocab_size=1500)
    sb = train_bpe(docs, vocab_size=1500, superbpe_transition=1000, forbidden_substrings=[": "])
    assert sb.merges[:1000] == plain.merges[:1000]
    learned = [a + b for a, b in sb.merges[1000:]]
    multi = [t for t in learned if len(t.split()) >= 2]
    assert len(multi) > 20, multi
    assert all(len(t.split()) <= 4 and b": " not in t for t in learned)
    assert all(len(a.split()) <= 1 for a in plain.vocab)
    sb.save(tmp_path / "sb")
    hf = Tokenizer.from_file(str(tmp_path / "sb" / "tokenizer.json"))
    ref = sb.reference_encoder()
    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:20000]
    assert hf.encode(text, add_special_tokens=False).ids == ref.encode(text)
    held = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:200_000]
    n_plain = len(plain.reference_encoder().encode(held))
    assert len(hf.encode(held, add_special_tokens=False).ids) < n_plain


def test_character_level(shared_data: Path) -> None:
    docs = (shared_data / "udhr" / "rus.txt").read_text(encoding="utf-8").splitlines(True)
    tb = train_bpe(docs, vocab_size=400, max_token_chars=1)
    learned = [a + b for a, b in tb.merges]
    assert learned and all(sum((c & 0xC0) != 0x80 for c in t) <= 1 for t in learned)
    assert "д".encode() in tb.vocab


def test_custom_regex_equals_preset(shared_data: Path) -> None:
    from toksmith.train.pretokenize import PRESETS

    docs = _english(shared_data, 800)
    a = train_bpe(docs, vocab_size=700, preset="gpt2")
    b = train_bpe(docs, vocab_size=700, regex_pattern=PRESETS["gpt2"])
    assert a.merges == b.merges and a.vocab == b.vocab


def test_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CorpusError):
        train(empty, tmp_path / "o1", vocab_size=1000)
    with pytest.raises(CorpusError):
        train_bpe([], vocab_size=1000)
    with pytest.raises(TrainingError, match="below"):
        train_bpe(["hello world"], vocab_size=200)
    with pytest.raises(TrainingError, match="below"):
        train_bpe(["hello world"], vocab_size=256)  # 256 bytes + 1 special token do not fit
    with pytest.raises(TrainingError, match="superbpe-transition"):
        train_bpe(["hello world"], vocab_size=300, superbpe_transition=100)


def test_unwritable_output_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n" * 10, encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(TrainingError, match="not writable"):
        train(corpus, blocker / "out", vocab_size=300)
    tb = train_bpe(["hello world"] * 3, vocab_size=260)
    with pytest.raises(TrainingError, match="cannot write"):
        tb.save(blocker / "out")
    with pytest.raises(TrainingError, match="cannot write"):
        tb.save("/proc/toksmith-out")  # not creatable, even for root


def test_read_only_output_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n" * 10, encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: directory permissions are not enforced")
        with pytest.raises(TrainingError, match="not writable"):
            train(corpus, locked / "out", vocab_size=300)
    finally:
        os.chmod(locked, 0o700)


class _Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.phases: list[str] = []

    def phase(self, name: str, total: int | None) -> None:
        self.phases.append(name)

    def advance(self, n: int) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


def test_guard_warns_and_estimates(shared_data: Path) -> None:
    from toksmith.train import Pretokenizer, count_pretokens

    docs = _english(shared_data, 6000)
    total = sum(len(d.encode()) for d in docs)
    p = _Notes()
    res = count_pretokens(docs, Pretokenizer.from_options(None, regex_pattern=r"[^\n]+\n?"), total_bytes=total,
                          progress=p, sample_bytes=total // 4)
    assert any("does not split on whitespace" in n for n in p.notes)
    est = [n for n in p.notes if "estimated" in n]
    assert est and res.distinct > 0
    p = _Notes()
    res = count_pretokens(docs, Pretokenizer.from_options("cl100k"), total_bytes=total, progress=p,
                          sample_bytes=total // 4)
    assert not any("whitespace" in n for n in p.notes)
    assert any("estimated" in n for n in p.notes) and p.phases == ["counting"]
