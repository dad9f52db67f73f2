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

import threading

import numpy as np
import regex

from toksmith._native import eval_ext as _eval
from toksmith.cache import load_arrays, store_arrays

__all__ = ["word_spans", "word_spans_of", "word_spans_reference", "codepoints"]

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
_PAGE_BITS = 10  # tables are filled lazily, 1024 code points at a time, for the pages a text uses
_K = len(_CLASSES)
_PICT = 32  # flag bits next to the Word_Break class (bits 0-4) in the property table
_ALNUM = 64
_EFZ_BIT = 128  # Extend, Format or ZWJ (WB4)


class _Props:
    """Word_Break class | Extended_Pictographic | letter-or-number of every code point, filled by page.

    The filled pages are kept in the on-disk cache (`toksmith.cache`, keyed by the `regex` module's
    version, which carries its Unicode data), so a new process neither compiles the property patterns
    nor fills the pages its texts use again. `save` writes them once a pass is over (`save_tables`),
    not from inside the pass each time a new script appears.
    """

    def __init__(self) -> None:
        self.table = np.zeros(_MAX_CP, dtype=np.uint8)
        self.filled = np.zeros(_MAX_CP >> _PAGE_BITS, dtype=bool)
        self.lock = threading.Lock()
        self.ascii_table: bytes | None = None
        self._patterns: list[tuple[int, regex.Pattern]] | None = None
        self.dirty = False  # pages filled since the last save
        hit = load_arrays("word-break-pages", _cache_key())
        if hit is not None and set(hit) == {"pages", "props"}:
            pages, props = hit["pages"], hit["props"]
            if props.shape == (len(pages), 1 << _PAGE_BITS) and pages.size and 0 <= pages.min() and \
                    pages.max() < len(self.filled):
                self.table.reshape(-1, 1 << _PAGE_BITS)[pages] = props
                self.filled[pages] = True

    @property
    def patterns(self) -> list[tuple[int, regex.Pattern]]:
        if self._patterns is None:
            pats = [(k, regex.compile(r"\p{Word_Break=" + name + "}+")) for k, name in enumerate(_CLASSES)][1:]
            pats.append((_PICT, regex.compile(r"\p{Extended_Pictographic}+")))
            pats.append((_ALNUM, regex.compile(r"[\p{L}\p{N}]+")))
            self._patterns = pats
        return self._patterns

    def of(self, cp: np.ndarray) -> np.ndarray:
        """Property bytes of the code points `cp`, computing the pages not seen before."""
        top = int(cp.max()) >> _PAGE_BITS if len(cp) else 0
        if top < 16:  # Latin, Greek, Cyrillic, ... : fill the few low pages rather than find the used ones
            pages = np.arange(top + 1)
        else:
            pages = np.flatnonzero(np.bincount(cp >> _PAGE_BITS, minlength=len(self.filled)))
        self.ensure(pages[~self.filled[pages]])
        return self.table[cp]

    def ensure(self, pages: np.ndarray) -> None:
        if len(pages):
            with self.lock:
                new = [p for p in pages.tolist() if not self.filled[p]]
                for p in new:
                    self._fill(p)
                self.dirty |= bool(new)

    def save(self) -> None:
        """Store the filled pages on disk when new ones were filled since the last save."""
        with self.lock:
            if self.dirty:
                pages = np.flatnonzero(self.filled)
                props = self.table.reshape(-1, 1 << _PAGE_BITS)[pages]
                store_arrays("word-break-pages", _cache_key(), {"pages": pages, "props": props})
                self.dirty = False

    def of_ascii(self, data: bytes) -> np.ndarray:
        """Property bytes of ASCII text, by byte translation."""
        self.ensure(np.zeros(1, dtype=np.int64))
        if self.ascii_table is None:
            self.ascii_table = self.table[:256].tobytes()
        return np.frombuffer(data.translate(self.ascii_table), dtype=np.uint8)

    def _fill(self, page: int) -> None:
        lo = page << _PAGE_BITS
        cps = np.arange(lo, lo + (1 << _PAGE_BITS), dtype=np.uint32)
        surrogate = (cps >= 0xD800) & (cps < 0xE000)
        cps[surrogate] = 0x20  # lone surrogates cannot be encoded; they are Other below
        text = cps.tobytes().decode("utf-32-le")
        out = np.zeros(len(cps), dtype=np.uint8)
        for bits, pat in self.patterns:
            for m in pat.finditer(text):
                if bits < _PICT:
                    out[m.start() : m.end()] = bits
                else:
                    out[m.start() : m.end()] |= bits
        out[surrogate] = OTHER
        out[_EFZ[out]] |= _EFZ_BIT
        self.table[lo : lo + len(out)] = out
        self.filled[page] = True


