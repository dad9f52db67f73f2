"""The streamed pass: a corpus is read and encoded in batches, and each batch is reduced at once.

A producer thread reads `CHUNK_DOCS` non-empty documents at a time and encodes them with every
tokenizer (`encode_batch` releases the GIL, so the encoding of one batch overlaps with the reduction
of the previous one); the calling thread reduces each batch to what the metrics read and drops it:

- per bootstrap unit (`toksmith.evaluate.units`: a document, or on a corpus of more than `UNIT_CAP`
  documents a block of documents of one language), sums of: documents, bytes, characters, words; per
  tokenizer tokens, unknown tokens, bytes lost to unknown tokens, documents that round-trip, tokens
  overlapping words, words split into 2+ tokens, and each document's bytes and characters per token;
- per tokenizer: the unigram counts (|V|), the digit-run tally (`DigitTally`), the time of every
  `encode_batch` call;
- a fixed-size sample of word occurrences (`WordSample`) and of texts for the report's viewer.

Memory is O(units + |V|), bounded whatever the corpus size: at most two encoded batches wait in the queue.

The pass is two steps, so that it can be spread over workers: `reduce_shard` encodes and reduces one
shard (a run of documents, in order) to a `ShardStats`, and `merge_shards` joins the shards' results,
in corpus order, into the `CorpusStats` and `TokenStats` the metrics read. `stream_corpus` is the
pass over one shard. Every tally merges exactly (sums, concatenations); the word sample and the
viewer's texts are exact for one shard and deterministic for several.
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
from toksmith.evaluate.digit_splits import PATTERNS, classify_runs, first_seen, long_shares
from toksmith.evaluate.encoded import CHUNK_DOCS, Encoded, TextCorpus, flatten, vocab_arrays
from toksmith.evaluate.units import UNIT_CAP, Units
from toksmith.evaluate.word_sample import WordSample
from toksmith.evaluate.words import save_tables
from toksmith.tokenizers.base import Tokenizer

__all__ = [
    "CorpusStats",
    "DigitTally",
    "ShardStats",
    "TokenStats",
    "WordSample",
    "absorb",
    "merge_shards",
    "reduce_shard",
    "reduce_shards",
    "stream_corpus",
]

#: statistics a metric may ask the pass for, beyond tokens, bytes, characters and unigram counts
OPTIONAL_STATS = frozenset({"words", "word_sample", "digits", "round_trip"})
SAMPLE_CHARS = 400
#: viewer samples: the longest of the first HEAD_DOCS documents of a language, or the first HEAD_TEXT
#: documents of a monolingual corpus
HEAD_DOCS = 12
HEAD_TEXT = 50


class DigitTally:
    """How the digit runs of a corpus split, tallied batch by batch (patterns: `toksmith.evaluate.digit_splits`)."""

    def __init__(self) -> None:
        self.numbers = 0
        self.digits = 0
        self.tokens = 0
        self.pv = np.zeros(3, dtype=np.int64)  # true positives, predicted, gold
        self.long_counts = np.zeros(len(PATTERNS), dtype=np.int64)
        self.long_order: list[int] = []

    def add(self, enc: Encoded, starts: np.ndarray, ends: np.ndarray) -> None:
        """Tally the digit runs [starts, ends) (byte offsets) of one encoded batch."""
        if len(starts) == 0:
            return
        lengths = ends - starts
        code, tp, nb, gold = classify_runs(lengths, *enc.internal_boundaries(starts, ends))
        self.numbers += len(lengths)
        self.digits += int(lengths.sum())
        self.tokens += int(enc.tokens_in(starts, ends).sum())
        self.pv += [int(tp.sum()), int(nb.sum()), int(gold.sum())]
        long = code[(lengths >= 4) & (lengths % 3 != 0)]
        if len(long):
            self.long_counts += np.bincount(long, minlength=len(PATTERNS))
            first_seen(long, self.long_order)

    def merge(self, other: DigitTally) -> None:
        """Add the tally of a later shard."""
        self.numbers += other.numbers
        self.digits += other.digits
        self.tokens += other.tokens
        self.pv = self.pv + other.pv  # new arrays: a shard from a worker may hold read-only ones
        self.long_counts = self.long_counts + other.long_counts
        for c in other.long_order:
            if c not in self.long_order:
                self.long_order.append(c)

    def summary(self) -> dict[str, Any] | None:
        """The `in_corpus` details, or None when the corpus has no digits."""
        if not self.numbers:
            return None
        dominant, shares = long_shares(self.long_counts, self.long_order)
        tp, pred, gold = self.pv.tolist()
        return {
            "numbers": self.numbers,
            "digits": self.digits,
            "tokens_per_digit": float(self.tokens / self.digits),
            "place_value_f1": float(2 * tp / (pred + gold)) if pred + gold else None,
            "dominant_pattern_4plus": dominant,
            "pattern_shares_4plus": shares,
        }



@dataclass
class CorpusStats:
    """The tokenizer-independent result of the pass: per-unit sums and samples.

    The `doc_*` arrays have one entry per bootstrap unit (`toksmith.evaluate.units`), which is one
    document unless the corpus has more than `UNIT_CAP` documents (`granularity` > 1).
    """

    name: str
    n_docs: int
    lang_names: list[str]  # sorted; "" for documents without a language
    doc_lang: np.ndarray  # (units,) int32 index into lang_names
    doc_bytes: np.ndarray  # (units,) int64
    doc_chars: np.ndarray  # (units,) int64
    doc_words: np.ndarray | None  # (units,) float64 UAX #29 words, when "words" was asked for
    unit_docs: np.ndarray  # (units,) int64 documents per unit
    granularity: int  # 1: a unit is a document; else consecutive corpus indices per unit block
    word_texts_sample: list[str]  # when "word_sample" was asked for
    heads: dict[str, tuple[int, str]]  # lang -> (length, stripped text) of the longest of its first docs
    first_texts: list[str]  # stripped texts (> 40 characters) among the first documents, at most 3

    def docs_of_lang(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.doc_lang == self.lang_names.index(lang))


@dataclass
class TokenStats:
    """One tokenizer's result of the pass over one corpus (arrays: one entry per unit, as `CorpusStats`)."""

    tokenizer: Tokenizer
    corpus: CorpusStats
    doc_tokens: np.ndarray  # (units,) int64
    doc_unk: np.ndarray  # (units,) int64 unknown tokens
    doc_unk_bytes: np.ndarray  # (units,) int64 text bytes lost by documents with unknown tokens
    round_trip_ok: np.ndarray | None  # (units,) int64 documents that round-trip, when "round_trip" was asked for
    word_tokens: np.ndarray | None  # (units,) float64 sum over words of overlapping tokens
    word_continued: np.ndarray | None  # (units,) float64 words overlapped by 2+ tokens
    docs_with_tokens: np.ndarray  # (units,) int64 documents with at least one token
    bytes_per_token_sum: np.ndarray  # (units,) float64 sum over documents of bytes / tokens
    chars_per_token_sum: np.ndarray  # (units,) float64 sum over documents of characters / tokens
    counts: np.ndarray  # (V,) int64 occurrences of every id
    chunk_times: list[tuple[int, float]]  # (bytes, seconds) of every timed encode_batch call
    warmup_s: float
    failed_examples: list[str]  # the first round-trip failures, 80 characters each
    digits: DigitTally | None  # when "digits" was asked for


