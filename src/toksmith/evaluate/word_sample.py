"""A bounded uniform sample of a corpus's word occurrences, drawn while the corpus streams past.

The consistency metrics (`stability_*`, `alternative_encodings`) probe the words of the corpus; the
streamed pass (`toksmith.evaluate.stream`) offers every batch's UAX #29 words to a `WordSample`, which
keeps O(PICK) of them whatever the corpus size. Shards of a sharded pass draw their own keys and merge.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WordSample"]


class WordSample:
    """Up to `size` distinct letter-only words (3+ characters) drawn from a uniform sample of occurrences.

    Every word occurrence gets a key from a fixed-seed stream; the `PICK` occurrences with the smallest
    keys are a uniform random sample of all occurrences, kept in O(PICK) memory while streaming. Their
    distinct letter-only words of 3+ characters, sorted, are the sample (at most `size`, a fixed-seed
    choice). A corpus with at most PICK words keeps every occurrence, and then the sample is the same
    as the whole-corpus sampler's of earlier versions (one permutation of the word indices, then a choice
    from the same generator).
    """

    PICK = 20000
    SEED = 20250

    def __init__(self, size: int = 400, shard: int = 0) -> None:
        self.size = size
        self.total = 0
        # shard 0 keeps the key stream of a single pass; other shards draw keys of their own
        self._rng = np.random.default_rng([self.SEED, 1] if shard == 0 else [self.SEED, 1, shard])
        self._keys = np.zeros(0)
        self._words = np.empty(0, dtype=object)
        self._bar = 2.0  # keys are in [0, 1): above 1, every occurrence enters

    def add(self, text: str, starts: np.ndarray, ends: np.ndarray) -> None:
        """Offer the words text[starts[i]:ends[i]] (character offsets), in corpus order."""
        n = len(starts)
        if n == 0:
            return
        self.total += n
        keys = self._rng.random(n)
        # only keys up to the PICK-th smallest seen so far can enter (the bar only falls)
        new = np.arange(n) if self._bar > 1.0 else np.flatnonzero(keys <= self._bar)
        if len(self._keys) + len(new) > self.PICK:  # lower the bar before cutting any word out of the text
            kth = np.partition(np.concatenate((self._keys, keys[new])), self.PICK - 1)[self.PICK - 1]
            self._bar = min(self._bar, float(kth))
            new = new[keys[new] <= self._bar]
        if len(new) == 0:
            return
        words = np.empty(len(new), dtype=object)
        words[:] = [text[a:b] for a, b in zip(starts[new].tolist(), ends[new].tolist(), strict=True)]
        self._keys = np.concatenate((self._keys, keys[new]))
        self._words = np.concatenate((self._words, words))
        if len(self._keys) >= 2 * self.PICK:  # compact now and then, not every batch
            self._keep()

    def _keep(self) -> None:
        """Keep the PICK occurrences with the smallest keys, in their order."""
        keys, words = self._keys, self._words
        if len(keys) > self.PICK:
            keep = np.sort(np.argpartition(keys, self.PICK - 1)[: self.PICK])
            keys, words = keys[keep], words[keep]
        if len(keys) >= self.PICK:
            self._bar = float(keys.max())
        self._keys, self._words = keys, words

    def merge(self, other: WordSample) -> None:
        """Add the occurrences sampled by `other` (a later shard): the PICK smallest keys of both."""
        self.total += other.total
        self._keys = np.concatenate((self._keys, other._keys))
        self._words = np.concatenate((self._words, other._words))
        self._keep()

    def result(self) -> list[str]:
        self._keep()
        seen = {w for w in self._words.tolist() if len(w) >= 3 and w.isalpha()}
        words = sorted(seen)
        if len(words) > self.size:
            rng = np.random.default_rng(self.SEED)
            if self.total <= self.PICK:
                rng.permutation(self.total)  # the draws the whole-corpus sampler made first
            words = [words[i] for i in sorted(rng.choice(len(words), self.size, replace=False).tolist())]
        return words
