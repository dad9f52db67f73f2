"""The pair test under a pre-tokenizer regex (SmolLM2, cl100k): where the pre-token boundary falls.

The encoder-based definition (see `canonical`): (a, b) is canonical when [a, b] starts the encoding of
text(a) + text(b) + z for z in `PROBES` (z = "\\x00" only after whitespace, where `\\s+(?!\\S)` looks
ahead). The encoding is BPE on each pre-token, so with P0, P1 the first pre-tokens of s = text(a) +
text(b) + z, [a, b] starts it iff
- P0 == text(a) + text(b): the structural BPE pair test (`pairs.BPEPairs.follow_mask`);
- P0 == text(a) and P1 == text(b): BPE gives a and b back on their own bytes (both *derived*);
- P0 == text(a) and P1 is longer than text(b): BPE on P1 starts with b (run directly; rare);
- P0 longer than text(a) + text(b): BPE on P0 starts with [a, b] (run directly; rare).
Where the boundary falls depends only on the classes the regex tests (letter, number, whitespace, the
literal characters it names), so it is computed once per distinct *class string* of text(b) (letters
become `a`, numbers `0`, punctuation `!`; spaces, newlines, the apostrophe and the contraction letters
stay), by re-running the pre-tokenizer on class(text(a)) + class(text(b)) only.

A token need not start its pre-token: in cl100k's " (`_" the "_" ends a punctuation pre-token, so
"_" + "Candidates" is canonical there although "_Candidates" alone is one pre-token. So the left side
of the test is the *left context* plus text(a): the class string of the pre-token's text before a
(empty when a starts its pre-token), carried along the path (`states_after`). Where the probes
disagree (a whitespace run the lookahead may cut), the path carries each reading as a state; a cut
that only a following non-space justifies requires one of the next token, so the pairwise-canonical
but non-canonical "\n    " + " " + " Pre" is cut.

Added tokens come before both: the encoder cuts their texts out of the raw text first (Gemma 3's runs
of spaces, newlines and tabs, its HTML tags). Where one straddles the boundary of text(a) + text(b),
[a, b] is never canonical (`PretokenPairs.cut_added`); BPE alone would allow " " + " ".
"""

from __future__ import annotations

import bisect
import re
import unicodedata

import numpy as np

from toksmith.bridge.pairs import BPEPairs, bpe_definition, run_bpe
from toksmith.tokenizers import Tokenizer
from toksmith.vocab import TokenKind

__all__ = ["NEXT_ANY", "NEXT_NONSPACE", "NEXT_SPACE", "PretokenPairs", "char_class", "white_space"]

_KEEP = frozenset(" \t\n\r'\x00strevmldSTREVMLD")


def white_space(c: str) -> bool:
    """Whether the pre-tokenizer regex's `\\s` (Unicode White_Space) matches `c`; Python's `isspace` also
    counts the separators U+001C..U+001F."""
    return c.isspace() and c not in "\x1c\x1d\x1e\x1f"


def char_class(c: str) -> str:
    """A representative character the pre-tokenizer regex treats exactly like `c`."""
    if c in _KEEP:
        return c
    cat = unicodedata.category(c)
    if cat[0] == "L":
        return "a"
    if cat[0] == "N":
        return "0"
    if cat[0] in "PS" and not c.isspace():
        return "!"
    return c


def _class_string(text: str) -> str:
    return "".join(map(char_class, text))


_CONTRACTION = frozenset("strevmldSTREVMLD")
#: what a pair is under one probe (`PretokenPairs._categories`)
_JOINED, _SPLIT, _P0_PAST, _P1_PAST = 1, 2, 3, 4
#: probes for the pre-token states after a pair whose right token ends in whitespace: the pair's own
#: (end of text; a non-space) and more whitespace before a non-space
_STATE_PROBES = ("", "\x00", " \x00")
#: what a state requires of the next token's first character
NEXT_ANY, NEXT_NONSPACE, NEXT_SPACE = 0, 1, 2


def head_class(text: str, *, keep: int = 2) -> str:
    """The class string of a token that follows another, shortened where the regex cannot tell.

    A contraction letter matters only as one of the first `keep` characters (an apostrophe may end the
    text before it) or within two after an apostrophe (`'s`, `'ll`); elsewhere it is a letter like any
    other. A run of one class longer than 3 (numbers excepted: `\\p{N}{1,3}` counts them) acts like a
    run of 3: the alternatives are greedy.
    """
    cls = list(_class_string(text))
    for p in range(keep, len(cls)):
        if cls[p] in _CONTRACTION and "'" not in cls[max(0, p - 2): p]:
            cls[p] = "a"
    out: list[str] = []
    for c in cls:
        if c != "0" and len(out) >= 3 and out[-1] == out[-2] == out[-3] == c:
            continue
        out.append(c)
    return "".join(out)