@dataclass
class _Acc:
    """One tokenizer's growing state while the batches of a shard arrive."""

    tokenizer: Tokenizer
    counts: np.ndarray
    chunk_times: list[tuple[int, float]] = field(default_factory=list)
    warmup_s: float = 0.0
    failed: list[str] = field(default_factory=list)
    digits: DigitTally | None = None

    def add_counts(self, c: np.ndarray) -> None:
        if len(c) > len(self.counts):  # an id beyond the vocabulary
            self.counts = np.concatenate((self.counts, np.zeros(len(c) - len(self.counts), np.int64)))
        elif not self.counts.flags.writeable:  # a shard that came back from a worker
            self.counts = self.counts.copy()
        self.counts[: len(c)] += c

    def merge(self, other: _Acc) -> None:
        """Append a later shard's state."""
        self.add_counts(other.counts)
        other.counts = np.zeros(0, dtype=np.int64)
        if not self.chunk_times:
            self.warmup_s = other.warmup_s
        self.chunk_times += other.chunk_times
        self.failed = (self.failed + other.failed)[:3]
        if self.digits is not None and other.digits is not None:
            self.digits.merge(other.digits)


@dataclass
class ShardStats:
    """What one shard of the pass reduces to: per-unit sums, tallies and samples, mergeable in order."""

    stats: frozenset[str]
    langs: list[str]  # this shard's languages in order of first appearance; the units' codes index it
    units: Units = field(default_factory=Units)
    heads: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # lang -> (length, text, docs seen)
    first_texts: list[str] = field(default_factory=list)
    n_docs: int = 0
    sample: WordSample | None = None
    accs: list[_Acc] = field(default_factory=list)


