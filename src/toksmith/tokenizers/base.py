"""The `Tokenizer` interface every adapter implements, on top of the byte-exact `Vocab`."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from toksmith.utf8 import MissingChars
from toksmith.vocab import TokenKind, Vocab

__all__ = ["Tokenizer", "reachable_mask"]


class Tokenizer(ABC):
    """A loaded tokenizer: its byte-exact vocabulary, an encoder and a byte-exact decoder.

    `encode` never adds BOS/EOS and treats special-token text as plain text, so metrics count text
    only; `encode(..., add_special_tokens=True)` adds what the tokenizer's own post-processor adds.
    """

    name: str
    #: True when the encoder prepends a space to the input (SentencePiece `add_dummy_prefix`).
    adds_space_prefix: bool = False
    #: What defines the encoder exactly (the loader's content hash of its source file plus the adapter
    #: code's version), or None for a tokenizer built in memory. Caches of encodings are keyed by it.
    source_key: str | None = None

    @property
    @abstractmethod
    def vocab(self) -> Vocab:
        """The byte-exact vocabulary."""

    @abstractmethod
    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        """Token ids of `text`; special-token strings inside `text` are encoded as ordinary text."""

    def encode_batch(self, texts: Sequence[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        """Token ids of several texts (adapters override this with a parallel batch encoder)."""
        return [self.encode(t, add_special_tokens=add_special_tokens) for t in texts]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The exact bytes the ids stand for; special and unused tokens contribute nothing.

        Decoding concatenates token bytes first and only then interprets them as UTF-8, so a
        character split across tokens is never turned into U+FFFD.
        """
        out = b"".join(map(self.vocab.decode_table.__getitem__, ids))
        if self.adds_space_prefix and out.startswith(b" "):
            out = out[1:]
        return out

    def decode(self, ids: Sequence[int], *, errors: str = "replace") -> str:
        """`decode_bytes` as text. WARNING: lossy where the ids end inside a UTF-8 character."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def pretokenize(self, text: str) -> list[str] | None:
        """The pre-token strings the encoder would see, or None where the family has no pre-tokenizer."""
        return None

    def encode_token_bytes(self, data: bytes) -> list[int] | None:
        """Encode raw bytes with the model alone (no pre-tokenizer), or None if unsupported.

        Used to decide whether a token that is not valid UTF-8 on its own can be produced.
        """
        return None

    @cached_property
    def fingerprint(self) -> str:
        """A hash of what defines the tokenizer (its vocabulary plus the adapter's own definition)."""
        h = hashlib.sha256(self.vocab.fingerprint.encode())
        h.update(self._definition().encode())
        return h.hexdigest()[:16]

    def _definition(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} |V|={self.vocab.size}>"


def reachable_mask(tok: Tokenizer, vocab: Vocab) -> np.ndarray:
    """Shape (V,) bool: ids the encoder can emit from plain text.

    A text token counts as reachable when encoding its own text yields exactly that id (the
    "Magikarp" test); a token that is not valid UTF-8 alone is checked with `encode_token_bytes`.
    Byte-fallback tokens follow `toksmith.utf8.MissingChars`: reachable when some character with that
    byte is missing from the vocabulary's own (non-byte) tokens (C0, C1 and F5-FF never occur in UTF-8).
    """
    n = vocab.size
    reach = np.zeros(n, dtype=bool)
    kinds = vocab.kinds.tolist()
    normal, user, byte = int(TokenKind.NORMAL), int(TokenKind.USER), int(TokenKind.BYTE)
    texts: list[str] = []
    text_ids: list[int] = []
    partial: list[int] = []
    for i in vocab.text_ids.tolist():
        kind = kinds[i]
        if kind == user:
            reach[i] = True
            continue
        if kind != normal:
            continue
        b = vocab.tokens[i]
        try:
            s = b.decode("utf-8")
        except UnicodeDecodeError:
            partial.append(i)
            continue
        if tok.adds_space_prefix and s.startswith(" "):
            s = s[1:]
        texts.append(s)
        text_ids.append(i)
    for i, ids in zip(text_ids, tok.encode_batch(texts), strict=True):
        reach[i] = len(ids) == 1 and ids[0] == i
    for i in partial:
        got = tok.encode_token_bytes(vocab.tokens[i])
        reach[i] = got == [i] if got is not None else True
    byte_ids = [i for i in vocab.text_ids.tolist() if kinds[i] == byte]
    if byte_ids:
        # the byte-fallback rule (toksmith.utf8): a byte token is emitted iff its character is missing
        # from the vocabulary; byte tokens themselves are not characters of the vocabulary
        missing = MissingChars.of_tokens(vocab.tokens[i] for i in vocab.text_ids.tolist() if kinds[i] != byte)
        for i in byte_ids:
            reach[i] = missing.byte_reachable(vocab.tokens[i][0])
    return reach
