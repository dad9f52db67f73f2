"""Bootstrap units of the streamed pass: per-document columns, summed into bounded runs on big corpora.

Every statistic the suite reports is a ratio of sums over documents, and the bootstrap resamples
units in contiguous blocks once a group has more than `bootstrap.MAX_BLOCKS` of them. So the pass
never needs more than a bounded number of units: a unit is the set of documents of one language whose
corpus index falls in one block of `granularity` consecutive indices, and each column holds the sum
over the unit's documents. The granularity starts at 1 (a unit is a document, the exact per-document
arrays) and doubles whenever there are more than `cap` units, so memory is O(cap) whatever the corpus
size. Which documents form a unit depends only on the corpus and the final granularity (the smallest
power of two that leaves at most `cap` units), never on how the documents were batched or sharded;
the sums are formed in the same order on every engine, because each shard is reduced by the same code
and shards are folded in corpus order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["UNIT_CAP", "Units"]

#: most units kept by a pass over a corpus (a monolingual corpus keeps between UNIT_CAP / 2 and UNIT_CAP)
UNIT_CAP = 1 << 16


def _narrow(v: np.ndarray) -> np.ndarray:
    """Per-document counts as int32 (flags as int8) when they fit: half the memory; unit sums are int64."""
    if v.dtype.kind == "f" and len(v) and np.array_equal(v, np.round(v)) and 0 <= v.min() and v.max() < 2**31:
        v = v.astype(np.int64)  # counts computed as floats (weighted bincounts)
    if v.dtype.kind == "b":
        return v.astype(np.int8)
    if v.dtype.kind in "iu" and len(v) and -(2**31) <= int(v.min()) and int(v.max()) < 2**31:
        return v.astype(np.int32)
    return v


class Units:
    """Columns of per-unit sums, in unit order (block index, then first document).

    Args:
        cap: most units to keep; None keeps one unit per document (parallel corpora, whose aligned
            bootstrap draws the same document positions in every language).
        first_doc: the corpus index of the first document this table will receive (a shard's offset).
    """

    def __init__(self, cap: int | None = UNIT_CAP, first_doc: int = 0) -> None:
        self.cap = cap
        self.granularity = 1
        self.next_doc = first_doc
        self._lang: list[np.ndarray] = []  # int32 codes into the owner's language list
        self._start: list[np.ndarray] = []  # int64 corpus index of each unit's first document
        self._docs: list[np.ndarray] = []  # int64 documents per unit
        self._cols: dict[str, list[np.ndarray]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, lang: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        """Append consecutive documents: their language codes and per-document values of each column."""
        n = len(lang)
        if n == 0:
            return
        start = np.arange(self.next_doc, self.next_doc + n, dtype=np.int64)
        self.next_doc += n
        self._push(np.asarray(lang, dtype=np.int32), start, np.ones(n, dtype=np.int8),
                   {k: _narrow(np.asarray(v)) for k, v in columns.items()})
        if self.cap is not None and self._count > 2 * self.cap:
            self.compact()
        elif len(self._lang) >= 16:  # every array costs a header: join small ones now and then
            self._join()

    def _push(self, lang: np.ndarray, start: np.ndarray, docs: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        if self._cols and set(columns) != set(self._cols):
            raise ValueError(f"unit columns differ: {sorted(columns)} vs {sorted(self._cols)}")
        self._lang.append(lang)
        self._start.append(start)
        self._docs.append(docs)
        for k, v in columns.items():
            self._cols.setdefault(k, []).append(np.asarray(v))
        self._count += len(lang)

    def column(self, name: str) -> np.ndarray:
        """The per-unit sums of column `name`."""
        self._join()
        return self._cols[name][0]

    @property
    def lang(self) -> np.ndarray:
        self._join()
        return self._lang[0] if self._lang else np.zeros(0, dtype=np.int32)

    @property
    def docs(self) -> np.ndarray:
        """Documents per unit."""
        self._join()
        return self._docs[0] if self._docs else np.zeros(0, dtype=np.int64)

    def _join(self) -> None:
        if len(self._lang) > 1:  # one column at a time, so the peak is one column's copy
            for parts in (self._lang, self._start, self._docs, *self._cols.values()):
                parts[:] = [np.concatenate(parts)]

    def compact(self) -> None:
        """Regroup at the current granularity, doubling it until at most `cap` units remain."""
        if self.cap is None:
            return
        self._join()
        while True:
            self._regroup()
            if self._count <= self.cap:
                return
            self.granularity *= 2

    def _regroup(self) -> None:
        if self._count == 0 or self.granularity == 1 and bool((self._docs[0] == 1).all()):
            return
        lang, start = self._lang[0], self._start[0]
        block = start // self.granularity
        n_langs = int(lang.max()) + 1
        key = block * n_langs + lang
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        if len(uniq) == self._count:
            return
        # unit order: block, then the corpus index of the unit's first document
        first_start = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_start, inv, start)
        order = np.lexsort((first_start, uniq // n_langs))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        slot = rank[inv]
        m = len(uniq)

        def total(v: np.ndarray) -> np.ndarray:
            out = np.zeros(m, dtype=np.float64 if v.dtype.kind == "f" else np.int64)
            np.add.at(out, slot, v)
            return out

        self._lang = [lang[first][order]]
        self._start = [first_start[order]]
        self._docs = [total(self._docs[0])]
        self._cols = {k: [total(v[0])] for k, v in self._cols.items()}
        self._count = m

    def extend(self, other: Units, lang_map: np.ndarray) -> None:
        """Append the units of a later shard (its language codes mapped through `lang_map`)."""
        other._join()
        if other._count:
            self._join()
            g = max(self.granularity, other.granularity)
            self.granularity = g
            self._push(lang_map[other._lang[0]].astype(np.int32), other._start[0], other._docs[0],
                       {k: v[0] for k, v in other._cols.items()})
            self._join()
            self._regroup()
            if self.cap is not None and self._count > self.cap:
                self.compact()
        self.next_doc = max(self.next_doc, other.next_doc)

    def finish(self) -> None:
        """Make the unit set final: at most `cap` units, joined into one array per column."""
        self._join()
        if self.cap is not None and self._count > self.cap:
            self.compact()
