"""The byte-exact canonical vocabulary: for each token id its exact UTF-8 bytes, kind and role.

Every tokenizer family maps into `Vocab`, and everything downstream (overlap, metrics, transplant,
byte-level probabilities) reads only this view. Two tokens are the same token when their bytes are
the same, whatever their spelling in the file (`Ġthe` in byte-level BPE, `▁the` in SentencePiece and
` the` in tiktoken are all b" the").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import cache, cached_property
from types import MappingProxyType

import numpy as np

from toksmith.utf8 import valid_utf8

__all__ = [
    "Role",
    "TokenKind",
    "Vocab",
    "VocabOverlap",
    "byte_level_decode",
    "byte_level_encode",
    "bytes_to_unicode",
    "is_byte_piece",
    "sentencepiece_piece_bytes",
    "show_token",
]


class Role(StrEnum):
    """The role of a special token. `CONTROL` is any other special (chat markers, tool tags, ...)."""

    BOS = "bos"
    EOS = "eos"
    PAD = "pad"
    UNK = "unk"
    MASK = "mask"
    SEP = "sep"
    CLS = "cls"
    CONTROL = "control"


class TokenKind(IntEnum):
    """What a token id is: ordinary text, a single byte (byte fallback), special, or an unused slot."""

    NORMAL = 0
    BYTE = 1
    SPECIAL = 2
    UNUSED = 3
    USER = 4  # user-defined/added token matched literally in text


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used by byte-level BPE files.

    Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 onwards, so
    `Ġ` (U+0120) is the space byte 0x20 and `Ã©` is the two bytes C3 A9.
    """
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    table: dict[int, str] = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@cache
def _unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def byte_level_decode(piece: str) -> bytes | None:
    """Bytes of a byte-level BPE token string, or None if it uses characters outside GPT-2's table."""
    table = _unicode_to_bytes()
    try:
        return bytes(table[c] for c in piece)
    except KeyError:
        return None


def byte_level_encode(data: bytes) -> str:
    """The byte-level BPE spelling of raw bytes (inverse of `byte_level_decode`)."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in data)


_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def is_byte_piece(piece: str) -> bool:
    """Whether `piece` is spelled as a SentencePiece byte-fallback token (`<0xXX>`)."""
    return _BYTE_PIECE.match(piece) is not None


def sentencepiece_piece_bytes(piece: str, *, is_byte: bool | None = None) -> bytes:
    """Bytes of a SentencePiece piece: `▁` is a space, `<0xXX>` (a byte-fallback token) is the byte XX.

    The byte token `<0xE9>` is the single byte E9, not the UTF-8 of the code point U+00E9.
    """
    m = _BYTE_PIECE.match(piece)
    if m and is_byte is not False:
        return bytes([int(m.group(1), 16)])
    return piece.replace("\u2581", " ").encode("utf-8")


def show_token(data: bytes) -> str:
    """A readable form of token bytes: the text if it is valid UTF-8, else hex with a `0x` prefix."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + data.hex(" ").upper().replace(" ", " 0x")