_PROPS: _Props | None = None


def _cache_key() -> str:
    """What the property bytes depend on: the `regex` module (its Unicode data) and this module's layout."""
    layout = ",".join(_CLASSES) + f"|{_PAGE_BITS}|{_PICT}|{_ALNUM}|{_EFZ_BIT}"
    return f"regex={regex.__version__}|{layout}|pages"


def _props() -> _Props:
    global _PROPS
    if _PROPS is None:
        _PROPS = _Props()
    return _PROPS


def save_tables() -> None:
    """Store the property pages filled in this process (`_Props.save`); the streamed pass calls it at its end."""
    if _PROPS is not None:
        _PROPS.save()


def reset_tables() -> None:
    """Forget the property tables (benchmarks use it to time a cold start)."""
    global _PROPS
    _PROPS = None


def codepoints(text: str) -> np.ndarray:
    """Shape (len(text),) uint32 code points (lone surrogates become U+FFFD)."""
    return np.frombuffer(text.encode("utf-32-le", errors="replace"), dtype=np.uint32)


def _pair_table() -> np.ndarray:
    """(L, R) class pair -> 0 break, 1 no break, 2 depends on the neighbours (WB3d, WB6-7c, WB11-12), 3 RI pair."""
    t = np.zeros((_K, _K), dtype=np.uint8)
    ahl = (ALETTER, HEBREW)
    mid_let = (MIDLETTER, MIDNUMLET, SQ)
    mid_num = (MIDNUM, MIDNUMLET, SQ)
    cond = [(WSEGSPACE, WSEGSPACE), (HEBREW, DQ), (DQ, HEBREW)]  # WB3d, WB7b, WB7c
    cond += [(a, m) for a in ahl for m in mid_let] + [(m, a) for a in ahl for m in mid_let]  # WB6, WB7
    cond += [(m, NUMERIC) for m in mid_num] + [(NUMERIC, m) for m in mid_num]  # WB11, WB12
    for a, b in cond:
        t[a, b] = 2
    always = [(CR, LF), (HEBREW, SQ), (NUMERIC, NUMERIC), (KATAKANA, KATAKANA)]  # WB3, WB7a, WB8, WB13
    always += [(a, b) for a in ahl for b in ahl]  # WB5
    always += [(a, NUMERIC) for a in ahl] + [(NUMERIC, a) for a in ahl]  # WB9, WB10
    always += [(a, EXTENDNUMLET) for a in (ALETTER, HEBREW, NUMERIC, KATAKANA, EXTENDNUMLET)]  # WB13a
    always += [(EXTENDNUMLET, b) for b in (ALETTER, HEBREW, NUMERIC, KATAKANA)]  # WB13b
    for a, b in always:
        t[a, b] = 1
    t[RI, RI] = 3  # WB15/16
    for nl in (CR, LF, NEWLINE):  # WB3a/WB3b: always break around newlines (except CR LF, WB3)
        t[nl, :] = 0
        t[:, nl] = 0
    t[CR, LF] = 1
    return t.ravel()


_PAIRS = _pair_table()
_EFZ = np.zeros(256, dtype=bool)
_EFZ[[EXTEND, FORMAT, ZWJ]] = True
_NEWLINE = np.zeros(256, dtype=bool)
_NEWLINE[[CR, LF, NEWLINE]] = True


def _isin(a: np.ndarray, *classes: int) -> np.ndarray:
    m = a == classes[0]
    for c in classes[1:]:
        m |= a == c
    return m


def _conditional(s: np.ndarray, j: np.ndarray, adjacent: np.ndarray | None) -> np.ndarray:
    """No-break of the pairs (s[j], s[j+1]) whose rule reads a neighbour (WB3d, WB6, WB7, WB7b/c, WB11/12)."""
    m = len(s)
    L, R = s[j], s[j + 1]
    LL = np.where(j >= 1, s[np.maximum(j - 1, 0)], OTHER)
    RR = np.where(j + 2 < m, s[np.minimum(j + 2, m - 1)], OTHER)
    ahl_L, ahl_R = _isin(L, ALETTER, HEBREW), _isin(R, ALETTER, HEBREW)
    x = (L == WSEGSPACE) & (R == WSEGSPACE) & (True if adjacent is None else adjacent[j])  # WB3d
    x |= ahl_L & _isin(R, MIDLETTER, MIDNUMLET, SQ) & _isin(RR, ALETTER, HEBREW)  # WB6
    x |= _isin(LL, ALETTER, HEBREW) & _isin(L, MIDLETTER, MIDNUMLET, SQ) & ahl_R  # WB7
    x |= (L == HEBREW) & (R == DQ) & (RR == HEBREW)  # WB7b
    x |= (LL == HEBREW) & (L == DQ) & (R == HEBREW)  # WB7c
    x |= (LL == NUMERIC) & _isin(L, MIDNUM, MIDNUMLET, SQ) & (R == NUMERIC)  # WB11
    x |= (L == NUMERIC) & _isin(R, MIDNUM, MIDNUMLET, SQ) & (RR == NUMERIC)  # WB12
    return x


