"""Documents held as arrays, and their encoding by one tokenizer: the unit the streamed pass reduces.

`TextCorpus` holds a small in-memory set of documents (one batch of the streamed pass, or a probe set)
with what does not depend on the tokenizer: byte and character counts, UAX #29 word spans, digit
runs. `Encoded` holds one tokenizer's encoding of it: a flat int32 id array with per-document offsets,
and (lazily) every token's byte span in a coordinate system shared with the word and number spans.
Whole corpora are never held this way: `toksmith.evaluate.stream` reduces them batch by batch.

Byte coordinates: the documents' UTF-8 bytes laid end to end with one separator byte between
documents; document d starts at `doc_start[d]`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import metadata
from itertools import chain

import numpy as np

from toksmith._native import eval_ext as _eval
from toksmith.cache import cached_arrays
from toksmith.corpus import Document
from toksmith.evaluate.words import codepoints, word_spans_of
from toksmith.tokenizers.base import Tokenizer
from toksmith.vocab import Role, TokenKind, Vocab

__all__ = ["Encoded", "TextCorpus", "VocabArrays", "encode_corpus", "encode_flat", "encode_groups", "vocab_arrays"]

#: documents per encode_batch call; each call is one timed repeat for the throughput metric
CHUNK_DOCS = 2048


class TextCorpus:
    """A few documents as arrays: the tokenizer-independent half of one batch."""

    def __init__(self, docs: Iterable[Document], *, name: str = "corpus") -> None:
        texts: list[str] = []
        langs: list[str] = []
        for d in docs:
            if d.text:
                texts.append(d.text)
                langs.append(d.lang or "")
        self._set(texts, langs, name)

    def _set(self, texts: list[str], langs: list[str], name: str) -> None:
        self.name = name
        self.texts = texts
        self.langs = langs
        self.n_docs = len(texts)
        self.doc_chars = np.fromiter(map(len, texts), dtype=np.int64, count=self.n_docs)

    @classmethod
    def from_texts(cls, texts: Sequence[str], lang: str | None = None) -> TextCorpus:
        """A corpus of the non-empty `texts`, all in language `lang`."""
        out = cls.__new__(cls)
        kept = [t for t in texts if t]
        out._set(kept, [lang or ""] * len(kept), "corpus")
        return out

    @cached_property
    def joined(self) -> str:
        """All documents joined by "\\n"."""
        return "\n".join(self.texts)

    @cached_property
    def joined_bytes(self) -> bytes:
        return self.joined.encode("utf-8")

    @cached_property
    def ascii(self) -> bool:
        """True when every document is ASCII: byte offsets are then character offsets."""
        return self.joined.isascii()

    @cached_property
    def codepoints(self) -> np.ndarray:
        return codepoints(self.joined)

    @cached_property
    def _offsets(self) -> np.ndarray:
        """UTF-8 byte offset of every code point of `joined` (and of its end)."""
        cp = self.codepoints
        width = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
        offs = np.zeros(len(cp) + 1, dtype=np.int64)
        np.cumsum(width, out=offs[1:])
        return offs

    def byte_offset(self, char_pos: np.ndarray) -> np.ndarray:
        """Byte offsets of character positions of `joined`."""
        return np.asarray(char_pos, dtype=np.int64) if self.ascii else self._offsets[char_pos]

    @cached_property
    def doc_char_start(self) -> np.ndarray:
        starts = np.zeros(self.n_docs, dtype=np.int64)
        if self.n_docs:
            np.cumsum(self.doc_chars[:-1] + 1, out=starts[1:])
        return starts

    @cached_property
    def doc_start(self) -> np.ndarray:
        """Byte offset where each document starts."""
        return self.byte_offset(self.doc_char_start)

    @cached_property
    def doc_end(self) -> np.ndarray:
        return self.byte_offset(self.doc_char_start + self.doc_chars)

    @cached_property
    def doc_bytes(self) -> np.ndarray:
        """Shape (n_docs,) UTF-8 bytes per document."""
        return self.doc_chars.copy() if self.ascii else self.doc_end - self.doc_start

    @cached_property
    def word_chars(self) -> tuple[np.ndarray, np.ndarray]:
        """UAX #29 words: (character start, character end) in `joined`."""
        return word_spans_of(self.joined)

    @cached_property
    def words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """UAX #29 words: (byte start, byte end, document index), sorted."""
        s, e = self.word_chars
        doc = np.searchsorted(self.doc_char_start, s, side="right") - 1
        return self.byte_offset(s), self.byte_offset(e), doc.astype(np.int64)

    @cached_property
    def digit_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Maximal runs of ASCII digits: (byte start, byte end)."""
        if self.ascii:
            d = np.frombuffer(self.joined_bytes, dtype=np.uint8) - np.uint8(0x30) < 10
        else:
            d = self.codepoints - np.uint32(0x30) < 10
        edges = np.flatnonzero(d[1:] != d[:-1]) + 1
        if len(d) and d[0]:
            edges = np.concatenate(([0], edges))
        if len(d) and d[-1]:
            edges = np.concatenate((edges, [len(d)]))
        return self.byte_offset(edges[0::2]), self.byte_offset(edges[1::2])

    def docs_of_lang(self, lang: str) -> np.ndarray:
        return np.flatnonzero(np.array(self.langs, dtype=object) == lang)


@dataclass
class VocabArrays:
    """Per-id arrays of a vocabulary for vectorised decoding."""

    length: np.ndarray  # (V,) int64 bytes each token decodes to (0 for special/unused)
    start: np.ndarray  # (V,) int64 offset of the token in `buf`
    buf: np.ndarray  # uint8, all decodable token bytes end to end
    starts_with_space: np.ndarray  # (V,) bool
    unk: np.ndarray  # (V,) bool
    any_unk: bool
    tokens: tuple[bytes, ...] = ()  # (V,) the bytes each id decodes to (b"" for special/unused)


_VOCAB_CACHE: dict[str, VocabArrays] = {}


def vocab_arrays(vocab: Vocab) -> VocabArrays:
    """Decoding arrays for `vocab`, cached by its fingerprint."""
    key = vocab.fingerprint
    if key not in _VOCAB_CACHE:
        decodable = (vocab.kinds != TokenKind.SPECIAL) & (vocab.kinds != TokenKind.UNUSED)
        toks = vocab.tokens
        if not decodable.all():
            toks = tuple(t if ok else b"" for t, ok in zip(toks, decodable.tolist(), strict=True))
        length = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        start = np.zeros(len(toks), dtype=np.int64)
        np.cumsum(length[:-1], out=start[1:])
        buf = np.frombuffer(b"".join(toks), dtype=np.uint8)
        sws = np.zeros(len(toks), dtype=bool)
        has = length > 0
        sws[has] = buf[start[has]] == 0x20
        unk = np.zeros(len(toks), dtype=bool)
        for i, r in vocab.specials.items():
            if r == Role.UNK:
                unk[i] = True
        _VOCAB_CACHE[key] = VocabArrays(length, start, buf, sws, unk, bool(unk.any()), tuple(toks))
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
    def _tok_cum(self) -> np.ndarray:
        cum = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(self.tok_len, out=cum[1:])
        return cum

    @cached_property
    def decoded_bytes(self) -> np.ndarray:
        """Shape (n_docs,) length of each document's decoding."""
        cum = self._tok_cum
        return cum[self.doc_tok[1:]] - cum[self.doc_tok[:-1]]

    @cached_property
    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Byte (start, end) of every token, clipped to its document."""
        c = self.corpus
        cum = self._tok_cum
        lens = self.tok_len
        if np.array_equal(self.decoded_bytes, c.doc_bytes):  # every document decodes to its length
            shift = np.repeat(c.doc_start - cum[self.doc_tok[:-1]], self.doc_tokens)
            end = cum[1:] + shift
            return end - lens, end
        tok_doc = self.tok_doc
        within_end = cum[1:] - cum[self.doc_tok[:-1]][tok_doc]
        doc_start = c.doc_start[tok_doc]
        doc_len = c.doc_bytes[tok_doc]
        end = doc_start + np.minimum(within_end, doc_len)
        start = doc_start + np.minimum(within_end - lens, doc_len)
        return start, end

    def tokens_in(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Number of tokens overlapping each byte span [start, end) (compiled: `_native._eval.count_overlaps`)."""
        if _eval is None:
            return self._tokens_in_numpy(starts, ends)
        ts, te = self.spans
        return _eval.count_overlaps(ts, te, starts, ends)

    def _tokens_in_numpy(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The reference of `tokens_in`."""
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
        """Shape (n_docs,) bool: the concatenated token bytes equal the document's UTF-8 bytes exactly.

        Compiled (`_native._eval.round_trip`: one memcmp per token); `_round_trip_numpy` is the reference."""
        if _eval is None:
            return self._round_trip_numpy()
        c, va = self.corpus, self.va
        return _eval.round_trip(self.ids, self.doc_tok, va.start, va.length, va.buf,
                                np.frombuffer(c.joined_bytes, dtype=np.uint8), c.doc_start, c.doc_bytes,
                                self.tokenizer.adds_space_prefix)

    def _round_trip_numpy(self) -> np.ndarray:
        """The reference of `round_trip_ok`, in numpy."""
        c = self.corpus
        ok = self.decoded_bytes == c.doc_bytes
        if not ok.any():
            return ok
        if ok.all() and not self.tokenizer.adds_space_prefix:
            # Fast exact path: every document decodes to its own length, so the documents all round-trip
            # iff the tokens' bytes end to end equal the documents' bytes end to end (a C-level join and
            # compare instead of gathering every byte through numpy).
            decoded = b"".join(map(self.va.tokens.__getitem__, self.ids.tolist()))
            if decoded == "".join(c.texts).encode("utf-8"):
                return ok
        joined = np.frombuffer(c.joined_bytes, dtype=np.uint8)
        all_ok = bool(ok.all())
        keep_tok = slice(None) if all_ok else ok[self.tok_doc]
        ids = self.ids[keep_tok]
        lens = self.tok_len[keep_tok]
        starts = self.va.start[ids] + (self.va.length[ids] - lens)  # dummy-prefix space skipped
        total = int(lens.sum())
        out_start = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=out_start[1:])
        gather = np.repeat(starts - out_start, lens)
        gather += np.arange(total)
        decoded = self.va.buf[gather]
        docs = np.flatnonzero(ok)
        dl = c.doc_bytes[docs]
        if all_ok and c.n_docs:
            # documents are separated by one byte: drop the separators instead of gathering
            keep = np.ones(len(joined), dtype=bool)
            keep[c.doc_end[:-1]] = False
            original = joined[keep]
        else:
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
        if not self.va.any_unk:
            return np.zeros(self.corpus.n_docs, dtype=np.int64)
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


def flatten(out: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(flat int32 ids, per-document offsets) of what `encode_batch` returned (compiled for lists of lists)."""
    if _eval is not None and isinstance(out, list):
        try:
            return _eval.flatten_ids(out)
        except ValueError:  # not a list of lists
            pass
    return _flatten_numpy(out)


def _flatten_numpy(out: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The reference of `flatten`."""
    lens = np.fromiter(map(len, out), dtype=np.int64, count=len(out))
    doc_tok = np.zeros(len(out) + 1, dtype=np.int64)
    np.cumsum(lens, out=doc_tok[1:])
    ids = np.fromiter(chain.from_iterable(out), dtype=np.int32, count=int(doc_tok[-1]))
    return ids, doc_tok


@cache
def _encoder_versions() -> str:
    """Versions of the libraries that encode (a new release may encode differently)."""
    out = []
    for lib in ("tokenizers", "tiktoken", "sentencepiece"):
        try:
            out.append(f"{lib}={metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            continue
    return ",".join(out)


def encode_flat(tok: Tokenizer, texts: Sequence[str], *, cache: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(flat int32 ids, per-text offsets) of `texts`, in ONE `encode_batch` call.

    With `cache`, a tokenizer loaded from a file (`Tokenizer.source_key`) keeps the encoding in the
    on-disk cache (`toksmith.cache`) keyed by that key, the encoding libraries' versions and a hash of
    the texts: the fixed probe sets of the metrics are then encoded once per tokenizer, not per run.
    """
    if not cache or tok.source_key is None or not texts:
        return flatten(tok.encode_batch(texts) if texts else [])
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    key = f"{tok.source_key}|{_encoder_versions()}|{h.hexdigest()}|{len(texts)}"

    def build() -> dict[str, np.ndarray]:
        ids, doc_tok = flatten(tok.encode_batch(texts))
        return {"ids": ids, "doc_tok": doc_tok}

    a = cached_arrays("encoding", key, build)
    ids, doc_tok = a["ids"], a["doc_tok"]
    if ids.dtype != np.int32 or len(doc_tok) != len(texts) + 1 or doc_tok[-1] != len(ids):  # a foreign entry
        return flatten(tok.encode_batch(texts))
    return ids, doc_tok


def encode_groups(tok: Tokenizer, groups: Sequence[Sequence[str]], *, cache: bool = False) -> list[Encoded]:
    """Encode several small sets of non-empty texts with ONE `encode_batch` call; one `Encoded` per set.

    `cache`: keep the encoding on disk (`encode_flat`), for fixed probe sets."""
    flat = [t for g in groups for t in g]
    ids, doc_tok = encode_flat(tok, flat, cache=cache)
    res = []
    k = 0
    for g in groups:
        corpus = TextCorpus.from_texts(g)
        if corpus.n_docs != len(g):
            raise ValueError("encode_groups needs non-empty texts")
        lo, hi = int(doc_tok[k]), int(doc_tok[k + len(g)])
        res.append(Encoded(tok, corpus, ids[lo:hi], doc_tok[k : k + len(g) + 1] - lo))
        k += len(g)
    return res


def encode_corpus(tok: Tokenizer, corpus: TextCorpus, *, chunk_docs: int = CHUNK_DOCS) -> Encoded:
    """Encode every document of a small corpus with `tok.encode_batch`, timing each batch."""
    texts = corpus.texts
    warm = texts[: min(64, len(texts))]
    t0 = time.perf_counter()
    if warm:
        tok.encode_batch(warm)
    warmup = time.perf_counter() - t0
    out: list[Sequence[int]] = []
    times: list[tuple[int, float]] = []
    for lo in range(0, len(texts), chunk_docs):
        batch = texts[lo : lo + chunk_docs]
        t0 = time.perf_counter()
        part = tok.encode_batch(batch)
        times.append((int(corpus.doc_bytes[lo : lo + len(batch)].sum()), time.perf_counter() - t0))
        out.extend(part)
    ids, doc_tok = flatten(out)
    return Encoded(tok, corpus, ids, doc_tok, times, warmup)
