"""The streamed pass: a corpus is read and encoded in batches, and each batch is reduced at once.

A producer thread reads `CHUNK_DOCS` non-empty documents at a time and encodes them with every
tokenizer (`encode_batch` releases the GIL, so the encoding of one batch overlaps with the reduction
of the previous one); the calling thread reduces each batch to what the metrics read and drops it:

- per document (compact numpy arrays): bytes, characters, language, words; per tokenizer tokens,
  unknown tokens, bytes lost to unknown tokens, round-trip equality, tokens overlapping words and
  words split into 2+ tokens;
- per tokenizer: the unigram counts (|V|), the digit-run tally (`numbers.DigitTally`), the time of
  every `encode_batch` call;
- a fixed-size sample of word occurrences (`WordSample`) and of texts for the report's viewer.

Memory is O(documents + |V|) whatever the corpus bytes: at most two encoded batches wait in the queue.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from toksmith.corpus import Document
from toksmith.evaluate.encoded import CHUNK_DOCS, Encoded, TextCorpus, flatten, vocab_arrays
from toksmith.evaluate.numbers import DigitTally
from toksmith.tokenizers.base import Tokenizer

__all__ = ["CorpusStats", "TokenStats", "WordSample", "stream_corpus"]

#: statistics a metric may ask the pass for, beyond tokens, bytes, characters and unigram counts
OPTIONAL_STATS = frozenset({"words", "word_sample", "digits", "round_trip"})
SAMPLE_CHARS = 400
#: viewer samples: the longest of the first HEAD_DOCS documents of a language, or the first HEAD_TEXT
#: documents of a monolingual corpus
HEAD_DOCS = 12
HEAD_TEXT = 50


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

    def __init__(self, size: int = 400) -> None:
        self.size = size
        self.total = 0
        self._rng = np.random.default_rng([self.SEED, 1])
        self._keys = np.zeros(0)
        self._words = np.empty(0, dtype=object)

    def add(self, text: str, starts: np.ndarray, ends: np.ndarray) -> None:
        """Offer the words text[starts[i]:ends[i]] (character offsets), in corpus order."""
        n = len(starts)
        if n == 0:
            return
        self.total += n
        keys = self._rng.random(n)
        room = self.PICK - len(self._keys)
        if room >= n:
            new = np.arange(n)
        else:
            # only keys below the current PICK-th smallest can enter
            bar = self._keys.max() if room <= 0 else np.inf
            new = np.flatnonzero(keys < bar)
            if len(new) > room and len(new) + len(self._keys) > self.PICK:
                cand = np.concatenate((self._keys, keys[new]))
                kth = np.partition(cand, self.PICK - 1)[self.PICK - 1]
                new = new[keys[new] <= kth]
        if len(new) == 0:
            return
        words = np.empty(len(new), dtype=object)
        words[:] = [text[a:b] for a, b in zip(starts[new].tolist(), ends[new].tolist(), strict=True)]
        allkeys = np.concatenate((self._keys, keys[new]))
        allwords = np.concatenate((self._words, words))
        if len(allkeys) > self.PICK:
            keep = np.sort(np.argpartition(allkeys, self.PICK - 1)[: self.PICK])
            allkeys, allwords = allkeys[keep], allwords[keep]
        self._keys, self._words = allkeys, allwords

    def result(self) -> list[str]:
        seen = {w for w in self._words.tolist() if len(w) >= 3 and w.isalpha()}
        words = sorted(seen)
        if len(words) > self.size:
            rng = np.random.default_rng(self.SEED)
            if self.total <= self.PICK:
                rng.permutation(self.total)  # the draws the whole-corpus sampler made first
            words = [words[i] for i in sorted(rng.choice(len(words), self.size, replace=False).tolist())]
        return words


@dataclass
class CorpusStats:
    """The tokenizer-independent result of the pass: per-document arrays and samples."""

    name: str
    n_docs: int
    lang_names: list[str]  # sorted; "" for documents without a language
    doc_lang: np.ndarray  # (n_docs,) int32 index into lang_names
    doc_bytes: np.ndarray  # (n_docs,) int64
    doc_chars: np.ndarray  # (n_docs,) int64
    doc_words: np.ndarray | None  # (n_docs,) float64 UAX #29 words, when "words" was asked for
    word_texts_sample: list[str]  # when "word_sample" was asked for
    heads: dict[str, tuple[int, str]]  # lang -> (length, stripped text) of the longest of its first docs
    first_texts: list[str]  # stripped texts (> 40 characters) among the first documents, at most 3

    def docs_of_lang(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.doc_lang == self.lang_names.index(lang))


@dataclass
class TokenStats:
    """One tokenizer's result of the pass over one corpus."""

    tokenizer: Tokenizer
    corpus: CorpusStats
    doc_tokens: np.ndarray  # (n_docs,) int64
    doc_unk: np.ndarray  # (n_docs,) int64 unknown tokens
    doc_unk_bytes: np.ndarray  # (n_docs,) int64 text bytes lost by documents with unknown tokens
    round_trip_ok: np.ndarray | None  # (n_docs,) bool, when "round_trip" was asked for
    word_tokens: np.ndarray | None  # (n_docs,) float64 sum over words of overlapping tokens
    word_continued: np.ndarray | None  # (n_docs,) float64 words overlapped by 2+ tokens
    counts: np.ndarray  # (V,) int64 occurrences of every id
    chunk_times: list[tuple[int, float]]  # (bytes, seconds) of every timed encode_batch call
    warmup_s: float
    failed_examples: list[str]  # the first round-trip failures, 80 characters each
    digits: DigitTally | None  # when "digits" was asked for


