"""Suffix drafts: the tokens that followed the longest earlier match of the context's suffix.

A suffix automaton over the context (prompt + generated tokens) grows by one state per token
(amortised O(1)). The suffix link of the automaton's `last` state is the state of the longest suffix
of the context that also ends at an earlier position; the tokens after that earlier end (its first
occurrence) are the draft. An optional static corpus gets its own automaton, walked alongside the
context; the longer of the two matches drafts (the context wins ties). With `recent` the context's
draft follows the match's most recent earlier occurrence instead of its first (a loop or a list being
written repeats its latest form more often than its first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["SuffixAutomaton", "SuffixDrafter", "SuffixMatch", "longest_earlier_match"]


class SuffixAutomaton:
    """Online suffix automaton over a token sequence, with the first end position of every state.

    With `recent`, every state also keeps its two most recent end positions (`recent_end`, `before_end`);
    keeping them walks the suffix links of each new token (as long as its longest earlier match).
    """

    def __init__(self, *, recent: bool = False) -> None:
        self.next: list[dict[int, int]] = [{}]
        self.link: list[int] = [-1]
        self.length: list[int] = [0]
        self.first_end: list[int] = [-1]
        self.recent = recent
        self.recent_end: list[int] = [-1]
        self.before_end: list[int] = [-1]
        self.last = 0
        self.text: list[int] = []

    def __len__(self) -> int:
        return len(self.text)

    def extend(self, token: int) -> None:
        """Append one token (Blumer et al.'s online construction)."""
        tok = int(token)
        self.text.append(tok)
        pos = len(self.text) - 1
        nxt, link, length, first = self.next, self.link, self.length, self.first_end
        cur = len(length)
        nxt.append({})
        length.append(length[self.last] + 1)
        link.append(0)
        first.append(pos)
        self.recent_end.append(pos)
        self.before_end.append(-1)
        p = self.last
        while p != -1 and tok not in nxt[p]:
            nxt[p][tok] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][tok]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(length)
                nxt.append(dict(nxt[q]))
                length.append(length[p] + 1)
                link.append(link[q])
                first.append(first[q])
                self.recent_end.append(self.recent_end[q])
                self.before_end.append(self.before_end[q])
                while p != -1 and nxt[p].get(tok) == q:
                    nxt[p][tok] = clone
                    p = link[p]
                link[q] = clone
                link[cur] = clone
        self.last = cur
        if self.recent:  # the states of the earlier-seen suffixes of the text now also end at pos
            s, recent, before = link[cur], self.recent_end, self.before_end
            while s > 0:
                before[s] = recent[s]
                recent[s] = pos
                s = link[s]

    def extend_all(self, tokens: Iterable[int]) -> None:
        for t in tokens:
            self.extend(t)


@dataclass(frozen=True)
class SuffixMatch:
    """A match of the context's suffix: its length, and the draft tokens that followed it."""

    length: int
    draft: tuple[int, ...]
    source: str  # "context" or "corpus"


def longest_earlier_match(text: Sequence[int], *, recent: bool = False) -> tuple[int, int]:
    """Brute force: (length, first earlier end) of the longest suffix of `text` that also ends earlier.

    `recent`: the most recent earlier end instead of the first. The reference the automaton is tested
    against: O(n^2) per call. Returns (0, -1) when no suffix (not even the last token) occurred before.
    """
    n = len(text)
    for length in range(n - 1, 0, -1):
        suffix = list(text[n - length:])
        ends = range(length - 1, n - 1)
        for end in reversed(ends) if recent else ends:
            if list(text[end - length + 1: end + 1]) == suffix:
                return length, end
    return 0, -1


class SuffixDrafter:
    """Drafts a chain of up to `max_len` tokens from the context and an optional corpus.

    Args:
        corpus: token sequences to draft from besides the context (each a separate document: a match
            never crosses from one into the next).
        min_match: shortest suffix match that may draft (default 1 token).
        recent: draft what followed the context match's most recent earlier occurrence (default: its first).
    """

    def __init__(self, corpus: Iterable[Sequence[int]] = (), *, min_match: int = 1, recent: bool = False) -> None:
        self.context = SuffixAutomaton(recent=recent)
        self.min_match = max(1, int(min_match))
        self.corpus: SuffixAutomaton | None = None
        self._sep = -1
        docs = [list(d) for d in corpus]
        if any(docs):
            self.corpus = SuffixAutomaton()
            for i, doc in enumerate(docs):
                self.corpus.extend_all(doc)
                self.corpus.extend(-1 - i)  # a separator no other place contains
        self._state = 0
        self._matched = 0

    def extend(self, tokens: Iterable[int]) -> None:
        """Append tokens to the context (and advance the corpus match)."""
        for t in tokens:
            t = int(t)
            self.context.extend(t)
            if self.corpus is not None:
                self._walk_corpus(t)

    def _walk_corpus(self, t: int) -> None:
        sam = self.corpus
        assert sam is not None
        s, m = self._state, self._matched
        while s and t not in sam.next[s]:
            s = sam.link[s]
            m = sam.length[s]
        if t in sam.next[s]:
            s = sam.next[s][t]
            m += 1
        else:
            s, m = 0, 0
        self._state, self._matched = s, m

    def match(self, max_len: int) -> SuffixMatch | None:
        """The longest match (context first on ties) and up to `max_len` tokens that followed it."""
        best: SuffixMatch | None = None
        ctx = self.context
        state = ctx.link[ctx.last] if ctx.last else -1
        if state > 0 and ctx.length[state] >= self.min_match:
            start = (ctx.before_end[state] if ctx.recent else ctx.first_end[state]) + 1
            draft = tuple(ctx.text[start: start + max_len])
            if draft:
                best = SuffixMatch(ctx.length[state], draft, "context")
        if self.corpus is not None and self._matched >= self.min_match:
            sam = self.corpus
            if best is None or self._matched > best.length:
                start = sam.first_end[self._state] + 1
                draft = []
                for tok in sam.text[start: start + max_len]:
                    if tok < 0:
                        break
                    draft.append(tok)
                if draft:
                    best = SuffixMatch(self._matched, tuple(draft), "corpus")
        return best