def _boundaries(props: np.ndarray) -> np.ndarray:
    n = len(props)
    out = np.ones(n + 1, dtype=bool)
    if n == 0:
        return out
    wb = props & 31
    skel: np.ndarray | None = None
    adjacent: np.ndarray | None = None
    if props.max() >= _EFZ_BIT:
        efz = (props & _EFZ_BIT) > 0
        # WB4: Extend/Format/ZWJ attach to what precedes them, except right after sot or a newline.
        prev_newline = np.empty(n, dtype=bool)
        prev_newline[0] = True
        prev_newline[1:] = _NEWLINE[wb[:-1]]
        skel = np.flatnonzero(~efz | prev_newline)
        s = wb[skel]
        adjacent = skel[1:] - skel[:-1] == 1
    else:
        s = wb
    m = len(s)
    nobreak = np.zeros(m, dtype=bool)  # index j: no boundary before skeleton char j
    if m > 1:
        idx = s[:-1].astype(np.uint16) * _K
        idx += s[1:]
        code = _PAIRS[idx]
        x = code == 1
        special = np.flatnonzero(code >= 2)
        if len(special):
            cond = special[code[special] == 2]
            if len(cond):
                x[cond] = _conditional(s, cond, adjacent)
            if len(cond) < len(special):  # WB15/16: Regional indicators pair up from the start of each run
                ri = s == RI
                run_start = ri & ~np.concatenate(([False], ri[:-1]))
                pos = np.arange(m)
                pos_in_run = pos - np.maximum.accumulate(np.where(run_start, pos, 0))
                x |= ri[:-1] & ri[1:] & (pos_in_run[1:] % 2 == 1)
        if skel is not None:
            # WB3c: ZWJ x Extended_Pictographic (raw neighbours).
            x |= (wb[skel[1:] - 1] == ZWJ) & ((props[skel[1:]] & _PICT) > 0)
        nobreak[1:] = x
    if skel is None:
        out[1:n] = ~nobreak[1:]
    else:
        out[1:n] = False
        out[skel[1:]] = ~nobreak[1:]
    return out


def word_boundaries(cp: np.ndarray) -> np.ndarray:
    """Shape (n + 1,) bool: True where UAX #29 puts a word boundary before position i (and at both ends)."""
    return _boundaries(_props().of(cp)) if len(cp) else np.ones(1, dtype=bool)


def word_spans(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end code-point offsets (int64 arrays) of the UAX #29 words in `cp`.

    >>> s, e = word_spans(codepoints("It's 3.14, ok?"))
    >>> s.tolist(), e.tolist()
    ([0, 5, 11], [4, 9, 13])
    """
    return _spans(_props().of(cp))


def word_spans_of(text: str) -> tuple[np.ndarray, np.ndarray]:
    """`word_spans(codepoints(text))`, faster for ASCII text."""
    if text.isascii():
        return _spans(_props().of_ascii(text.encode("ascii")))
    return word_spans(codepoints(text))


def _flag_table() -> np.ndarray:
    """Per Word_Break class, its roles in the neighbour rules (bit order of `_native/eval.cpp`'s F_* flags)."""
    roles = [(ALETTER, HEBREW), (MIDLETTER, MIDNUMLET, SQ), (MIDNUM, MIDNUMLET, SQ), (CR, LF, NEWLINE), (HEBREW,),
             (DQ,), (NUMERIC,), (WSEGSPACE,), (RI,), (ZWJ,)]
    t = np.zeros(_K, dtype=np.uint16)
    for bit, classes in enumerate(roles):
        t[list(classes)] |= 1 << bit
    return t


_FLAGS = _flag_table()


def _spans(props: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if _eval is None:
        return _spans_numpy(props)
    return _eval.word_spans(props, _PAIRS, _FLAGS, _PICT, _ALNUM, _EFZ_BIT)


def _spans_numpy(props: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(props)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bounds = np.flatnonzero(_boundaries(props))
    alnum = np.zeros(n + 1, dtype=np.int32)
    np.cumsum((props & _ALNUM) > 0, out=alnum[1:])
    starts, ends = bounds[:-1], bounds[1:]
    has = alnum[ends] > alnum[starts]
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