class PretokenPairs:
    """Pair masks over the whole vocabulary for a byte-level BPE with a pre-tokenizer regex."""

    def __init__(self, tok: Tokenizer, bpe: BPEPairs) -> None:
        self.tok = tok
        self.bpe = bpe
        v = tok.vocab
        self.n = v.size
        self.has_pretokenizer = tok.pretokenize("a b") is not None
        self._def: tuple | None = None
        self._cats: dict[str, tuple] = {}
        texts: list[str | None] = []
        for i, t in enumerate(v.tokens):
            s = None
            if v.kinds[i] == TokenKind.NORMAL and t:
                try:
                    s = t.decode("utf-8")
                except UnicodeDecodeError:
                    s = None
            texts.append(s)
        self.texts = texts
        #: tokens this test decides: valid UTF-8 normal tokens with a regular derivation
        self.eligible = np.array([s is not None for s in texts], dtype=bool) & ~bpe.irregular
        #: added texts the encoder cuts out first: their splits u + w (u ends a, w starts b) by u
        added = _added_texts(tok)
        self._splits: dict[bytes, list[bytes]] = {}
        for t in added:
            for k in range(1, len(t)):
                self._splits.setdefault(t[:k], []).append(t[k:])
        self._split_max = max(map(len, added), default=0)
        self._sorted: tuple[np.ndarray, list[bytes]] | None = None
        if added:  # a token holding an added text is left to the encoder (Gemma 3 has none)
            holds = re.compile(b"|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)))
            for i in np.flatnonzero(self.eligible).tolist():
                if holds.search(v.tokens[i]):
                    self.eligible[i] = False
        heads: dict[str, int] = {}
        gid = np.full(self.n, -1, dtype=np.int64)
        for i in np.flatnonzero(self.eligible).tolist():
            gid[i] = heads.setdefault(head_class(texts[i]), len(heads))
        self.gid = gid
        self.heads = list(heads)
        self.head_len = np.array([len(h) for h in self.heads], dtype=np.int64)
        self.head_space = np.array([h[-1:].isspace() for h in self.heads], dtype=bool)
        # members of each head group, for the rare cases decided one token at a time
        order = np.argsort(gid, kind="stable")
        order = order[gid[order] >= 0]
        self._members = np.split(order, np.searchsorted(gid[order], np.arange(1, len(heads))))

    def _bounds(self, text: str) -> list[int]:
        pieces = self.tok.pretokenize(text) or [text]
        out, k = [], 0
        for p in pieces:
            k += len(p)
            out.append(k)
        return out

    def _categories(self, ca: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, bool, int]], np.ndarray]:
        """For a left side of class string `ca` (context + a), per head class: joined, split, the rare
        cases, and per probe (rows: `_STATE_PROBES`) what the pair is under it (`_JOINED` ... `_P1_PAST`)."""
        got = self._cats.get(ca)
        if got is not None:
            return got
        joined = np.zeros(len(self.heads), dtype=bool)
        split = np.zeros(len(self.heads), dtype=bool)
        codes = np.zeros((len(_STATE_PROBES), len(self.heads)), dtype=np.int8)
        rare: list[tuple[int, bool, int]] = []  # (head, P1 runs past b (else P0 past a+b), extra chars)
        la = len(ca)
        for h, head in enumerate(self.heads):
            total = la + len(head)
            for zi, z in enumerate(_STATE_PROBES if head[-1:].isspace() else ("",)):
                ends = self._bounds(ca + head + z)
                e0, e1 = ends[0], ends[1] if len(ends) > 1 else ends[0]
                if zi == 2:  # the states' extra probe: its reading only, not the pair definition
                    codes[zi, h] = (_SPLIT if e0 == la and e1 == total else _JOINED if e0 == total
                                    else _P0_PAST if e0 > total else 0)
                    continue
                if e0 == total:
                    joined[h] = True
                    codes[zi, h] = _JOINED
                elif e0 == la and e1 == total:
                    split[h] = True
                    codes[zi, h] = _SPLIT
                elif e0 == la and e1 > total:
                    rare.append((h, True, e1 - total))
                    codes[zi, h] = _P1_PAST
                elif e0 > total:
                    rare.append((h, False, e0 - total))
                    codes[zi, h] = _P0_PAST
        got = (joined, split, rare, codes)
        self._cats[ca] = got
        return got

    def left_class(self, left: str, a: int) -> str:
        """The class string the regex sees from the start of a's pre-token through a.

        It starts where the regex starts a match, so no apostrophe precedes it: only contraction letters
        within two after an apostrophe inside it keep their identity (`keep=0`)."""
        return head_class(left + self.texts[a], keep=0)

    def states_after(self, left: str, a: int, b: int) -> list[tuple[str, int]]:
        """The pre-token states b can be in after a (whose left context is `left`), given [a, b] is canonical.

        A state is (b's left context, what the token after b must start with: `NEXT_ANY`, `NEXT_NONSPACE`
        or `NEXT_SPACE`): a and b in one pre-token give (left + text(a), any), and the next pair
        re-scans from the pre-token start; b starting a pre-token gives ("", what the probe that puts
        the boundary there begins with). A whitespace run the lookahead `\\s+(?!\\S)` cuts before its
        last space only when a non-space follows: "\\n    " + " " is canonical before a word, not before
        " Pre"; `_STATE_PROBES` adds " \\x00" (more whitespace, then a non-space) to the pair's probes.
        """
        ca = self.left_class(left, a)
        codes = self._categories(ca)[3][:, self.gid[b]]
        joined_ok = self.bpe.follows(a, b)
        split_ok = bool(self.bpe.derived[a] and self.bpe.derived[b])
        out: list[tuple[str, int]] = []
        for zi, code in enumerate(codes.tolist()):
            if (code == _JOINED and joined_ok) or code == _P0_PAST:
                out.append((ca, NEXT_ANY))
            elif (code == _SPLIT and split_ok) or code == _P1_PAST:
                out.append(("", (NEXT_ANY, NEXT_NONSPACE, NEXT_SPACE)[zi]))
        return out

    def mask(self, a: int, left: str = "") -> np.ndarray:
        """Shape (V,) bool over eligible b (False elsewhere): the encoder-based pair definition.

        `left`: a's left context (`states_after`), the class string of its pre-token before it.
        """
        ta = self.texts[a]
        out = np.zeros(self.n, dtype=bool)
        if ta is None or not self.eligible[a]:
            return out
        follow = self.bpe.follow_mask(a) & self.eligible
        if not self.has_pretokenizer:
            return self.cut_added(a, follow)
        joined, split, rare, _ = self._categories(self.left_class(left, a))
        ok = np.where(joined[np.maximum(self.gid, 0)], follow, False)
        if self.bpe.derived[a]:
            ok |= split[np.maximum(self.gid, 0)] & self.bpe.derived
        ok &= self.gid >= 0
        if rare:
            merges, initial = self.bpe_def
            la = len(ta)
            for h, p1, extra in rare:
                for b in self._members[h].tolist():
                    if ok[b]:
                        continue
                    full = ta + self.texts[b] + "\x00"
                    end = la + len(self.texts[b]) + extra
                    if p1:  # P0 is text(a); P1 runs past text(b): BPE on P1 must start with b
                        syms = initial(full[la:end].encode("utf-8"))
                        ok[b] = bool(self.bpe.derived[a]) and syms is not None and run_bpe(syms, merges)[0][:1] == [b]
                    else:  # P0 runs past text(a) + text(b)
                        syms = initial(full[:end].encode("utf-8"))
                        ok[b] = syms is not None and run_bpe(syms, merges)[0][:2] == [a, b]
        return self.cut_added(a, ok)

    def cut_added(self, a: int, ok: np.ndarray) -> np.ndarray:
        """`ok` without the bs for which an added token's text straddles the boundary of text(a) + text(b).

        The encoder cuts added texts out of the raw text before anything else, leftmost match first.
        Eligible a and b hold no added text of their own, so the leftmost match starts inside a and
        ends inside b or beyond: no token boundary falls at the end of a, whatever follows, and [a, b]
        cannot start the encoding. Gemma 3: " " + " " is its added token "  "; " " + " the" starts with it.
        """
        if not self._splits:
            return ok
        ta = self.tok.vocab.tokens[a]
        ws = [w for k in range(1, min(len(ta), self._split_max) + 1) for w in self._splits.get(ta[-k:], ())]
        if not ws:
            return ok
        if self._sorted is None:
            tokens = self.tok.vocab.tokens
            order = np.array(sorted(range(self.n), key=tokens.__getitem__), dtype=np.int64)
            self._sorted = (order, [tokens[i] for i in order.tolist()])
        order, keys = self._sorted
        for w in ws:
            lo = bisect.bisect_left(keys, w)
            hi = lo
            if lo < len(keys) and keys[lo].startswith(w):
                t = w.rstrip(b"\xff")
                hi = len(keys) if not t else bisect.bisect_left(keys, t[:-1] + bytes([t[-1] + 1]), lo)
            ok[order[lo:hi]] = False
        return ok

    @property
    def bpe_def(self) -> tuple:
        """(merges, initial symbols) of the tokenizer, loaded on first need (the rare cases only)."""
        if self._def is None:  # shared by every PretokenPairs over the same derivations
            if getattr(self.bpe, "definition", None) is None:
                self.bpe.definition = bpe_definition(self.tok)
            self._def = self.bpe.definition
        return self._def


def _added_texts(tok: Tokenizer) -> list[bytes]:
    """Texts of the non-special added tokens that `tok.encode` cuts out of the raw text before its model.

    Only plain ones (no lstrip/rstrip/single_word, matched on the raw text); where a tokenizer has others,
    or no `tokenizers` backend, this returns none and the pair test is unchanged.
    """
    backend = getattr(tok, "backend", None)
    get = getattr(backend, "get_added_tokens_decoder", None)
    if get is None:
        return []
    out = []
    for tid, at in get().items():
        if at.special or tid >= tok.vocab.size:
            continue
        if at.lstrip or at.rstrip or at.single_word or at.normalized:
            return []
        text = tok.vocab.tokens[tid]
        if len(text) > 1:
            out.append(text)
    return out
