"""`TrainedBPE`: a trained byte-level BPE tokenizer, its nested smaller sizes, and its Hugging Face files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toksmith.errors import TrainingError
from toksmith.train.pretokenize import Pretokenizer
from toksmith.train.reference import ReferenceEncoder
from toksmith.train.serialize import bpe_tokenizer_json, tokenizer_config, write_hf_files

__all__ = ["TrainedBPE"]


@dataclass(frozen=True)
class TrainedBPE:
    """A trained byte-level BPE tokenizer: vocabulary, merges, special tokens and pre-tokenizer.

    Attributes:
        vocab: token bytes -> id for the 256 byte tokens and every learned token.
        merges: (left bytes, right bytes) in rank order.
        added_tokens: tokenizer.json `added_tokens` entries (special tokens).
        pretokenizer: the pre-tokenizer written into tokenizer.json.
        stats: what the run measured (counts, sizes, seconds); not written into the files.
    """

    vocab: dict[bytes, int]
    merges: tuple[tuple[bytes, bytes], ...]
    added_tokens: tuple[dict[str, Any], ...]
    pretokenizer: Pretokenizer
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def vocab_size(self) -> int:
        """Number of token ids (learned and byte tokens plus special tokens)."""
        return len(self.vocab) + len(self.added_tokens)

    def truncate(self, size: int) -> TrainedBPE:
        """The nested tokenizer made of the `size` smallest ids and the merges that build only those."""
        if size >= self.vocab_size:
            return self
        ids = sorted([*self.vocab.values(), *(t["id"] for t in self.added_tokens)])
        cutoff = ids[size]
        vocab = {b: i for b, i in self.vocab.items() if i < cutoff}
        if any(bytes([c]) not in vocab for c in range(256)):
            raise TrainingError(f"vocabulary size {size} would drop some of the 256 byte tokens")
        merges: list[tuple[bytes, bytes]] = []
        for a, b in self.merges:
            if a + b not in vocab or a not in vocab or b not in vocab:
                break
            merges.append((a, b))
        added = tuple(t for t in self.added_tokens if t["id"] < cutoff)
        return TrainedBPE(vocab, tuple(merges), added, self.pretokenizer, {**self.stats, "truncated_to": size})

    def tokenizer_json(self) -> str:
        """The tokenizer.json text."""
        return bpe_tokenizer_json(self.vocab, self.merges, self.added_tokens, self.pretokenizer.hf_json())

    def tokenizer_config_json(self) -> str:
        """The tokenizer_config.json text (the first special token is BOS and EOS)."""
        first = self.added_tokens[0]["content"] if self.added_tokens else None
        return tokenizer_config(self.added_tokens, bos=first, eos=first, extra={"add_prefix_space": False})

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write tokenizer.json and tokenizer_config.json into `out_dir` (created if needed), atomically."""
        return write_hf_files(out_dir, self.tokenizer_json(), self.tokenizer_config_json())

    def reference_encoder(self) -> ReferenceEncoder:
        """The pure-Python encoder (merges by rank) that the saved tokenizer.json must agree with."""
        return ReferenceEncoder(self.merges, self.vocab, self.pretokenizer.split)