@dataclass
class _Acc:
    """Growing per-tokenizer state while batches arrive."""

    tokenizer: Tokenizer
    counts: np.ndarray
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    chunk_times: list[tuple[int, float]] = field(default_factory=list)
    warmup_s: float = 0.0
    failed: list[str] = field(default_factory=list)
    digits: DigitTally | None = None

    def push(self, key: str, arr: np.ndarray) -> None:
        self.parts.setdefault(key, []).append(arr)

    def cat(self, key: str, dtype: Any) -> np.ndarray:
        p = self.parts.get(key)
        return np.concatenate(p) if p else np.zeros(0, dtype=dtype)


_END = object()


def _documents(sources: Iterable[tuple[str | None, Iterable[Document]]]) -> Iterator[tuple[str, str]]:
    """(text, language) of every non-empty document of every source, in order."""
    for lang, docs in sources:
        for d in docs:
            if d.text:
                yield d.text, lang or d.lang or ""


def _produce(
    sources: Iterable[tuple[str | None, Iterable[Document]]],
    toks: Sequence[Tokenizer],
    chunk_docs: int,
    q: queue.Queue,
    stop: threading.Event,
) -> None:
    """Read batches of documents, encode each with every tokenizer, queue (texts, langs, encodings)."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        first = True
        docs = _documents(sources)
        while True:
            pairs = list(islice(docs, chunk_docs))
            if not pairs:
                break
            texts = [t for t, _ in pairs]
            langs = [x for _, x in pairs]
            del pairs
            encoded = []
            for tok in toks:
                warm = 0.0
                if first:
                    t0 = time.perf_counter()
                    tok.encode_batch(texts[:64])
                    warm = time.perf_counter() - t0
                t0 = time.perf_counter()
                out = tok.encode_batch(texts)
                dt = time.perf_counter() - t0
                encoded.append((flatten(out), dt, warm))
                del out
            first = False
            if not put((texts, langs, encoded)):
                return
            del texts, langs, encoded
        put(_END)
    except BaseException as e:  # handed to the consumer, which re-raises it
        put(e)


def stream_corpus(
    toks: Sequence[Tokenizer],
    sources: Iterable[tuple[str | None, Iterable[Document]]],
    *,
    name: str,
    stats: Iterable[str] = (),
    chunk_docs: int = CHUNK_DOCS,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[CorpusStats, list[TokenStats]]:
    """One pass over the documents of `sources` ((language or None, documents), in order) for every tokenizer.

    `stats` names the optional statistics to gather (`OPTIONAL_STATS`); the rest is always gathered.
    `on_batch(documents so far)` is called after each batch.
    """
    want = set(stats)
    unknown = want - OPTIONAL_STATS
    if unknown:
        raise ValueError(f"unknown corpus statistics: {sorted(unknown)}")
    words_on = bool(want & {"words", "word_sample"})
    accs = [_Acc(t, np.zeros(t.vocab.size, dtype=np.int64)) for t in toks]
    for a in accs:
        vocab_arrays(a.tokenizer.vocab)
        if "digits" in want:
            a.digits = DigitTally()
    sample = WordSample() if "word_sample" in want else None
    lang_code: dict[str, int] = {}
    doc_lang: list[np.ndarray] = []
    doc_bytes: list[np.ndarray] = []
    doc_chars: list[np.ndarray] = []
    doc_words: list[np.ndarray] = []
    heads: dict[str, tuple[int, str, int]] = {}  # lang -> (length, stripped text, documents seen)
    first_texts: list[str] = []
    n_docs = 0

    q: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce, args=(sources, toks, chunk_docs, q, stop), name="toksmith-encode", daemon=True
    )
    producer.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            texts, langs, encoded = item
            batch = TextCorpus.from_texts(texts)
            codes = []
            for x in langs:
                if x not in lang_code:
                    lang_code[x] = len(lang_code)
                codes.append(lang_code[x])
            doc_lang.append(np.array(codes, dtype=np.int32))
            doc_bytes.append(batch.doc_bytes)
            doc_chars.append(batch.doc_chars)
            for i, t in enumerate(texts):
                x = langs[i]
                h = heads.get(x)
                if h is None or h[2] < HEAD_DOCS:
                    if h is None or len(t) > h[0]:
                        heads[x] = (len(t), t.strip()[:SAMPLE_CHARS], (h[2] if h else 0) + 1)
                    else:
                        heads[x] = (h[0], h[1], h[2] + 1)
                if n_docs + i < HEAD_TEXT and len(first_texts) < 3 and len(t.strip()) > 40:
                    first_texts.append(t.strip()[:SAMPLE_CHARS])
            n_docs += batch.n_docs
            if words_on:
                ws, we, wdoc = batch.words
                doc_words.append(np.bincount(wdoc, minlength=batch.n_docs).astype(np.float64))
                if sample is not None:
                    sample.add(batch.joined, *batch.word_chars)
            runs = batch.digit_runs if "digits" in want else None
            for a, ((ids, doc_tok), dt, warm) in zip(accs, encoded, strict=True):
                enc = Encoded(a.tokenizer, batch, ids, doc_tok)
                if not a.chunk_times:
                    a.warmup_s = warm
                a.chunk_times.append((int(batch.doc_bytes.sum()), dt))
                c = np.bincount(ids, minlength=len(a.counts))
                if len(c) > len(a.counts):  # an id beyond the vocabulary
                    a.counts = np.concatenate((a.counts, np.zeros(len(c) - len(a.counts), np.int64)))
                a.counts += c
                a.push("tokens", enc.doc_tokens)
                a.push("unk", enc.doc_unk)
                a.push("unk_bytes", enc.doc_unk_bytes)
                if "round_trip" in want:
                    ok = enc.round_trip_ok
                    a.push("round_trip", ok)
                    if len(a.failed) < 3 and not ok.all():
                        a.failed += [texts[i][:80] for i in np.flatnonzero(~ok)[: 3 - len(a.failed)].tolist()]
                if "words" in want:
                    k = enc.tokens_in(ws, we)
                    a.push("word_tokens", np.bincount(wdoc, weights=k, minlength=batch.n_docs))
                    a.push(
                        "word_continued",
                        np.bincount(wdoc, weights=(k >= 2).astype(np.float64), minlength=batch.n_docs),
                    )
                if a.digits is not None and runs is not None:
                    a.digits.add(enc, *runs)
            del batch, texts, encoded
            if on_batch is not None:
                on_batch(n_docs)
    finally:
        stop.set()
        producer.join()

    order = sorted(lang_code)
    remap = np.zeros(len(order), dtype=np.int32)
    for i, x in enumerate(order):
        remap[lang_code[x]] = i
    lang_arr = remap[np.concatenate(doc_lang)] if doc_lang else np.zeros(0, dtype=np.int32)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    cs = CorpusStats(
        name=name,
        n_docs=n_docs,
        lang_names=order,
        doc_lang=lang_arr,
        doc_bytes=cat(doc_bytes, np.int64),
        doc_chars=cat(doc_chars, np.int64),
        doc_words=cat(doc_words, np.float64) if words_on else None,
        word_texts_sample=sample.result() if sample is not None else [],
        heads={x: (h[0], h[1]) for x, h in heads.items()},
        first_texts=first_texts,
    )
    out = []
    for a in accs:
        out.append(
            TokenStats(
                tokenizer=a.tokenizer,
                corpus=cs,
                doc_tokens=a.cat("tokens", np.int64),
                doc_unk=a.cat("unk", np.int64),
                doc_unk_bytes=a.cat("unk_bytes", np.int64),
                round_trip_ok=a.cat("round_trip", bool) if "round_trip" in want else None,
                word_tokens=a.cat("word_tokens", np.float64) if "words" in want else None,
                word_continued=a.cat("word_continued", np.float64) if "words" in want else None,
                counts=a.counts,
                chunk_times=a.chunk_times,
                warmup_s=a.warmup_s,
                failed_examples=a.failed,
                digits=a.digits,
            )
        )
    return cs, out
