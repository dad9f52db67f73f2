"""Pre-token counting: stream a corpus into counts of distinct pre-tokens (or SuperBPE chunks).

Counting streams documents in batches (at most a few MB of text in memory); memory is bounded by the
number of distinct pre-tokens (64-bit counts in a flat arena). For the preset regexes the counting runs
in compiled code on `threads` threads; a custom regex is counted with the `regex` module; with a
distributed engine the counts are map-reduced over shards (`toksmith.engine`). Every path reports the
UTF-8 bytes it has read (`bytes_seen`), not characters.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from toksmith.errors import CorpusError, TrainingError
from toksmith.train.pretokenize import Pretokenizer, char_table

if TYPE_CHECKING:
    from toksmith._native._bpe import Counter as NativeCounter

__all__ = ["MAX_THREADS", "TrainProgress", "count_pretokens", "count_shard", "native_bpe"]

_BATCH_CHARS = 1 << 20
_SAMPLE_BYTES = 8 << 20


class TrainProgress(Protocol):
    """What training reports while it runs (the CLI draws it as a progress bar)."""

    def phase(self, name: str, total: int | None) -> None:
        """A new phase ("counting", "merges", ...) starts; `total` in its own units, if known."""

    def advance(self, n: int) -> None:
        """`n` more units of the current phase are done."""

    def note(self, message: str) -> None:
        """A warning or an estimate worth showing to the user."""


class _Silent:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def native_bpe() -> ModuleType:
    """The compiled BPE module (`toksmith._native._bpe`), its character table set."""
    try:
        from toksmith._native import _bpe
    except ImportError as e:
        raise TrainingError(
            "the compiled BPE trainer toksmith._native._bpe is not built; reinstall toksmith "
            "(pip install -e .) or run: python setup.py build_ext --inplace"
        ) from e
    if not _bpe.has_char_table():
        _bpe.set_char_table(char_table())
    return _bpe


def _utf8_len(texts: list[str]) -> int:
    """UTF-8 bytes of `texts` (what `bytes_seen` and the progress bar count; characters would undercount)."""
    return sum(len(t.encode("utf-8")) for t in texts)


def _texts(corpus: Iterable[Any]) -> Iterator[str]:
    for d in corpus:
        yield d if isinstance(d, str) else d.text


def _heaps_estimate(b1: int, d1: int, b2: int, d2: int, total: int) -> int:
    """Distinct pre-tokens at `total` bytes from two samples, by Heaps' law D = K * B^beta."""
    if d1 <= 0 or d2 <= d1 or b2 <= b1:
        return d2
    beta = min(max(math.log(d2 / d1) / math.log(b2 / b1), 0.0), 1.0)
    return int(d2 * (total / b2) ** beta)


@dataclass
class _CountResult:
    counter: NativeCounter | None = None  # compiled path
    words: list[bytes] | None = None  # Python path
    counts: list[int] | None = None
    distinct: int = 0
    bytes_seen: int = 0
    seconds: float = 0.0


def count_pretokens(
    corpus: Iterable[Any],
    pretok: Pretokenizer,
    *,
    stage1: Pretokenizer | None = None,
    threads: int | None = None,
    total_bytes: int | None = None,
    progress: TrainProgress | None = None,
    sample_bytes: int = _SAMPLE_BYTES,
    engine: str = "local",
) -> _CountResult:
    """Count distinct pre-tokens (or, with `stage1`, SuperBPE chunks as sequences of stage-1 pre-tokens).

    Before counting it warns when `pretok` does not split on whitespace; after the first `sample_bytes`
    (8 MB) it estimates the number of distinct units for the whole corpus (Heaps' law over two samples).
    """
    progress = progress or _Silent()
    what = "chunks" if stage1 else "pre-tokens"
    if not pretok.splits_on_whitespace():
        progress.note(
            f"pre-tokenizer '{pretok.name}' does not split on whitespace: distinct {what} (and memory) "
            "grow with the corpus rather than with its vocabulary"
        )
    progress.phase("counting", total_bytes)
    start = time.perf_counter()
    fast = pretok.preset is not None and (stage1 is None or stage1.preset is not None)
    if engine != "local":
        if stage1 is not None:
            raise TrainingError("SuperBPE stage-2 counting runs with --engine local only")
        res = _count_distributed(corpus, pretok, engine, progress)
    else:
        res = _count_fast(corpus, pretok, stage1, threads, total_bytes, progress, sample_bytes) if fast else (
            _count_python(corpus, pretok, stage1, total_bytes, progress, sample_bytes))
    res.seconds = time.perf_counter() - start
    if res.distinct == 0:
        raise CorpusError("the corpus holds no text to train on")
    return res


