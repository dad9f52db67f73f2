"""Unigram tokenizers through SentencePiece, saved as tokenizer.model plus an equivalent tokenizer.json.

SentencePiece is trained with identity normalisation and without collapsing whitespace, so that the
tokenizer.json written here (Metaspace pre-tokenizer, Unigram model with byte fallback) encodes exactly
as SentencePiece does; tests check both on real text. WARNING: SentencePiece loads every sentence into
memory and skips sentences longer than `max_sentence_length` bytes (set here to 64 KiB).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from toksmith.errors import CorpusError, MissingDependencyError, TrainingError
from toksmith.io import atomic_write_bytes
from toksmith.train.serialize import tokenizer_config, write_hf_files

__all__ = ["train_unigram", "unigram_tokenizer_json"]

_SPECIALS = ("<unk>", "<s>", "</s>")


def _sentences(corpus: Iterable[Any]) -> Iterator[str]:
    for d in corpus:
        text = d if isinstance(d, str) else d.text
        for line in text.splitlines():
            if line.strip():
                yield line


def unigram_tokenizer_json(model_proto: bytes) -> str:
    """tokenizer.json for a SentencePiece Unigram model (trained with identity normalisation)."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    vocab = [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(sp.get_piece_size())]
    added = [
        {"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)
    ]
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        # SentencePiece's add_dummy_prefix always adds one "\u2581", even before leading spaces.
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": True},
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {"type": "Unigram", "unk_id": sp.unk_id(), "vocab": vocab, "byte_fallback": True},
    }
    return json.dumps(spec, ensure_ascii=False, indent=2) + "\n"


def train_unigram(corpus: Iterable[Any], out_dir: str | Path, *, vocab_size: int, numbers: str | None = None,
                  max_token_chars: int | None = None, threads: int = 2) -> list[Path]:
    """Train a SentencePiece Unigram model and write tokenizer.model, tokenizer.json, tokenizer_config.json.

    Args:
        corpus: documents (str or `Document`); every non-blank line is one SentencePiece sentence.
        vocab_size: total pieces, including <unk>, <s>, </s> and the 256 byte-fallback pieces.
        numbers: "single" splits digits (SentencePiece's split_digits); other modes are BPE-only.
        max_token_chars: SentencePiece's max_sentencepiece_length (default 16).
    """
    try:
        import sentencepiece as spm
    except ImportError as e:
        raise MissingDependencyError("sentencepiece", "Unigram training") from e
    if numbers not in (None, "none", "single"):
        raise TrainingError(f"number mode '{numbers}' is not available for Unigram (only 'single')")
    if vocab_size < 259 + 1:
        raise TrainingError(f"vocabulary size {vocab_size} is below the 259 reserved Unigram pieces + 1")
    model = io.BytesIO()
    sentences = _sentences(corpus)
    first = next(sentences, None)
    if first is None:
        raise CorpusError("the corpus holds no text to train on")

    def all_sentences() -> Iterator[str]:
        yield first
        yield from sentences

    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=all_sentences(), model_writer=model, model_type="unigram", vocab_size=vocab_size,
            byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
            add_dummy_prefix=True, split_digits=numbers == "single", character_coverage=0.9995,
            max_sentence_length=1 << 16, max_sentencepiece_length=max_token_chars or 16, num_threads=threads,
            hard_vocab_limit=False, minloglevel=2,
        )
    except RuntimeError as e:
        raise TrainingError(f"SentencePiece training failed: {e}") from e
    proto = model.getvalue()
    out = Path(out_dir)
    tok_json = unigram_tokenizer_json(proto)
    paths = write_hf_files(out, tok_json, tokenizer_config(
        json.loads(tok_json)["added_tokens"], bos="<s>", eos="</s>",
        extra={"unk_token": "<unk>", "add_prefix_space": True}))
    paths.append(atomic_write_bytes(out / "tokenizer.model", proto))
    return paths