_END = object()
_SHARD_END = object()


def _documents(sources: Iterable[tuple[str | None, Iterable[Document]]]) -> Iterator[tuple[str, str]]:
    """(text, language) of every non-empty document of every source, in order."""
    for lang, docs in sources:
        for d in docs:
            if d.text:
                yield d.text, lang or d.lang or ""


def _produce(
    shards: Iterable[Iterable[tuple[str | None, Iterable[Document]]]],
    toks: Sequence[Tokenizer],
    chunk_docs: int,
    q: queue.Queue,
    stop: threading.Event,
) -> None:
    """Read batches of documents, encode each with every tokenizer, queue (texts, langs, encodings).

    Shard after shard without a pause (a batch never spans two shards; `_SHARD_END` follows each)."""

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
        for sources in shards:
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
            if not put(_SHARD_END):
                return
        put(_END)
    except BaseException as e:  # handed to the consumer, which re-raises it
        put(e)


def _check_stats(stats: Iterable[str]) -> frozenset[str]:
    want = frozenset(stats)
    unknown = want - OPTIONAL_STATS
    if unknown:
        raise ValueError(f"unknown corpus statistics: {sorted(unknown)}")
    return want


def _reduce_batch(
    sh: ShardStats,
    texts: list[str],
    langs: list[str],
    encoded: list[tuple[tuple[np.ndarray, np.ndarray], float, float]],
) -> None:
    """Reduce one encoded batch into the shard's state."""
    want = sh.stats
    batch = TextCorpus.from_texts(texts)
    code_of = {x: i for i, x in enumerate(sh.langs)}
    for x in dict.fromkeys(langs):
        if x not in code_of:
            code_of[x] = len(sh.langs)
            sh.langs.append(x)
    codes = np.fromiter(map(code_of.__getitem__, langs), dtype=np.int32, count=len(langs))
    cols: dict[str, np.ndarray] = {"bytes": batch.doc_bytes, "chars": batch.doc_chars}
    # viewer samples: only the first HEAD_DOCS documents of each language are looked at
    for x in dict.fromkeys(langs):
        h = sh.heads.get(x)
        seen = h[2] if h else 0
        if seen >= HEAD_DOCS:
            continue
        for i in np.flatnonzero(codes == code_of[x])[: HEAD_DOCS - seen].tolist():
            t = texts[i]
            if h is None or len(t) > h[0]:
                h = (len(t), t.strip()[:SAMPLE_CHARS], (h[2] if h else 0) + 1)
            else:
                h = (h[0], h[1], h[2] + 1)
        sh.heads[x] = h
    for i in range(max(0, min(len(texts), HEAD_TEXT - sh.n_docs))):
        t = texts[i].strip()
        if len(sh.first_texts) < 3 and len(t) > 40:
            sh.first_texts.append(t[:SAMPLE_CHARS])
    sh.n_docs += batch.n_docs
    if want & {"words", "word_sample"}:
        ws, we, wdoc = batch.words
        cols["words"] = np.bincount(wdoc, minlength=batch.n_docs).astype(np.float64)
        if sh.sample is not None:
            sh.sample.add(batch.joined, *batch.word_chars)
    runs = batch.digit_runs if "digits" in want else None
    for j, (a, ((ids, doc_tok), dt, warm)) in enumerate(zip(sh.accs, encoded, strict=True)):
        enc = Encoded(a.tokenizer, batch, ids, doc_tok)
        if not a.chunk_times:
            a.warmup_s = warm
        a.chunk_times.append((int(batch.doc_bytes.sum()), dt))
        a.add_counts(np.bincount(ids, minlength=len(a.counts)))
        tokens = enc.doc_tokens
        has = tokens > 0
        col = f"{j}:"
        cols[col + "tokens"] = tokens
        cols[col + "unk"] = enc.doc_unk
        cols[col + "unk_bytes"] = enc.doc_unk_bytes
        cols[col + "has_tokens"] = has.astype(np.int64)
        cols[col + "bytes_per_token"] = np.divide(batch.doc_bytes, tokens, out=np.zeros(len(tokens)), where=has)
        cols[col + "chars_per_token"] = np.divide(batch.doc_chars, tokens, out=np.zeros(len(tokens)), where=has)
        if "round_trip" in want:
            ok = enc.round_trip_ok
            cols[col + "round_trip"] = ok.astype(np.int64)
            if len(a.failed) < 3 and not ok.all():
                a.failed += [texts[i][:80] for i in np.flatnonzero(~ok)[: 3 - len(a.failed)].tolist()]
        if "words" in want:
            k = enc.tokens_in(ws, we)
            cols[col + "word_tokens"] = np.bincount(wdoc, weights=k, minlength=batch.n_docs)
            cols[col + "word_continued"] = np.bincount(wdoc, weights=(k >= 2).astype(np.float64),
                                                       minlength=batch.n_docs)
        if a.digits is not None and runs is not None:
            a.digits.add(enc, *runs)
    sh.units.add(codes, cols)


