"""A tiny real byte-level BPE tokenizer whose encodings can be worked out by hand.

Alphabet: the 256 GPT-2 byte symbols (ids 0-255, in `bytes_to_unicode` order), then five merges:
t+h -> "th", th+e -> "the", Ġ+the -> " the", 1+2 -> "12", 12+3 -> "123" (ids 256-260).
Pre-tokenizer: GPT-2's ByteLevel regex, so " cat" is one pre-token and "1234" another.
Hand encodings used by the tests:
  "the cat" -> [the][ ][c][a][t]   (5 tokens, 7 bytes; " cat" has no merges)
  "the"     -> [the]               (1 token)
  " the"    -> [ the]              (1 token)
  "1234"    -> [123][4]            (left-to-right groups)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from toksmith.tokenizers.hf import load_tokenizer_json
from toksmith.vocab import bytes_to_unicode

MERGES = [("t", "h"), ("th", "e"), ("Ġ", "the"), ("1", "2"), ("12", "3")]


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=MERGES))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    path = tmp_path_factory.mktemp("tiny") / "tokenizer.json"
    path.write_text(tok.to_str())
    json.loads(path.read_text())
    return path


@pytest.fixture(scope="session")
def tiny(tiny_path: Path):
    return load_tokenizer_json(tiny_path, name="tiny")


@pytest.fixture(scope="session")
def tiny2(tiny_path: Path):
    return load_tokenizer_json(tiny_path, name="tiny2")
