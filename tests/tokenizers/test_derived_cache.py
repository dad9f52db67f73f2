"""The on-disk cache of derived tokenizer values: a cached load equals a fresh derivation, bit for bit.

The oracle is the same adapter with the cache off (`TOKSMITH_CACHE=off`): every token's bytes, piece,
kind, role and reachability, the fingerprint, and the encodings of real text must agree.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from toksmith.packaged import packaged_gguf
from toksmith.tokenizers import derived
from toksmith.tokenizers.gguf import load_gguf_tokenizer
from toksmith.tokenizers.tiktoken_adapter import load_tiktoken_encoding


def _same(a, b, texts):
    va, vb = a.vocab, b.vocab
    assert va.tokens == vb.tokens and va.pieces == vb.pieces
    assert np.array_equal(va.kinds, vb.kinds) and np.array_equal(va.reachable, vb.reachable)
    assert dict(va.specials) == dict(vb.specials)
    assert (va.family, va.declared_size) == (vb.family, vb.declared_size)
    assert a.fingerprint == b.fingerprint
    assert a.adds_space_prefix == b.adds_space_prefix
    assert a.encode_batch(texts) == b.encode_batch(texts)


def _texts(shared_data):
    files = sorted((shared_data / "udhr").glob("*.txt"))[::25]
    return [f.read_text(encoding="utf-8")[:4000] for f in files] + ["\r\n\x04 tabs\tand  spaces 1234567"]


@pytest.mark.parametrize("name", ["smollm2", "gemma3"])
def test_gguf_cached_load_equals_fresh_derivation(name, tmp_path, monkeypatch, shared_data):
    path = packaged_gguf(name)
    monkeypatch.setenv("TOKSMITH_CACHE", "off")
    fresh = load_gguf_tokenizer(path)
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    first = load_gguf_tokenizer(path)  # derives and stores
    assert list(tmp_path.glob("gguf-tokenizer-*.npz"))
    cached = load_gguf_tokenizer(path)  # served from the cache
    texts = _texts(shared_data)
    _same(fresh, first, texts)
    _same(fresh, cached, texts)
    assert cached.gguf_metadata == fresh.gguf_metadata


def test_tiktoken_cached_load_equals_fresh(tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("TOKSMITH_CACHE", "off")
    fresh = load_tiktoken_encoding("cl100k_base")
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    load_tiktoken_encoding("cl100k_base")
    cached = load_tiktoken_encoding("cl100k_base")
    _same(fresh, cached, _texts(shared_data))


def test_tokenizer_json_cache_keeps_roles_apart(tmp_path, monkeypatch, smollm2):
    """A transformers directory's roles come from its configs, so they are part of the key."""
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path / "cache"))
    from toksmith.tokenizers.hf import load_hf_dir, load_tokenizer_json

    d = tmp_path / "model"
    d.mkdir()
    smollm2.backend.save(str(d / "tokenizer.json"))
    plain = load_tokenizer_json(d / "tokenizer.json")
    (d / "tokenizer_config.json").write_text('{"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"}')
    with_roles = load_hf_dir(d)
    again = load_hf_dir(d)
    eot = smollm2.vocab.tokens.index(b"<|endoftext|>")
    assert with_roles.vocab.specials[eot].value == "bos" == again.vocab.specials[eot].value
    assert plain.vocab.specials[eot].value != "bos"
    assert np.array_equal(again.vocab.reachable, smollm2.vocab.reachable)


def test_corrupt_entry_is_rebuilt_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    path = packaged_gguf("smollm2")
    good = load_gguf_tokenizer(path)
    (entry,) = tmp_path.glob("gguf-tokenizer-*.npz")
    blob = bytearray(entry.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    entry.write_bytes(bytes(blob))
    again = load_gguf_tokenizer(path)
    assert again.vocab.tokens == good.vocab.tokens and np.array_equal(again.vocab.reachable, good.vocab.reachable)
    assert entry.read_bytes() != bytes(blob)  # rewritten with a verified entry


def test_content_key_is_the_file_hash_and_follows_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc" * 1000)
    assert derived.content_key(f) == hashlib.sha256(b"abc" * 1000).hexdigest()
    monkeypatch.setattr(derived, "_DIRECT_HASH_BYTES", 10)  # force the remembered-hash path for big files
    assert derived.content_key(f) == hashlib.sha256(b"abc" * 1000).hexdigest()
    f.write_bytes(b"abd" * 1001)
    assert derived.content_key(f) == hashlib.sha256(b"abd" * 1001).hexdigest()


def test_code_version_covers_the_reachability_rule():
    covered = derived._DERIVATION_MODULES
    assert "tokenizers/base.py" in covered and "utf8.py" in covered and "vocab.py" in covered
    assert len(derived.code_version()) == 16