def reduce_shard(
    toks: Sequence[Tokenizer],
    sources: Iterable[tuple[str | None, Iterable[Document]]],
    *,
    stats: Iterable[str] = (),
    chunk_docs: int = CHUNK_DOCS,
    on_batch: Callable[[int], None] | None = None,
    shard: int = 0,
    first_doc: int = 0,
    unit_cap: int | None = UNIT_CAP,
) -> ShardStats:
    """Encode and reduce one shard: the documents of `sources` ((language or None, documents), in order).

    Batches of `chunk_docs` documents are read and encoded by every tokenizer in a producer thread
    while the previous batch is reduced here. `stats` names the optional statistics to gather
    (`OPTIONAL_STATS`); `on_batch(documents so far)` is called after each batch; `shard` (its index
    in corpus order) seeds the shard's word sample; `first_doc` is the corpus index of its first
    document and `unit_cap` the most bootstrap units to keep (`toksmith.evaluate.units`).
    """
    (sh,) = reduce_shards(toks, [sources], stats=stats, chunk_docs=chunk_docs, on_batch=on_batch, first_shard=shard,
                          first_doc=first_doc, unit_cap=unit_cap)
    return sh


def reduce_shards(
    toks: Sequence[Tokenizer],
    shards: Iterable[Iterable[tuple[str | None, Iterable[Document]]]],
    *,
    stats: Iterable[str] = (),
    chunk_docs: int = CHUNK_DOCS,
    on_batch: Callable[[int], None] | None = None,
    first_shard: int = 0,
    first_doc: int = 0,
    unit_cap: int | None = UNIT_CAP,
) -> Iterator[ShardStats]:
    """`reduce_shard` of consecutive shards, one `ShardStats` each, through ONE producer thread.

    The producer goes on to the next shard while this one's last batch is reduced, so the pipeline
    does not drain at every shard boundary. Shard k (counted from `first_shard`) gets the same state
    as `reduce_shard` of it alone; `on_batch` gets the documents so far over all shards.
    """
    want = _check_stats(stats)

    def new_shard(k: int, first: int) -> ShardStats:
        sample = WordSample(shard=k) if "word_sample" in want else None
        sh = ShardStats(want, [], Units(unit_cap, first), sample=sample)
        for t in toks:
            tally = DigitTally() if "digits" in want else None
            sh.accs.append(_Acc(t, np.zeros(t.vocab.size, dtype=np.int64), digits=tally))
        return sh

    for t in toks:
        vocab_arrays(t.vocab)
    q: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce, args=(shards, toks, chunk_docs, q, stop), name="toksmith-encode", daemon=True
    )
    producer.start()
    k, base = first_shard, first_doc
    sh = new_shard(k, base)
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            if item is _SHARD_END:
                yield sh
                k, base = k + 1, base + sh.n_docs
                sh = new_shard(k, base)
                continue
            _reduce_batch(sh, *item)
            del item
            if on_batch is not None:
                on_batch(base - first_doc + sh.n_docs)
    finally:
        stop.set()
        producer.join()
        save_tables()  # the UAX #29 property pages this pass filled, once, for later processes


