"""Token boundaries on the byte-exact view: which bytes each token covers and how to show them.

Shared by the terminal `inspect` view and the HTML boundary viewer, so both show the same thing: a token
whose bytes are whole characters is shown as text; bytes of a character that is split across tokens are
shown as hex, with the character they belong to (decoding token by token would print U+FFFD instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from toksmith.tokenizers.base import Tokenizer
from toksmith.utf8 import utf8_chars
from toksmith.vocab import TokenKind

__all__ = ["Segment", "boundary_sample", "segment_tokens", "token_bytes"]


@dataclass(frozen=True)
class Segment:
    """A run of one token's bytes: whole characters (`text`) or part of a split character (`char`)."""

    data: bytes
    text: str | None
    #: for a partial segment, the character it is part of (None where the bytes are not UTF-8 at all)
    char: str | None = None

    @property
    def partial(self) -> bool:
        return self.text is None

    @property
    def hex(self) -> str:
        return " ".join(f"{b:02x}" for b in self.data)


def token_bytes(tok: Tokenizer, ids: Sequence[int]) -> list[bytes]:
    """The bytes of each token as they appear in `tok.decode_bytes(ids)` (same concatenation).

    Special and unused tokens contribute b"", and the space a SentencePiece encoder prepends
    (`adds_space_prefix`) is removed from the first token that carries it, as `decode_bytes` does.

    >>> from toksmith import load_tokenizer
    >>> token_bytes(load_tokenizer("cl100k"), [15339, 1917])
    [b'hello', b' world']
    """
    v = tok.vocab
    out: list[bytes] = []
    strip = tok.adds_space_prefix
    for i in ids:
        b = b"" if v.is_special(i) or v.kinds[i] == TokenKind.UNUSED else v.tokens[i]
        if strip and b:
            if b.startswith(b" "):
                b = b[1:]
            strip = False
        out.append(b)
    return out


def segment_tokens(tokens: Sequence[bytes]) -> list[list[Segment]]:
    """Split each token's bytes into text runs and partial-character runs (see `Segment`).

    >>> segment_tokens([b"a\\xe4\\xb8", b"\\x96"])[0]
    [Segment(data=b'a', text='a', char=None), Segment(data=b'\\xe4\\xb8', text=None, char='世')]
    """
    data = b"".join(tokens)
    chars = utf8_chars(data)
    out: list[list[Segment]] = []
    ci = 0
    start = 0
    for tb in tokens:
        end = start + len(tb)
        segs: list[Segment] = []
        text_buf: list[str] = []
        text_start = start
        while ci < len(chars) and chars[ci][0] < end:
            c0, c1, ch = chars[ci]
            lo, hi = max(c0, start), min(c1, end)
            whole = c0 >= start and c1 <= end and ch is not None
            if whole:
                if not text_buf:
                    text_start = c0
                text_buf.append(ch)  # type: ignore[arg-type]
            else:
                if text_buf:
                    segs.append(Segment(data[text_start:lo], "".join(text_buf)))
                    text_buf = []
                if ch is None and segs and segs[-1].partial and segs[-1].char is None:
                    segs[-1] = Segment(segs[-1].data + data[lo:hi], None, None)
                else:
                    segs.append(Segment(data[lo:hi], None, ch))
            if c1 <= end:
                ci += 1
            else:
                break
        if text_buf:
            segs.append(Segment(data[text_start:end], "".join(text_buf)))
        out.append(segs)
        start = end
    return out


def boundary_sample(
    text: str, tokenizers: Iterable[Tokenizer], *, lang: str | None = None
) -> dict[str, object]:
    """A sample for the report's boundary viewer: `{"text", "lang", "tokens": {name: {"ids", "bytes"}}}`.

    `bytes` holds each token's bytes as a hex string, so the JSON stays byte-exact.
    """
    toks: dict[str, dict[str, list]] = {}
    for tok in tokenizers:
        ids = tok.encode(text)
        toks[tok.name] = {"ids": list(ids), "bytes": [b.hex() for b in token_bytes(tok, ids)]}
    return {"text": text, "lang": lang, "tokens": toks}
