"""UAX #29 word segmentation, vectorised over code-point arrays.

`str.split` calls a whole Japanese line one word; fertility needs real word boundaries. The `regex`
module implements Unicode default word boundaries (`(?w)\\b`), but splitting with it and classifying
every segment in Python costs more than encoding the text with a Rust tokenizer, which would break the
evaluation suite's overhead budget. `word_spans` applies the same rules (WB3-WB16 of UAX #29) to a
numpy array of code points; `word_spans_reference` is the plain `regex` version the tests use as an
oracle.

A *word* is a segment between two boundaries that contains at least one letter or number
(general category L* or N*). Under the default rules each Han ideograph, each Hiragana character and
each Thai/Lao/Khmer grapheme is its own word (those scripts need a dictionary segmenter), a Katakana
run is one word, `don't`, `U.S.A` and `3.14` are one word each.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import regex

__all__ = ["word_spans", "word_spans_reference", "codepoints"]

# Word_Break classes; 0 is Other.
_CLASSES = (
    "Other",
    "CR",
    "LF",
    "Newline",
    "Extend",
    "ZWJ",
    "Regional_Indicator",
    "Format",
    "Katakana",
    "Hebrew_Letter",
    "ALetter",
    "Single_Quote",
    "Double_Quote",
    "MidNumLet",
    "MidLetter",
    "MidNum",
    "Numeric",
    "ExtendNumLet",
    "WSegSpace",
)
(
    OTHER,
    CR,
    LF,
    NEWLINE,
    EXTEND,
    ZWJ,
    RI,
    FORMAT,
    KATAKANA,
    HEBREW,
    ALETTER,
    SQ,
    DQ,
    MIDNUMLET,
    MIDLETTER,
    MIDNUM,
    NUMERIC,
    EXTENDNUMLET,
    WSEGSPACE,
) = range(len(_CLASSES))
_MAX_CP = 0x110000


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Word_Break class, Extended_Pictographic, is letter-or-number) for every code point."""
    cps = np.arange(_MAX_CP, dtype=np.uint32)
    cps[0xD800:0xE000] = 0x20  # lone surrogates cannot be encoded; they get a space's class below
    every = cps.tobytes().decode("utf-32-le")
    wb = np.zeros(_MAX_CP, dtype=np.uint8)
    for k, name in enumerate(_CLASSES[1:], start=1):
        for m in regex.finditer(r"\p{Word_Break=" + name + "}+", every):
            wb[m.start() : m.end()] = k
    pict = np.zeros(_MAX_CP, dtype=bool)
    for m in regex.finditer(r"\p{Extended_Pictographic}+", every):
        pict[m.start() : m.end()] = True
    alnum = np.zeros(_MAX_CP, dtype=bool)
    for m in regex.finditer(r"[\p{L}\p{N}]+", every):
        alnum[m.start() : m.end()] = True
    wb[0xD800:0xE000] = OTHER
    alnum[0xD800:0xE000] = False
    return wb, pict, alnum


def codepoints(text: str) -> np.ndarray:
    """Shape (len(text),) uint32 code points (lone surrogates become U+FFFD)."""
    return np.frombuffer(text.encode("utf-32-le", errors="replace"), dtype=np.uint32)


def _isin(a: np.ndarray, *classes: int) -> np.ndarray:
    m = a == classes[0]
    for c in classes[1:]:
        m |= a == c
    return m