def _tick(text: str, seen: int, distinct: int, samples: list[tuple[int, int]], sample_bytes: int,
          progress: TrainProgress, what: str, total: int | None) -> int:
    """Count one document's UTF-8 bytes (progress, and the Heaps'-law samples at half and all of
    `sample_bytes`); returns the bytes seen so far."""
    size = len(text.encode("utf-8"))
    seen += size
    progress.advance(size)
    if len(samples) < 2 and seen >= sample_bytes * (len(samples) + 1) // 2:
        samples.append((seen, distinct))
        if len(samples) == 2:
            _estimate_note(progress, what, samples, total)
    return seen


def _estimate_note(progress: TrainProgress, what: str, samples: list[tuple[int, int]], total: int | None) -> None:
    (b1, d1), (b2, d2) = samples[0], samples[-1]
    if total and total > b2 * 1.5:
        est = _heaps_estimate(b1, d1, b2, d2, total)
        progress.note(f"after {b2 / 1e6:.1f} MB: {d2:,} distinct {what}; estimated ~{est:,} for the whole "
                      f"{total / 1e6:.1f} MB corpus (trainer memory ~{est * 120 / 1e6:,.0f} MB)")


#: More counting threads than this only thrash (and thousands cannot even start).
MAX_THREADS = 256


