"""Matching a new tokenizer to a model's old one on the byte-exact view.

A new token is *copied* when the old vocabulary has a token with the same bytes (`Vocab.tokens`: `Ġthe`,
`▁the` and ` the` are all b" the"; the byte-fallback token `<0xE9>` is the single byte E9). Special
tokens are mapped one to one by role and never collapsed: each old special is used at most once. Every
other new token is decomposed into the old tokenizer's pieces of its bytes, which the initialisation
methods (fvt, hybrid, ...) combine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toksmith.errors import ToksmithError
from toksmith.tokenizers import Tokenizer
from toksmith.vocab import Role, TokenKind, Vocab

__all__ = ["TokenMatch", "TransplantError", "context_tokens", "map_specials", "match_vocab", "pieces_of"]

#: Chat markers with the same role in different families (mapped after literal, boundary and role matches).
CHAT_EQUIVALENTS: tuple[tuple[bytes, bytes], ...] = (
    (b"<|im_start|>", b"<start_of_turn>"),
    (b"<|im_end|>", b"<end_of_turn>"),
    (b"<|start_header_id|>", b"<start_of_turn>"),
    (b"<|eot_id|>", b"<end_of_turn>"),
)
_ROLE_ORDER = (Role.BOS, Role.EOS, Role.PAD, Role.UNK, Role.MASK, Role.SEP, Role.CLS)


class TransplantError(ToksmithError):
    """A transplant cannot be done as asked (unmappable specials, missing donor, bad model, ...)."""


def context_tokens(tok: Tokenizer) -> tuple[int, int]:
    """(document start, document end) of a tokenizer, as `toksmith.lm` conditions and ends texts."""
    from toksmith.errors import ModelLoadError
    from toksmith.lm.loading import _context_tokens

    try:
        bos, eos, _ = _context_tokens(tok)
    except ModelLoadError as e:
        raise TransplantError(f"special tokens cannot be mapped: {e} (the document start would be undefined)") from e
    return bos, eos


def map_specials(old: Vocab, new: Vocab, old_context: tuple[int, int], new_context: tuple[int, int]) -> dict[int, int]:
    """New special id -> old special id, one to one.

    Order: (1) identical text (`<|endoftext|>` in both), (2) the document start and end the two models
    condition on, (3) the same role (bos, eos, pad, unk, mask, sep, cls; lowest ids first), (4) known
    chat-marker equivalents. A new special left unmapped is initialised as a new token, never given the
    row of a special another new special already took.
    """
    out: dict[int, int] = {}
    used: set[int] = set()
    old_ids = sorted(old.specials)
    new_ids = sorted(new.specials)

    def take(n: int, o: int | None) -> None:
        if o is None or n in out or o in used:
            return
        out[n] = o
        used.add(o)

    by_text = {old.tokens[i]: i for i in reversed(old_ids)}
    for n in new_ids:
        take(n, by_text.get(new.tokens[n]))
    for n, o in zip(new_context, old_context, strict=True):
        if n in new.specials:
            take(n, o)
    for role in _ROLE_ORDER:
        free = [o for o in old_ids if old.specials[o] == role and o not in used]
        for n in (n for n in new_ids if new.specials[n] == role and n not in out):
            if not free:
                break
            take(n, free.pop(0))
    for a, b in CHAT_EQUIVALENTS:
        for x, y in ((a, b), (b, a)):
            n = next((i for i in new_ids if new.tokens[i] == x), None)
            o = by_text.get(y)
            if n is not None:
                take(n, o)
    return out


def _greedy_pieces(data: bytes, old: Vocab, max_len: int) -> list[int] | None:
    """Longest-match segmentation of `data` into old tokens (byte tokens included), or None."""
    out: list[int] = []
    i = 0
    while i < len(data):
        for j in range(min(len(data), i + max_len), i, -1):
            t = old.id_of(data[i:j])
            if t is not None:
                out.append(t)
                i = j
                break
        else:
            return None
    return out


def pieces_of(datas: list[bytes], old_tok: Tokenizer) -> list[list[int] | None]:
    """The old tokenizer's pieces of each byte string, decoding back to exactly those bytes.

    Valid UTF-8 goes through the old tokenizer's own encoder (the segmentation the model was trained
    on); partial UTF-8, and anything the encoder does not reproduce exactly, falls back to the encoder
    on raw bytes (byte-level BPE) and then to a longest match over the old token bytes, byte-fallback
    tokens included. None where the bytes cannot be spelled with old tokens at all.
    """
    old = old_tok.vocab
    out: list[list[int] | None] = [None] * len(datas)
    texts: list[str] = []
    where: list[int] = []
    for i, d in enumerate(datas):
        try:
            texts.append(d.decode("utf-8"))
            where.append(i)
        except UnicodeDecodeError:
            pass
    for i, ids in zip(where, old_tok.encode_batch(texts) if texts else [], strict=True):
        if ids and old_tok.decode_bytes(ids) == datas[i] and not any(old.is_special(t) for t in ids):
            out[i] = ids
    max_len = max((len(t) for t in old.text_bytes), default=1)
    for i, d in enumerate(datas):
        if out[i] is not None or not d:
            continue
        raw = old_tok.encode_token_bytes(d)
        if raw and b"".join(old.tokens[t] for t in raw) == d:
            out[i] = raw
        else:
            out[i] = _greedy_pieces(d, old, max_len)
    return out


@dataclass(frozen=True)
class TokenMatch:
    """How every new token id relates to the old vocabulary.

    Attributes:
        source: shape (V_new,) int64, the old id copied into each new id, -1 where the token is new.
        specials: new special id -> old special id (one to one).
        new_ids: ids whose rows must be initialised (not copied, not mapped specials), ascending.
        pieces: for each of `new_ids`, its old-tokenizer pieces (None: a special, unused slot, or bytes
            the old vocabulary cannot spell).
    """

    source: np.ndarray
    specials: dict[int, int]
    new_ids: np.ndarray
    pieces: list[list[int] | None]

    @property
    def copied(self) -> int:
        """Number of new ids that take an old row exactly (text tokens and mapped specials)."""
        return int((self.source >= 0).sum())


def match_vocab(old_tok: Tokenizer, new_tok: Tokenizer, *, old_context: tuple[int, int],
                copy: bool = True) -> TokenMatch:
    """Copy shared tokens byte-exactly, map specials by role, decompose the rest into old pieces.

    With `copy=False` only specials are mapped; every text token is decomposed (plain FVT).
    """
    old, new = old_tok.vocab, new_tok.vocab
    specials = map_specials(old, new, old_context, context_tokens(new_tok))
    source = np.full(new.size, -1, dtype=np.int64)
    for n, o in specials.items():
        source[n] = o
    if copy:
        old_bytes = {old.tokens[i]: int(i) for i in np.flatnonzero(old.kinds == TokenKind.BYTE)[::-1]}
        kinds = new.kinds.tolist()
        for n in new.text_ids.tolist():
            b = new.tokens[n]
            o = old_bytes.get(b) if kinds[n] == TokenKind.BYTE else None
            if o is None:
                o = old.id_of(b)
            if o is not None:
                source[n] = o
    new_ids = np.flatnonzero(source < 0)
    kinds = new.kinds
    text = [int(i) for i in new_ids if kinds[i] in (TokenKind.NORMAL, TokenKind.BYTE, TokenKind.USER)]
    decomposed = dict(zip(text, pieces_of([new.tokens[i] for i in text], old_tok), strict=True))
    return TokenMatch(source=source, specials=specials, new_ids=new_ids,
                      pieces=[decomposed.get(int(i)) for i in new_ids])
