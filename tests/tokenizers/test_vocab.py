"""The byte-exact vocabulary: byte tables, SentencePiece byte tokens, overlap counted on bytes."""

from __future__ import annotations

import numpy as np

from toksmith.vocab import (
    Role,
    TokenKind,
    Vocab,
    byte_level_decode,
    byte_level_encode,
    bytes_to_unicode,
    sentencepiece_piece_bytes,
    show_token,
)


def test_gpt2_byte_table_is_a_bijection_with_known_points():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[0x20] == "Ġ" and table[0x0A] == "Ċ" and table[ord("A")] == "A"
    assert byte_level_decode("Ã©") == "é".encode()
    assert byte_level_decode("Ġthe") == b" the"
    assert byte_level_decode("日") is None
    assert byte_level_encode(bytes(range(256))) == "".join(table[b] for b in range(256))


def test_sentencepiece_byte_token_is_a_byte_not_a_code_point():
    # <0xE9> is the single byte E9, not "é" (U+00E9 = C3 A9).
    assert sentencepiece_piece_bytes("<0xE9>") == b"\xe9"
    assert sentencepiece_piece_bytes("▁the") == b" the"
    assert sentencepiece_piece_bytes("<0xE9>", is_byte=False) == b"<0xE9>"


def _toy(pieces: list[str], tokens: list[bytes], kinds: list[int], specials: dict[int, Role]) -> Vocab:
    return Vocab.build(tokens, pieces, kinds, specials, "test")


def test_overlap_counts_bytes_not_spellings():
    a = _toy(["<s>", "Ġthe", "the", "Ã©"], [b"<s>", b" the", b"the", "é".encode()],
             [TokenKind.SPECIAL, 0, 0, 0], {0: Role.BOS})
    b = _toy(["<bos>", "▁the", "the", "é", "<0xC3>"], [b"<bos>", b" the", b"the", "é".encode(), b"\xc3"],
             [TokenKind.SPECIAL, 0, 0, 0, TokenKind.BYTE], {0: Role.BOS})
    ov = a.overlap(b)
    # bytes: " the", "the", "é" shared; spelled alike only "the".
    assert ov.byte_exact_shared == 3
    assert ov.naive_shared == 1
    assert ov.only_b == (b"\xc3",)
    assert ov.shared_special_roles == ("bos",)


def test_id_of_prefers_ordinary_token_over_byte_fallback():
    v = _toy(["<0x41>", "A"], [b"A", b"A"], [TokenKind.BYTE, TokenKind.NORMAL], {})
    assert v.id_of(b"A") == 1
    assert v.partial_utf8.tolist() == [False, False]
    assert v.fingerprint != _toy(["A", "<0x41>"], [b"A", b"A"], [0, 1], {}).fingerprint


def test_vocab_is_immutable():
    v = _toy(["a"], [b"a"], [0], {})
    assert not v.kinds.flags.writeable and not v.reachable.flags.writeable
    assert isinstance(v.reachable, np.ndarray)


def test_show_token():
    assert show_token(b" the") == " the"
    assert show_token(b"\xe6\x97") == "0xE6 0x97"