@dataclass(frozen=True, eq=False)
class Vocab:
    """An immutable byte-exact vocabulary.

    Attributes:
        tokens: exact bytes of every token id (special tokens: the UTF-8 of their literal text).
        pieces: the token strings as spelled in the source file (for the naive comparison).
        kinds: `TokenKind` per id, shape (V,), uint8.
        specials: id -> `Role` for every special token.
        reachable: shape (V,) bool; False where the tokenizer's own encoder can never emit the id
            from plain text (specials are never reachable from plain text).
        family: "byte-level-bpe", "sentencepiece", "tiktoken", "wordpiece" or "unigram".
    """

    tokens: tuple[bytes, ...]
    pieces: tuple[str, ...]
    kinds: np.ndarray
    specials: Mapping[int, Role]
    reachable: np.ndarray
    family: str
    declared_size: int | None = None
    _index: dict[bytes, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        if len(self.pieces) != n or self.kinds.shape != (n,) or self.reachable.shape != (n,):
            raise ValueError(f"Vocab arrays disagree in length: {n} tokens")
        object.__setattr__(self, "specials", MappingProxyType(dict(self.specials)))
        self.kinds.setflags(write=False)
        self.reachable.setflags(write=False)
        index: dict[bytes, int] = {}
        # Ordinary tokens win over byte-fallback tokens with the same bytes (the encoder emits those).
        for order in (TokenKind.NORMAL, TokenKind.USER, TokenKind.BYTE):
            for i in np.flatnonzero(self.kinds == order):
                index.setdefault(self.tokens[i], int(i))
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        """Number of token ids (|V|, counting specials and unused slots)."""
        return len(self.tokens)

    def bytes_of(self, token_id: int) -> bytes:
        """Exact bytes of `token_id`."""
        return self.tokens[token_id]

    def id_of(self, data: bytes) -> int | None:
        """Id of the non-special token whose bytes are `data` (ordinary before byte-fallback), or None."""
        return self._index.get(data)

    def is_special(self, token_id: int) -> bool:
        return token_id in self.specials

    def special_id(self, role: Role) -> int | None:
        """The lowest id with `role`, or None."""
        ids = [i for i, r in self.specials.items() if r == role]
        return min(ids) if ids else None

    @cached_property
    def text_ids(self) -> np.ndarray:
        """Ids of tokens that stand for text (normal, byte and user tokens; not special or unused)."""
        return np.flatnonzero((self.kinds == TokenKind.NORMAL) | (self.kinds == TokenKind.BYTE) | (
            self.kinds == TokenKind.USER))

    @cached_property
    def text_bytes(self) -> frozenset[bytes]:
        """The distinct byte strings of all text tokens."""
        return frozenset(self.tokens[i] for i in self.text_ids)

    @cached_property
    def decode_table(self) -> tuple[bytes, ...]:
        """Bytes each id contributes to decoded text: special and unused tokens contribute nothing."""
        silent = (self.kinds == TokenKind.SPECIAL) | (self.kinds == TokenKind.UNUSED)
        return tuple(b"" if s else t for t, s in zip(self.tokens, silent.tolist(), strict=True))

    @cached_property
    def partial_utf8(self) -> np.ndarray:
        """Shape (V,) bool: text tokens whose bytes are not valid UTF-8 on their own."""
        out = np.zeros(len(self.tokens), dtype=bool)
        for i in self.text_ids:
            out[i] = not valid_utf8(self.tokens[i])
        return out

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the bytes, kinds and special roles: equal iff the vocabularies are identical."""
        h = hashlib.sha256()
        for t, k in zip(self.tokens, self.kinds.tolist(), strict=True):
            h.update(len(t).to_bytes(4, "little"))
            h.update(t)
            h.update(bytes([k]))
        for i in sorted(self.specials):
            h.update(f"{i}:{self.specials[i].value};".encode())
        return h.hexdigest()

    def overlap(self, other: Vocab, *, name: str = "A", other_name: str = "B") -> VocabOverlap:
        """Byte-exact overlap with `other`, next to the naive comparison of raw token strings."""
        return VocabOverlap.compute(self, other, name, other_name)

    @classmethod
    def build(
        cls,
        tokens: Sequence[bytes],
        pieces: Sequence[str],
        kinds: Iterable[int],
        specials: Mapping[int, Role],
        family: str,
        reachable: np.ndarray | None = None,
        declared_size: int | None = None,
    ) -> Vocab:
        """Assemble a vocabulary; `reachable` defaults to all non-special, non-unused tokens."""
        k = np.asarray(list(kinds), dtype=np.uint8)
        if reachable is None:
            reachable = (k != TokenKind.SPECIAL) & (k != TokenKind.UNUSED)
        return cls(tuple(tokens), tuple(pieces), k, specials, np.asarray(reachable, dtype=bool), family,
                   declared_size)


@dataclass(frozen=True)
class VocabOverlap:
    """How two vocabularies overlap, byte-exactly and as the naive string comparison sees it."""

    names: tuple[str, str]
    sizes: tuple[int, int]
    text_tokens: tuple[int, int]
    byte_exact_shared: int
    naive_shared: int
    naive_false_matches: int
    only_a: tuple[bytes, ...]
    only_b: tuple[bytes, ...]
    specials_a: tuple[tuple[str, str], ...]
    specials_b: tuple[tuple[str, str], ...]
    shared_special_roles: tuple[str, ...]

    @classmethod
    def compute(cls, a: Vocab, b: Vocab, name_a: str, name_b: str) -> VocabOverlap:
        shared = a.text_bytes & b.text_bytes
        pieces_a = {a.pieces[i] for i in a.text_ids}
        pieces_b = {b.pieces[i] for i in b.text_ids}
        naive = pieces_a & pieces_b
        bytes_by_piece_a = {a.pieces[i]: a.tokens[i] for i in a.text_ids}
        bytes_by_piece_b = {b.pieces[i]: b.tokens[i] for i in b.text_ids}
        false = sum(1 for p in naive if bytes_by_piece_a[p] != bytes_by_piece_b[p])

        def spec(v: Vocab) -> tuple[tuple[str, str], ...]:
            return tuple((v.specials[i].value, v.pieces[i]) for i in sorted(v.specials))

        roles_a = {r.value for r in a.specials.values()} - {Role.CONTROL.value}
        roles_b = {r.value for r in b.specials.values()} - {Role.CONTROL.value}
        return cls(
            names=(name_a, name_b),
            sizes=(a.size, b.size),
            text_tokens=(len(a.text_bytes), len(b.text_bytes)),
            byte_exact_shared=len(shared),
            naive_shared=len(naive),
            naive_false_matches=false,
            only_a=tuple(sorted(a.text_bytes - shared)),
            only_b=tuple(sorted(b.text_bytes - shared)),
            specials_a=spec(a),
            specials_b=spec(b),
            shared_special_roles=tuple(sorted(roles_a & roles_b)),
        )

    def to_dict(self, *, examples: int = 20) -> dict:
        def show(bs: Sequence[bytes]) -> list[str]:
            step = max(1, len(bs) // examples) if bs else 1
            return [show_token(x) for x in list(bs)[::step][:examples]]

        return {
            "names": list(self.names),
            "vocab_sizes": list(self.sizes),
            "distinct_text_tokens": list(self.text_tokens),
            "byte_exact_shared": self.byte_exact_shared,
            "naive_string_shared": self.naive_shared,
            "naive_matches_with_different_bytes": self.naive_false_matches,
            "only_in": {self.names[0]: len(self.only_a), self.names[1]: len(self.only_b)},
            "examples_only_in": {self.names[0]: show(self.only_a), self.names[1]: show(self.only_b)},
            "specials": {self.names[0]: [list(s) for s in self.specials_a],
                         self.names[1]: [list(s) for s in self.specials_b]},
            "shared_special_roles": list(self.shared_special_roles),
        }