def word_boundaries(cp: np.ndarray) -> np.ndarray:
    """Shape (n + 1,) bool: True where UAX #29 puts a word boundary before position i (and at both ends)."""
    n = len(cp)
    out = np.ones(n + 1, dtype=bool)
    if n == 0:
        return out
    wbt, pictt, _ = _tables()
    wb = wbt[cp]
    newline = _isin(wb, CR, LF, NEWLINE)
    efz = _isin(wb, EXTEND, FORMAT, ZWJ)
    prev_newline = np.zeros(n, dtype=bool)
    prev_newline[1:] = newline[:-1]
    prev_newline[0] = True  # sot
    # WB4: Extend/Format/ZWJ attach to what precedes them, except right after sot or a newline.
    skel_mask = ~efz | prev_newline
    skel = np.flatnonzero(skel_mask)
    s = wb[skel]
    m = len(skel)
    nobreak = np.zeros(m, dtype=bool)  # index j: no boundary before skeleton char j
    if m > 1:
        L, R = s[:-1], s[1:]
        LL = np.full(m - 1, OTHER, dtype=np.uint8)
        LL[1:] = s[:-2]
        RR = np.full(m - 1, OTHER, dtype=np.uint8)
        RR[:-1] = s[2:]
        ahl_L, ahl_R = _isin(L, ALETTER, HEBREW), _isin(R, ALETTER, HEBREW)
        ahl_LL, ahl_RR = _isin(LL, ALETTER, HEBREW), _isin(RR, ALETTER, HEBREW)
        mid_let_R = _isin(R, MIDLETTER, MIDNUMLET, SQ)
        mid_let_L = _isin(L, MIDLETTER, MIDNUMLET, SQ)
        mid_num_R = _isin(R, MIDNUM, MIDNUMLET, SQ)
        mid_num_L = _isin(L, MIDNUM, MIDNUMLET, SQ)
        num_L, num_R = L == NUMERIC, R == NUMERIC
        adjacent = skel[1:] - skel[:-1] == 1
        x = (L == CR) & (R == LF)  # WB3
        x |= (L == WSEGSPACE) & (R == WSEGSPACE) & adjacent  # WB3d
        x |= ahl_L & ahl_R  # WB5
        x |= ahl_L & mid_let_R & ahl_RR  # WB6
        x |= ahl_LL & mid_let_L & ahl_R  # WB7
        x |= (L == HEBREW) & (R == SQ)  # WB7a
        x |= (L == HEBREW) & (R == DQ) & (RR == HEBREW)  # WB7b
        x |= (LL == HEBREW) & (L == DQ) & (R == HEBREW)  # WB7c
        x |= num_L & num_R  # WB8
        x |= ahl_L & num_R  # WB9
        x |= num_L & ahl_R  # WB10
        x |= (LL == NUMERIC) & mid_num_L & num_R  # WB11
        x |= num_L & mid_num_R & (RR == NUMERIC)  # WB12
        x |= (L == KATAKANA) & (R == KATAKANA)  # WB13
        x |= _isin(L, ALETTER, HEBREW, NUMERIC, KATAKANA, EXTENDNUMLET) & (R == EXTENDNUMLET)  # WB13a
        x |= (L == EXTENDNUMLET) & _isin(R, ALETTER, HEBREW, NUMERIC, KATAKANA)  # WB13b
        # WB3c: ZWJ x Extended_Pictographic (raw neighbours).
        raw_prev = wb[skel[1:] - 1]
        x |= (raw_prev == ZWJ) & pictt[cp[skel[1:]]]
        # WB15/16: Regional indicators pair up from the start of each run.
        ri = s == RI
        if ri.any():
            run_start = ri & ~np.concatenate(([False], ri[:-1]))
            idx = np.arange(m)
            last_start = np.maximum.accumulate(np.where(run_start, idx, 0))
            pos_in_run = idx - last_start
            x |= ri[:-1] & ri[1:] & (pos_in_run[1:] % 2 == 1)
        # WB3a/WB3b: always break after and before newlines.
        x &= ~(_isin(L, CR, LF, NEWLINE) | _isin(R, CR, LF, NEWLINE)) | ((L == CR) & (R == LF))
        nobreak[1:] = x
    out[1:n] = False
    out[skel[1:]] = ~nobreak[1:]
    return out


def word_spans(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end code-point offsets (int64 arrays) of the UAX #29 words in `cp`.

    >>> s, e = word_spans(codepoints("It's 3.14, ok?"))
    >>> s.tolist(), e.tolist()
    ([0, 5, 11], [4, 9, 13])
    """
    n = len(cp)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bounds = np.flatnonzero(word_boundaries(cp))
    starts, ends = bounds[:-1], bounds[1:]
    alnum = _tables()[2][cp].astype(np.int64)
    has = np.add.reduceat(alnum, starts) > 0
    return starts[has].astype(np.int64), ends[has].astype(np.int64)


def word_spans_reference(text: str) -> list[tuple[int, int]]:
    """The same spans from `regex`'s own UAX #29 implementation (`(?w)\\b`), one segment at a time."""
    out: list[tuple[int, int]] = []
    pos = 0
    alnum = regex.compile(r"[\p{L}\p{N}]")
    for seg in regex.split(r"(?w)\b", text):
        if seg and alnum.search(seg):
            out.append((pos, pos + len(seg)))
        pos += len(seg)
    return out