def _count_fast(corpus: Iterable[Any], pretok: Pretokenizer, stage1: Pretokenizer | None, threads: int | None,
                total_bytes: int | None, progress: TrainProgress, sample_bytes: int) -> _CountResult:
    bpe = native_bpe()
    n_threads = max(1, threads if threads else min(4, os.cpu_count() or 1))
    inner = stage1.preset if stage1 else ""

    def new_counter() -> NativeCounter:
        return bpe.Counter(pretok.preset, pretok.numbers or "", inner or "")

    counters = [new_counter() for _ in range(n_threads)]
    what = "chunks" if stage1 else "pre-tokens"
    docs = _texts(corpus)
    seen = 0
    samples: list[tuple[int, int]] = []
    batch: list[str] = []
    chars = 0

    # A single-threaded sample first, to estimate the final table size before it gets out of hand.
    for text in docs:
        batch.append(text)
        chars += len(text)
        if chars >= min(_BATCH_CHARS, sample_bytes // 8 + 1):
            counters[0].add_texts(batch)
            size = _utf8_len(batch)
            seen += size
            progress.advance(size)
            samples.append((seen, counters[0].distinct))
            batch, chars = [], 0
            if seen >= sample_bytes:
                break
    if seen >= sample_bytes and len(samples) >= 2:
        _estimate_note(progress, what, [samples[len(samples) // 2 - 1], samples[-1]], total_bytes)

    q: queue.Queue[list[str] | None] = queue.Queue(maxsize=2 * n_threads)
    errors: list[BaseException] = []

    def work(c: NativeCounter) -> None:
        while (b := q.get()) is not None:
            if not errors:
                try:
                    c.add_texts(b)
                except BaseException as e:  # re-raised in the main thread
                    errors.append(e)

    workers = [threading.Thread(target=work, args=(c,), daemon=True) for c in counters]
    for w in workers:
        w.start()
    try:
        if batch:
            q.put(batch)
            size = _utf8_len(batch)
            seen += size
            progress.advance(size)
            batch, chars = [], 0
        for text in docs:
            batch.append(text)
            chars += len(text)
            if chars >= _BATCH_CHARS:
                q.put(batch)
                size = _utf8_len(batch)
                seen += size
                progress.advance(size)
                batch, chars = [], 0
                if errors:
                    break
        if batch:
            q.put(batch)
            size = _utf8_len(batch)
            seen += size
            progress.advance(size)
    finally:
        for _ in workers:
            q.put(None)
        for w in workers:
            w.join()
    if errors:
        e = errors[0]
        if isinstance(e, UnicodeError):
            raise CorpusError(f"the corpus holds text that is not valid Unicode ({e})") from e
        raise e
    total = counters[0]
    for c in counters[1:]:
        total.merge(c)
    return _CountResult(counter=total, distinct=total.distinct, bytes_seen=seen)


def count_shard(shard: tuple[str | None, str, str | None, list[str]]) -> tuple[list[bytes], list[int]]:
    """Pre-token counts of one shard of texts, sorted by bytes: the map step of distributed counting.

    `shard` is (preset, numbers, custom regex, texts); it is plain data so that Ray can ship it.
    """
    preset, numbers, regex_pattern, texts = shard
    if preset is not None:
        c = native_bpe().Counter(preset, numbers, "")
        c.add_texts(texts)
        items = c.items()
        return [k for k, _ in items], [v for _, v in items]
    pretok = Pretokenizer.from_options(None, regex_pattern=regex_pattern, numbers=numbers or None)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(pretok.split(text))
    keys = sorted(k.encode("utf-8") for k in counts)
    return keys, [counts[k.decode("utf-8")] for k in keys]


def _count_distributed(corpus: Iterable[Any], pretok: Pretokenizer, engine: str,
                       progress: TrainProgress) -> _CountResult:
    """Map-reduce counting over shards of documents (`toksmith.engine`), reduced in shard order."""
    from toksmith.engine import batched, map_reduce

    shards = ((pretok.preset, pretok.numbers or "", pretok.pattern if pretok.preset is None else None, b)
              for b in batched(_texts(corpus), 4096))
    seen = [0]

    def add(acc: NativeCounter, part: tuple[list[bytes], list[int]]) -> NativeCounter:
        keys, counts = part
        acc.add_counts(keys, counts)
        n = sum(len(k) * c for k, c in zip(keys, counts, strict=True))
        seen[0] += n
        progress.advance(n)
        return acc

    total = map_reduce(count_shard, shards, add, native_bpe().Counter("gpt2", "", ""), engine=engine)
    return _CountResult(counter=total, distinct=total.distinct, bytes_seen=seen[0])


def _count_python(corpus: Iterable[Any], pretok: Pretokenizer, stage1: Pretokenizer | None,
                  total_bytes: int | None, progress: TrainProgress, sample_bytes: int) -> _CountResult:
    seen = 0
    samples: list[tuple[int, int]] = []
    what = "chunks" if stage1 else "pre-tokens"
    if stage1 is None:
        counts: Counter[str] = Counter()
        for text in _texts(corpus):
            counts.update(pretok.split(text))
            seen = _tick(text, seen, len(counts), samples, sample_bytes, progress, what, total_bytes)
        words = [k.encode("utf-8") for k in counts]
        return _CountResult(words=words, counts=list(counts.values()), distinct=len(words), bytes_seen=seen)
    piece_ids: dict[str, int] = {}
    chunks: Counter[tuple[int, ...]] = Counter()
    for text in _texts(corpus):
        for chunk in pretok.split(text):
            chunks[tuple(piece_ids.setdefault(p, len(piece_ids)) for p in stage1.split(chunk))] += 1
        seen = _tick(text, seen, len(chunks), samples, sample_bytes, progress, what, total_bytes)
    pieces = [p.encode("utf-8") for p in piece_ids]
    words = [b"".join(pieces[i] for i in ch) for ch in chunks]
    return _CountResult(words=words, counts=list(chunks.values()), distinct=len(words), bytes_seen=seen)


