"""The shared pass: a corpus held as arrays, and its encoding by one tokenizer.

`TextCorpus` holds what does not depend on the tokenizer (documents, languages, byte and character
counts, UAX #29 word spans, digit runs), computed once. `Encoded` holds one tokenizer's encoding of
it: a flat int32 id array with per-document offsets, and (lazily) every token's byte span in a global
coordinate system shared with the word and number spans. Every metric reads these arrays, so a corpus
is encoded once per tokenizer whatever the number of metrics.

Global byte coordinates: the documents' UTF-8 bytes laid end to end with one separator byte between
documents; document d starts at `doc_start[d]`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

import numpy as np

from toksmith.corpus import Document
from toksmith.evaluate.words import codepoints, word_spans
from toksmith.tokenizers.base import Tokenizer
from toksmith.vocab import Role, TokenKind, Vocab

__all__ = ["Encoded", "TextCorpus", "VocabArrays", "encode_corpus", "vocab_arrays"]

#: documents per encode_batch call; each call is one timed repeat for the throughput metric
CHUNK_DOCS = 2048


class TextCorpus:
    """Documents as arrays: the tokenizer-independent half of the shared pass."""

    def __init__(
        self, docs: Iterable[Document], *, fingerprint: dict | None = None, name: str = "corpus"
    ) -> None:
        texts: list[str] = []
        langs: list[str] = []
        for d in docs:
            if d.text:
                texts.append(d.text)
                langs.append(d.lang or "")
        self.name = name
        self.texts = texts
        self.fingerprint = fingerprint or {"sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest()}
        names = sorted(set(langs))
        self.lang_names: list[str] = names
        index = {n: i for i, n in enumerate(names)}
        self.doc_lang = np.array([index[x] for x in langs], dtype=np.int32)
        self.n_docs = len(texts)
        self.doc_chars = np.fromiter(map(len, texts), dtype=np.int64, count=self.n_docs)

    @classmethod
    def from_texts(cls, texts: Sequence[str], lang: str | None = None) -> TextCorpus:
        return cls(Document(t, "<memory>", lang) for t in texts)

    @cached_property
    def _joined(self) -> tuple[np.ndarray, np.ndarray]:
        """Code points of all documents joined by "\\n", and the UTF-8 byte offset of every code point."""
        cp = codepoints("\n".join(self.texts))
        width = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
        offs = np.zeros(len(cp) + 1, dtype=np.int64)
        np.cumsum(width, out=offs[1:])
        return cp, offs

    @cached_property
    def doc_bytes(self) -> np.ndarray:
        """Shape (n_docs,) UTF-8 bytes per document."""
        return self.doc_end - self.doc_start

    @cached_property
    def _doc_char_start(self) -> np.ndarray:
        starts = np.zeros(self.n_docs, dtype=np.int64)
        if self.n_docs:
            np.cumsum(self.doc_chars[:-1] + 1, out=starts[1:])
        return starts

    @cached_property
    def doc_start(self) -> np.ndarray:
        """Global byte offset where each document starts."""
        return self._joined[1][self._doc_char_start]

    @cached_property
    def doc_end(self) -> np.ndarray:
        return self._joined[1][self._doc_char_start + self.doc_chars]

    @cached_property
    def _word_chars(self) -> tuple[np.ndarray, np.ndarray]:
        return word_spans(self._joined[0])

    @cached_property
    def words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """UAX #29 words: (global byte start, global byte end, document index), sorted."""
        cp, offs = self._joined
        s, e = self._word_chars
        doc = np.searchsorted(self._doc_char_start, s, side="right") - 1
        return offs[s], offs[e], doc.astype(np.int64)

    @cached_property
    def word_texts_sample(self) -> list[str]:
        """Up to 400 distinct letter-only words of 3+ characters, a fixed-seed sample (for consistency)."""
        s, e = self._word_chars
        if len(s) == 0:
            return []
        rng = np.random.default_rng(20250)
        pick = rng.permutation(len(s))[:20000]
        joined = "\n".join(self.texts)
        seen: dict[str, None] = {}
        for i in np.sort(pick).tolist():
            w = joined[s[i] : e[i]]
            if len(w) >= 3 and w.isalpha():
                seen.setdefault(w, None)
        words = sorted(seen)
        if len(words) > 400:
            words = [words[i] for i in sorted(rng.choice(len(words), 400, replace=False).tolist())]
        return words

    @cached_property
    def digit_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Maximal runs of ASCII digits: (global byte start, global byte end)."""
        cp, offs = self._joined
        d = (cp >= 0x30) & (cp <= 0x39)
        edges = np.diff(np.concatenate(([False], d, [False])).astype(np.int8))
        s = np.flatnonzero(edges == 1)
        e = np.flatnonzero(edges == -1)
        return offs[s], offs[e]

    def docs_of_lang(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.doc_lang == self.lang_names.index(lang))


@dataclass
class VocabArrays:
    """Per-id arrays of a vocabulary for vectorised decoding."""

    length: np.ndarray  # (V,) int64 bytes each token decodes to (0 for special/unused)
    start: np.ndarray  # (V,) int64 offset of the token in `buf`
    buf: np.ndarray  # uint8, all decodable token bytes end to end
    starts_with_space: np.ndarray  # (V,) bool
    unk: np.ndarray  # (V,) bool


_VOCAB_CACHE: dict[str, VocabArrays] = {}


def vocab_arrays(vocab: Vocab) -> VocabArrays:
    """Decoding arrays for `vocab`, cached by its fingerprint."""
    key = vocab.fingerprint
    if key not in _VOCAB_CACHE:
        decodable = (vocab.kinds != TokenKind.SPECIAL) & (vocab.kinds != TokenKind.UNUSED)
        toks = [t if ok else b"" for t, ok in zip(vocab.tokens, decodable.tolist(), strict=True)]
        length = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        start = np.zeros(len(toks), dtype=np.int64)
        np.cumsum(length[:-1], out=start[1:])
        buf = np.frombuffer(b"".join(toks), dtype=np.uint8)
        sws = np.fromiter((t[:1] == b" " for t in toks), dtype=bool, count=len(toks))
        unk = np.zeros(len(toks), dtype=bool)
        for i, r in vocab.specials.items():
            if r == Role.UNK:
                unk[i] = True
        _VOCAB_CACHE[key] = VocabArrays(length, start, buf, sws, unk)
    return _VOCAB_CACHE[key]


@dataclass
class Encoded:
    """One tokenizer's encoding of a `TextCorpus`."""

    tokenizer: Tokenizer
    corpus: TextCorpus
    ids: np.ndarray  # (T,) int32, all documents end to end
    doc_tok: np.ndarray  # (n_docs + 1,) int64 offsets into ids
    chunk_times: list[tuple[int, float]] = field(default_factory=list)  # (bytes, seconds) per timed call
    warmup_s: float = 0.0

    @cached_property
    def va(self) -> VocabArrays:
        return vocab_arrays(self.tokenizer.vocab)

    @cached_property
    def doc_tokens(self) -> np.ndarray:
        """Shape (n_docs,) tokens per document."""
        return np.diff(self.doc_tok)

    @cached_property
    def tok_doc(self) -> np.ndarray:
        return np.repeat(np.arange(self.corpus.n_docs, dtype=np.int64), self.doc_tokens)

    @cached_property
    def tok_len(self) -> np.ndarray:
        """Bytes each token contributes to the decoded text (the added dummy-prefix space removed)."""
        lens = self.va.length[self.ids]
        if self.tokenizer.adds_space_prefix and len(lens):
            first = self.doc_tok[:-1][self.doc_tokens > 0]
            fix = first[self.va.starts_with_space[self.ids[first]]]
            lens[fix] -= 1
        return lens

    @cached_property
    def decoded_bytes(self) -> np.ndarray:
        """Shape (n_docs,) length of each document's decoding."""
        return _segment_sums(self.tok_len, self.doc_tok)

    @cached_property
    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Global byte (start, end) of every token, clipped to its document."""
        lens = self.tok_len
        cum = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=cum[1:])
        within_end = cum[1:] - cum[self.doc_tok[:-1]][self.tok_doc]
        doc_start = self.corpus.doc_start[self.tok_doc]
        doc_len = self.corpus.doc_bytes[self.tok_doc]
        end = doc_start + np.minimum(within_end, doc_len)
        start = doc_start + np.minimum(within_end - lens, doc_len)
        return start, end

    def tokens_in(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Number of tokens overlapping each global byte span [start, end)."""
        ts, te = self.spans
        return np.searchsorted(ts, ends, side="left") - np.searchsorted(te, starts, side="right")

    def internal_boundaries(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token starts strictly inside each span: (span index, byte position relative to the span start)."""
        ts, _ = self.spans
        lo = np.searchsorted(ts, starts, side="right")
        hi = np.searchsorted(ts, ends, side="left")
        n = np.maximum(hi - lo, 0)
        span = np.repeat(np.arange(len(starts)), n)
        first = np.repeat(lo - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        pos = ts[first + np.arange(n.sum())]
        return span, pos - starts[span]

    @cached_property
    def round_trip_ok(self) -> np.ndarray:
        """Shape (n_docs,) bool: the concatenated token bytes equal the document's UTF-8 bytes exactly."""
        c = self.corpus
        ok = self.decoded_bytes == c.doc_bytes
        if not ok.any():
            return ok
        joined = np.frombuffer("\n".join(c.texts).encode("utf-8"), dtype=np.uint8)
        keep_tok = ok[self.tok_doc]
        ids = self.ids[keep_tok]
        lens = self.tok_len[keep_tok]
        starts = self.va.start[ids] + (self.va.length[ids] - lens)  # dummy-prefix space skipped
        total = int(lens.sum())
        out_start = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=out_start[1:])
        gather = np.repeat(starts - out_start, lens) + np.arange(total)
        decoded = self.va.buf[gather]
        docs = np.flatnonzero(ok)
        dl = c.doc_bytes[docs]
        src_start = np.repeat(c.doc_start[docs] - np.concatenate(([0], np.cumsum(dl)[:-1])), dl)
        original = joined[src_start + np.arange(int(dl.sum()))]
        mismatch = decoded != original
        if mismatch.any():
            bounds = np.concatenate(([0], np.cumsum(dl)))
            bad = _segment_sums(mismatch.astype(np.int64), bounds) > 0
            ok[docs[bad]] = False
        return ok

    @cached_property
    def doc_unk(self) -> np.ndarray:
        """Shape (n_docs,) unknown tokens per document."""
        return _segment_sums(self.va.unk[self.ids].astype(np.int64), self.doc_tok)

    @cached_property
    def doc_unk_bytes(self) -> np.ndarray:
        """Shape (n_docs,) text bytes not reproduced by documents that contain unknown tokens."""
        missing = np.maximum(self.corpus.doc_bytes - self.decoded_bytes, 0)
        return np.where(self.doc_unk > 0, missing, 0)

    @cached_property
    def counts(self) -> np.ndarray:
        """Shape (V,) occurrences of every token id."""
        return np.bincount(self.ids, minlength=self.tokenizer.vocab.size)


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of values[bounds[i]:bounds[i+1]] (empty segments give 0)."""
    cum = np.zeros(len(values) + 1, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    np.cumsum(values, out=cum[1:])
    return cum[bounds[1:]] - cum[bounds[:-1]]


def encode_corpus(tok: Tokenizer, corpus: TextCorpus, *, chunk_docs: int = CHUNK_DOCS) -> Encoded:
    """Encode every document once with `tok.encode_batch`, timing each batch for the throughput metric."""
    texts = corpus.texts
    warm = texts[: min(64, len(texts))]
    t0 = time.perf_counter()
    if warm:
        tok.encode_batch(warm)
    warmup = time.perf_counter() - t0
    lengths = np.zeros(len(texts), dtype=np.int64)
    parts: list[np.ndarray] = []
    times: list[tuple[int, float]] = []
    for lo in range(0, len(texts), chunk_docs):
        batch = texts[lo : lo + chunk_docs]
        t0 = time.perf_counter()
        out = tok.encode_batch(batch)
        dt = time.perf_counter() - t0
        n = corpus.doc_bytes[lo : lo + len(batch)].sum()
        times.append((int(n), dt))
        lens = np.fromiter(map(len, out), dtype=np.int64, count=len(out))
        lengths[lo : lo + len(batch)] = lens
        flat = np.fromiter(chain.from_iterable(out), dtype=np.int32, count=int(lens.sum()))
        parts.append(flat)
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    doc_tok = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=doc_tok[1:])
    return Encoded(tok, corpus, ids, doc_tok, times, warmup)
