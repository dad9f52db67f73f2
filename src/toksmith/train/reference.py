"""Pure-Python reference BPE: a trainer and an encoder, slow and obviously correct; tests use them as oracles.

The trainer recounts every pair from scratch before each merge and must produce the same merges, in the
same order, as the compiled trainer (`toksmith._native._bpe.Trainer`), which updates counts incrementally.

Rules shared with the compiled trainer:
- the alphabet is the 256 single bytes; a merge whose result already exists reuses that token;
- a pair's count is the number of adjacent occurrences (overlapping ones too: b"aaa" holds (a, a) twice)
  times the word's count; a merge replaces occurrences left to right without overlap;
- the next merge is the pair with the highest count; ties go to the pair whose left token is older, then
  whose right token is older (age = id: the 256 bytes in byte order, then learned tokens in creation order);
- a pair below `min_frequency` stops training; a pair that fails a filter (`allowed`) or was merged
  before is never merged (again).

>>> merges, _ = train_reference({b"abab": 2, b"ab": 1}, 258, min_frequency=1)
>>> merges
[(b'a', b'b'), (b'ab', b'ab')]
>>> encode_bytes_reference(b"ababab", merges)
[b'abab', b'ab']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from toksmith import defaults

__all__ = ["ReferenceEncoder", "allowed", "apply_merges", "encode_bytes_reference", "train_reference", "word_count"]

_WS = b" \t\n\r\x0b\x0c"


def word_count(token: bytes) -> int:
    """Number of words in a token: maximal runs of non-whitespace bytes (ASCII whitespace separates)."""
    return len(token.split())


def allowed(token: bytes, *, max_words: int = 0, max_chars: int = 0, forbidden: Sequence[bytes] = ()) -> bool:
    """Whether a merge result passes the filters (0 disables a limit).

    `max_chars` counts UTF-8 characters as bytes that are not continuation bytes (0x80-0xBF).
    """
    if max_chars > 0 and sum((b & 0xC0) != 0x80 for b in token) > max_chars:
        return False
    if max_words > 0 and word_count(token) > max_words:
        return False
    return not any(f and f in token for f in forbidden)


def _merge_word(word: list[bytes], a: bytes, b: bytes) -> list[bytes]:
    out: list[bytes] = []
    i = 0
    n = len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def apply_merges(word: list[bytes], merges: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """Apply merges one after another over the whole word (equal to encoding by rank)."""
    for a, b in merges:
        word = _merge_word(word, a, b)
    return word


def train_reference(
    words: Mapping[bytes, int],
    max_tokens: int,
    *,
    replay: Sequence[tuple[bytes, bytes]] = (),
    max_merges: int | None = None,
    max_words: int = 0,
    max_chars: int = 0,
    forbidden: Sequence[bytes] = (),
    min_frequency: int = defaults.MIN_FREQUENCY,
) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """Learn merges on `words` (bytes -> count) until the vocabulary holds `max_tokens` tokens.

    `replay` merges are applied first, whatever their counts; `max_merges` bounds the learned ones.
    Returns (all merges including replayed ones, tokens in creation order starting with the 256 bytes).
    """
    tokens = [bytes([i]) for i in range(256)]
    age = {t: i for i, t in enumerate(tokens)}
    state = [([bytes([c]) for c in w], n) for w, n in words.items() if w and n > 0]
    merges: list[tuple[bytes, bytes]] = []
    done: set[tuple[bytes, bytes]] = set()

    def record(a: bytes, b: bytes) -> None:
        merges.append((a, b))
        done.add((a, b))
        if a + b not in age:
            age[a + b] = len(tokens)
            tokens.append(a + b)
        for k, (w, n) in enumerate(state):
            state[k] = (_merge_word(w, a, b), n)

    for a, b in replay:
        if (a, b) not in done:
            record(a, b)
    learned = 0
    min_frequency = max(min_frequency, 1)
    while len(tokens) < max_tokens and (max_merges is None or learned < max_merges):
        counts: Counter[tuple[bytes, bytes]] = Counter()
        for w, n in state:
            for i in range(len(w) - 1):
                counts[(w[i], w[i + 1])] += n
        best = None
        for pair, c in sorted(counts.items(), key=lambda kv: (-kv[1], age[kv[0][0]], age[kv[0][1]])):
            if pair in done or c <= 0:
                continue
            if c < min_frequency:
                break
            if not allowed(pair[0] + pair[1], max_words=max_words, max_chars=max_chars, forbidden=forbidden):
                done.add(pair)
                continue
            best = pair
            break
        if best is None:
            break
        record(*best)
        learned += 1
    return merges, tokens


def encode_bytes_reference(data: bytes, merges: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """BPE-encode one pre-token: repeatedly merge every occurrence of the lowest-ranked pair present."""
    ranks: dict[tuple[bytes, bytes], int] = {}
    for r, m in enumerate(merges):
        ranks.setdefault(m, r)
    word = [bytes([c]) for c in data]
    while len(word) > 1:
        best = min((ranks.get((word[i], word[i + 1]), 1 << 62), i) for i in range(len(word) - 1))
        if best[0] == 1 << 62:
            break
        a, b = merges[best[0]]
        word = _merge_word(word, a, b)
    return word


class ReferenceEncoder:
    """Encode text with merges by rank after a pre-tokenizer: the oracle the trained tokenizer.json must match.

    Args:
        merges: merges in rank order.
        vocab: token bytes -> id.
        split: the pre-tokenizer (text -> pieces), e.g. `Pretokenizer.split`.
    """

    def __init__(self, merges: Sequence[tuple[bytes, bytes]], vocab: Mapping[bytes, int],
                 split: Callable[[str], list[str]]) -> None:
        self.merges = list(merges)
        self.vocab = dict(vocab)
        self.split = split
        self._ranks: dict[tuple[bytes, bytes], int] = {}
        for r, m in enumerate(self.merges):
            self._ranks.setdefault(m, r)
        self._cache: dict[str, list[int]] = {}

    def encode_bytes(self, data: bytes) -> list[bytes]:
        word = [bytes([c]) for c in data]
        ranks = self._ranks
        none = 1 << 62
        while len(word) > 1:
            best = min((ranks.get((word[i], word[i + 1]), none), i) for i in range(len(word) - 1))
            if best[0] == none:
                break
            a, b = self.merges[best[0]]
            word = _merge_word(word, a, b)
        return word

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for piece in self.split(text):
            ids = self._cache.get(piece)
            if ids is None:
                ids = [self.vocab[t] for t in self.encode_bytes(piece.encode("utf-8"))]
                self._cache[piece] = ids
            out.extend(ids)
        return out
