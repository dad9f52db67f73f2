"""The byte-fallback rule in one place (toksmith.utf8): reachability and canonicality agree with the encoder."""

from __future__ import annotations

import pytest

from toksmith.utf8 import MissingChars, pending_char, utf8_chars, utf8_len, utf8_prefix_ok
from toksmith.vocab import TokenKind


def test_utf8_helpers():
    assert utf8_len(0x41) == 1 and utf8_len(0xC3) == 2 and utf8_len(0xE4) == 3 and utf8_len(0xF0) == 4
    assert utf8_len(0x80) == 0 and utf8_len(0xC0) == 0 and utf8_len(0xF5) == 0
    assert pending_char("a中".encode()[:-1]) == "中".encode()[:2]
    assert pending_char("a中".encode()) == b""
    assert utf8_prefix_ok(b"a\xe4\xb8") and not utf8_prefix_ok(b"a\x80")
    assert utf8_chars(b"a\xe4\xb8\x96\xff") == [(0, 1, "a"), (1, 4, "世"), (4, 5, None)]


def test_missing_chars_counts_prefixes():
    m = MissingChars(ord(c) for c in "ab" + "".join(chr(0x80 + k) for k in range(64)))
    assert not m.missing_with_prefix(b"a") and m.missing_with_prefix(b"c")
    assert not m.missing_with_prefix(b"\xc2")  # U+0080..U+00BF are all tokens
    assert m.missing_with_prefix(b"\xc3")
    assert not m.missing_with_prefix(b"\xc0") and not m.missing_with_prefix(b"\xff")
    assert m.byte_reachable(0x80)  # a continuation byte of some missing character


def test_gemma3_byte_tokens_reachable_iff_encoder_emits_them(gemma3):
    """Every ASCII byte token: reachable exactly when encode(that character) emits it (the encoder is
    the oracle). Before the shared rule, `<0x04>` and 16 others were marked unreachable."""
    v = gemma3.vocab
    checked = 0
    for i in range(v.size):
        if v.kinds[i] != TokenKind.BYTE or v.tokens[i][0] >= 0x80:
            continue
        oracle = gemma3.encode(chr(v.tokens[i][0])) == [i]
        assert bool(v.reachable[i]) == oracle, (i, v.tokens[i])
        checked += 1
    assert checked == 128
    ids = gemma3.encode("\x04")
    assert len(ids) == 1 and v.kinds[ids[0]] == TokenKind.BYTE and v.reachable[ids[0]]

def test_gemma3_lead_byte_tokens_follow_missing_characters(gemma3):
    """A lead-byte token is reachable iff the encoder emits it for some character starting with it."""
    v = gemma3.vocab
    for i in range(v.size):
        if v.kinds[i] != TokenKind.BYTE or not 0xC2 <= v.tokens[i][0] <= 0xF4:
            continue
        lead = v.tokens[i][0]
        n = utf8_len(lead)
        # the oracle: encode characters starting with `lead` until one yields the byte token
        lo = {2: (lead & 0x1F) << 6, 3: (lead & 0x0F) << 12, 4: (lead & 0x07) << 18}[n]
        span = {2: 0x40, 3: 0x1000, 4: 0x40000}[n]
        chars = [chr(c) for c in range(max(lo, 0x80), min(lo + span, 0x110000)) if not 0xD800 <= c < 0xE000
                 and chr(c).encode()[0] == lead]
        emitted = False
        for k in range(0, len(chars), 4096):
            if any(ids and ids[0] == i for ids in gemma3.encode_batch(chars[k:k + 4096])):
                emitted = True
                break
        assert bool(v.reachable[i]) == emitted, hex(lead)


@pytest.mark.parametrize("name", ["smollm2", "cl100k"])
def test_byte_level_tokenizers_have_no_byte_fallback(name, request):
    v = request.getfixturevalue(name).vocab
    assert not (v.kinds == TokenKind.BYTE).any()
