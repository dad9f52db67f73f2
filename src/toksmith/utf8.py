"""UTF-8 helpers and the byte-fallback rule: the one place that decides what a byte token can stand for.

SentencePiece-style byte fallback (Gemma 3) emits byte tokens exactly for the characters that are not in
the vocabulary as tokens of their own: a character that is a token is emitted as that token, any other
character as the byte tokens of its UTF-8. So **a byte token is canonical iff its character is missing
from the vocabulary**: the byte token `<0x04>` is what `encode("\\x04")` gives when U+0004 is not a token,
and a run of byte tokens spelling a prefix of a character is canonical iff some character with that prefix
is missing. `MissingChars` answers this for prefixes of any length; vocabulary reachability
(`tokenizers.base`) and canonicality (`bridge.canonical`) both use it, so the two cannot disagree.
"""

from __future__ import annotations

import bisect
import codecs
from collections.abc import Iterable

__all__ = [
    "MissingChars",
    "char_start",
    "pending_char",
    "utf8_chars",
    "utf8_len",
    "utf8_prefix_ok",
    "valid_utf8",
]


def valid_utf8(data: bytes) -> bool:
    """True when `data` is complete, valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def utf8_prefix_ok(data: bytes) -> bool:
    """True when `data` is valid UTF-8 up to, possibly, an unfinished last character."""
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        dec.decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def utf8_len(lead: int) -> int:
    """Length of the character a lead byte starts (1-4); 0 for a byte that never leads a character."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def char_start(data: bytes) -> int:
    """Index where the last (possibly unfinished) character of `data` starts."""
    i = len(data) - 1
    while i > 0 and 0x80 <= data[i] < 0xC0 and len(data) - i < 4:
        i -= 1
    return max(i, 0)


def pending_char(data: bytes) -> bytes:
    """The bytes of an unfinished last character of `data` (b"" when it ends on a character boundary)."""
    if not data:
        return b""
    i = char_start(data)
    n = utf8_len(data[i])
    if n <= 1:
        return b""
    return data[i:] if len(data) - i < n else b""


def utf8_chars(data: bytes) -> list[tuple[int, int, str | None]]:
    """(start, end, character) for each character of `data`; invalid bytes come one by one with None."""
    out: list[tuple[int, int, str | None]] = []
    i, n = 0, len(data)
    while i < n:
        width = utf8_len(data[i])
        if width:
            try:
                out.append((i, i + width, data[i: i + width].decode("utf-8")))
                i += width
                continue
            except UnicodeDecodeError:
                pass
        out.append((i, i + 1, None))
        i += 1
    return out


def _code_range(prefix: bytes) -> tuple[int, int] | None:
    """[lo, hi] code points whose UTF-8 starts with `prefix` (surrogates included), or None if none do."""
    n = utf8_len(prefix[0])
    if n == 0 or len(prefix) > n:
        return None
    need = n - len(prefix)
    if need == 0:
        try:
            c = ord(prefix.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        return c, c
    lo = hi = None
    for first in range(0x80, 0xC0):
        try:
            lo = ord((prefix + bytes([first]) + b"\x80" * (need - 1)).decode("utf-8"))
            break
        except UnicodeDecodeError:
            continue
    for first in range(0xBF, 0x7F, -1):
        try:
            hi = ord((prefix + bytes([first]) + b"\xbf" * (need - 1)).decode("utf-8"))
            break
        except UnicodeDecodeError:
            continue
    if lo is None or hi is None:
        return None
    return lo, hi


class MissingChars:
    """Which characters are *not* tokens of their own: the byte-fallback rule.

    Args:
        chars: the code points that are single-character tokens. Byte-fallback tokens themselves must
            NOT be among them (the byte token `<0x41>` is not the character token `A`).
    """

    def __init__(self, chars: Iterable[int]) -> None:
        self._present = sorted(set(chars))
        self._cache: dict[bytes, bool] = {}

    @classmethod
    def of_tokens(cls, tokens: Iterable[bytes]) -> MissingChars:
        """From the byte strings of the vocabulary's non-byte text tokens."""
        out = []
        for t in tokens:
            if 0 < len(t) <= 4:
                try:
                    s = t.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if len(s) == 1:
                    out.append(ord(s))
        return cls(out)

    def is_token(self, char: str) -> bool:
        """Whether `char` is a single-character token."""
        i = bisect.bisect_left(self._present, ord(char))
        return i < len(self._present) and self._present[i] == ord(char)

    def missing_with_prefix(self, prefix: bytes) -> bool:
        """Whether some character whose UTF-8 starts with `prefix` is not a token (so byte fallback emits
        the byte tokens of `prefix`). False for byte strings that start no character."""
        got = self._cache.get(prefix)
        if got is not None:
            return got
        ok = False
        rng = _code_range(prefix) if prefix else None
        if rng is not None:
            lo, hi = rng
            total = hi - lo + 1 - max(0, min(hi, 0xDFFF) - max(lo, 0xD800) + 1)
            present = bisect.bisect_right(self._present, hi) - bisect.bisect_left(self._present, lo)
            ok = total > present
        self._cache[prefix] = ok
        return ok

    def byte_reachable(self, byte: int) -> bool:
        """Whether byte fallback ever emits the byte token for `byte` (at any position of a character)."""
        if byte < 0x80 or utf8_len(byte) > 1:
            return self.missing_with_prefix(bytes([byte]))
        if not 0x80 <= byte < 0xC0:
            return False
        # a continuation byte: some missing character has it at position 2, 3 or 4
        for lead in range(0xC2, 0xF5):
            n = utf8_len(lead)
            if self.missing_with_prefix(bytes([lead, byte])):
                return True
            if n >= 3:
                for b2 in range(0x80, 0xC0):
                    if self.missing_with_prefix(bytes([lead, b2, byte])):
                        return True
                    if n == 4 and any(self.missing_with_prefix(bytes([lead, b2, b3, byte]))
                                      for b3 in range(0x80, 0xC0)):
                        return True
        return False