def absorb(first: ShardStats, sh: ShardStats) -> None:
    """Append the state of `sh`, the next shard in corpus order, to `first` (and empty `sh`)."""
    for x in sh.langs:
        if x not in first.langs:
            first.langs.append(x)
    lang_map = np.array([first.langs.index(x) for x in sh.langs] or [0], dtype=np.int32)
    first.units.extend(sh.units, lang_map)
    sh.units = Units(first.units.cap)
    for x, h in sh.heads.items():
        first.heads.setdefault(x, h)
    first.first_texts += sh.first_texts[: 3 - len(first.first_texts)]
    first.n_docs += sh.n_docs
    if first.sample is not None and sh.sample is not None:
        first.sample.merge(sh.sample)
        sh.sample = None
    for a, b in zip(first.accs, sh.accs, strict=True):
        a.merge(b)


def merge_shards(shards: Sequence[ShardStats], *, name: str) -> tuple[CorpusStats, list[TokenStats]]:
    """Join the shards of one pass, in corpus order, into the statistics the metrics read.

    Languages are sorted; units are joined in corpus order (and merged where a unit spans shards);
    counts and tallies are summed; the viewer's texts come from the first shard that has them.
    """
    if not shards:
        raise ValueError("merge_shards needs at least one shard")
    first = shards[0]
    for sh in shards[1:]:
        absorb(first, sh)
    want = first.stats
    units = first.units
    units.finish()
    order = sorted(first.langs)
    index = np.array([order.index(x) for x in first.langs] or [0], dtype=np.int32)
    words_on = bool(want & {"words", "word_sample"})
    empty = not len(units)

    def col(key: str, dtype: Any) -> np.ndarray:
        return np.zeros(0, dtype=dtype) if empty else units.column(key)

    cs = CorpusStats(
        name=name,
        n_docs=first.n_docs,
        lang_names=order,
        doc_lang=np.zeros(0, dtype=np.int32) if empty else index[units.lang],
        doc_bytes=col("bytes", np.int64),
        doc_chars=col("chars", np.int64),
        doc_words=col("words", np.float64) if words_on else None,
        unit_docs=units.docs,
        granularity=units.granularity,
        word_texts_sample=first.sample.result() if first.sample is not None else [],
        heads={x: (h[0], h[1]) for x, h in first.heads.items()},
        first_texts=first.first_texts,
    )
    out = [
        TokenStats(
            tokenizer=a.tokenizer,
            corpus=cs,
            doc_tokens=col(f"{j}:tokens", np.int64),
            doc_unk=col(f"{j}:unk", np.int64),
            doc_unk_bytes=col(f"{j}:unk_bytes", np.int64),
            round_trip_ok=col(f"{j}:round_trip", np.int64) if "round_trip" in want else None,
            word_tokens=col(f"{j}:word_tokens", np.float64) if "words" in want else None,
            word_continued=col(f"{j}:word_continued", np.float64) if "words" in want else None,
            docs_with_tokens=col(f"{j}:has_tokens", np.int64),
            bytes_per_token_sum=col(f"{j}:bytes_per_token", np.float64),
            chars_per_token_sum=col(f"{j}:chars_per_token", np.float64),
            counts=a.counts,
            chunk_times=a.chunk_times,
            warmup_s=a.warmup_s,
            failed_examples=a.failed,
            digits=a.digits,
        )
        for j, a in enumerate(first.accs)
    ]
    return cs, out


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
    `on_batch(documents so far)` is called after each batch. The pass is one shard, merged.
    """
    shard = reduce_shard(toks, sources, stats=stats, chunk_docs=chunk_docs, on_batch=on_batch)
    return merge_shards([shard], name=name)
