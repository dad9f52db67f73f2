"""BPE training: stream a corpus into pre-token counts, learn merges in the compiled trainer, write HF files.

Counting streams documents in batches (at most a few MB of text in memory); memory is bounded by the
number of distinct pre-tokens (64-bit counts in a flat arena). For the preset regexes the counting runs
in compiled code on `threads` threads; a custom regex is counted with the `regex` module.

Token ids of a fresh tokenizer: special tokens first (0, 1, ...), then the 256 bytes in byte order, then
one id per new token in the order merges created them. So the first k ids of a run form a valid smaller
tokenizer (nested vocabularies), and the same corpus and options give the same files byte for byte.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from toksmith.errors import CorpusError, TrainingError
from toksmith.train.pretokenize import PRESETS, Pretokenizer, char_table
from toksmith.train.reference import ReferenceEncoder
from toksmith.train.serialize import (
    added_token,
    bpe_tokenizer_json,
    read_bpe_json,
    tokenizer_config,
    write_hf_files,
)

__all__ = ["DEFAULT_SPECIALS", "TrainProgress", "TrainReport", "TrainedBPE", "count_pretokens", "train", "train_bpe"]

DEFAULT_SPECIALS: tuple[str, ...] = ("<|endoftext|>",)
_BATCH_CHARS = 1 << 20
_SAMPLE_BYTES = 8 << 20
_MERGE_CHUNK = 512


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


def _native() -> Any:
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
    counter: Any = None  # _bpe.Counter (compiled path)
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
    bpe = _native()
    n_threads = max(1, threads if threads else min(4, os.cpu_count() or 1))
    inner = stage1.preset if stage1 else ""

    def new_counter() -> Any:
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
            size = sum(len(t.encode("utf-8")) for t in batch)
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

    def work(c: Any) -> None:
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
            seen += chars
            progress.advance(chars)
            batch, chars = [], 0
        for text in docs:
            batch.append(text)
            chars += len(text)
            if chars >= _BATCH_CHARS:
                q.put(batch)
                seen += chars
                progress.advance(chars)
                batch, chars = [], 0
                if errors:
                    break
        if batch:
            q.put(batch)
            seen += chars
            progress.advance(chars)
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
        c = _native().Counter(preset, numbers, "")
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

    def add(acc: Any, part: tuple[list[bytes], list[int]]) -> Any:
        keys, counts = part
        acc.add_counts(keys, counts)
        n = sum(len(k) * c for k, c in zip(keys, counts, strict=True))
        seen[0] += n
        progress.advance(n)
        return acc

    total = map_reduce(count_shard, shards, add, _native().Counter("gpt2", "", ""), engine=engine)
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
            seen += len(text)
            progress.advance(len(text))
            if len(samples) < 2 and seen >= sample_bytes * (len(samples) + 1) // 2:
                samples.append((seen, len(counts)))
                if len(samples) == 2:
                    _estimate_note(progress, what, samples, total_bytes)
        words = [k.encode("utf-8") for k in counts]
        return _CountResult(words=words, counts=list(counts.values()), distinct=len(words), bytes_seen=seen)
    piece_ids: dict[str, int] = {}
    chunks: Counter[tuple[int, ...]] = Counter()
    for text in _texts(corpus):
        for chunk in pretok.split(text):
            chunks[tuple(piece_ids.setdefault(p, len(piece_ids)) for p in stage1.split(chunk))] += 1
        seen += len(text)
        progress.advance(len(text))
        if len(samples) < 2 and seen >= sample_bytes * (len(samples) + 1) // 2:
            samples.append((seen, len(chunks)))
            if len(samples) == 2:
                _estimate_note(progress, what, samples, total_bytes)
    pieces = [p.encode("utf-8") for p in piece_ids]
    words = [b"".join(pieces[i] for i in ch) for ch in chunks]
    return _CountResult(words=words, counts=list(chunks.values()), distinct=len(words), bytes_seen=seen)


def _merge_trainer(res: _CountResult, *, max_words: int, max_chars: int, forbidden: Sequence[str],
            min_frequency: int) -> Any:
    bpe = _native()
    if res.counter is not None:
        trainer = bpe.Trainer.from_counter(res.counter)
        res.counter = None
    else:
        trainer = bpe.Trainer.from_words(res.words or [], res.counts or [])
        res.words = res.counts = None
    trainer.set_filters(max_words, max_chars, [f.encode("utf-8") for f in forbidden], min_frequency)
    return trainer


def _learn(trainer: Any, *, max_tokens: int, max_merges: int | None, progress: TrainProgress) -> None:
    todo = max(max_tokens - trainer.n_tokens, 0)
    progress.phase("merges", todo if max_merges is None else min(todo, max_merges))
    learned = 0
    while trainer.n_tokens < max_tokens and (max_merges is None or learned < max_merges):
        chunk = _MERGE_CHUNK if max_merges is None else min(_MERGE_CHUNK, max_merges - learned)
        before = trainer.n_tokens
        done = trainer.step(chunk, max_tokens)
        learned += done
        progress.advance(trainer.n_tokens - before)
        if done < chunk:
            break


@dataclass(frozen=True)
class TrainedBPE:
    """A trained byte-level BPE tokenizer: vocabulary, merges, special tokens and pre-tokenizer.

    Attributes:
        vocab: token bytes -> id for the 256 byte tokens and every learned token.
        merges: (left bytes, right bytes) in rank order.
        added_tokens: tokenizer.json `added_tokens` entries (special tokens).
        pretokenizer: the pre-tokenizer written into tokenizer.json.
        stats: what the run measured (counts, sizes, seconds); not written into the files.
    """

    vocab: dict[bytes, int]
    merges: tuple[tuple[bytes, bytes], ...]
    added_tokens: tuple[dict[str, Any], ...]
    pretokenizer: Pretokenizer
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def vocab_size(self) -> int:
        """Number of token ids (learned and byte tokens plus special tokens)."""
        return len(self.vocab) + len(self.added_tokens)

    def truncate(self, size: int) -> TrainedBPE:
        """The nested tokenizer made of the `size` smallest ids and the merges that build only those."""
        if size >= self.vocab_size:
            return self
        ids = sorted([*self.vocab.values(), *(t["id"] for t in self.added_tokens)])
        cutoff = ids[size]
        vocab = {b: i for b, i in self.vocab.items() if i < cutoff}
        if any(bytes([c]) not in vocab for c in range(256)):
            raise TrainingError(f"vocabulary size {size} would drop some of the 256 byte tokens")
        merges: list[tuple[bytes, bytes]] = []
        for a, b in self.merges:
            if a + b not in vocab or a not in vocab or b not in vocab:
                break
            merges.append((a, b))
        added = tuple(t for t in self.added_tokens if t["id"] < cutoff)
        return TrainedBPE(vocab, tuple(merges), added, self.pretokenizer, {**self.stats, "truncated_to": size})

    def tokenizer_json(self) -> str:
        """The tokenizer.json text."""
        return bpe_tokenizer_json(self.vocab, self.merges, self.added_tokens, self.pretokenizer.hf_json())

    def tokenizer_config_json(self) -> str:
        """The tokenizer_config.json text (the first special token is BOS and EOS)."""
        first = self.added_tokens[0]["content"] if self.added_tokens else None
        return tokenizer_config(self.added_tokens, bos=first, eos=first, extra={"add_prefix_space": False})

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write tokenizer.json and tokenizer_config.json into `out_dir` (created if needed), atomically."""
        return write_hf_files(out_dir, self.tokenizer_json(), self.tokenizer_config_json())

    def reference_encoder(self) -> ReferenceEncoder:
        """The pure-Python encoder (merges by rank) that the saved tokenizer.json must agree with."""
        return ReferenceEncoder(self.merges, self.vocab, self.pretokenizer.split)


def train_bpe(
    corpus: Iterable[Any],
    *,
    vocab_size: int,
    preset: str = "cl100k",
    regex_pattern: str | None = None,
    numbers: str | None = None,
    superbpe_transition: int | None = None,
    max_words_per_token: int = 4,
    forbidden_substrings: Sequence[str] = (),
    max_token_chars: int | None = None,
    min_frequency: int = 2,
    special_tokens: Sequence[str] = DEFAULT_SPECIALS,
    extend: str | Path | None = None,
    threads: int | None = None,
    total_bytes: int | None = None,
    progress: TrainProgress | None = None,
    engine: str = "local",
) -> TrainedBPE:
    """Train a byte-level BPE tokenizer on a stream of documents (str or `Document`).

    Args:
        corpus: documents; must be re-iterable for SuperBPE (two passes).
        vocab_size: total number of ids: 256 bytes + learned tokens + special tokens.
        preset / regex_pattern: the pre-tokenizer ("gpt2", "cl100k", "o200k", "superbpe-stage2") or a
            custom regex (counted in Python, slower).
        numbers: None, "single", "l2r3" (groups of 1-3 from the left) or "r2l3" (groups of 3 from the right).
        superbpe_transition: SuperBPE: learn this many merges with the pre-tokenizer above, then replay them
            under the "superbpe-stage2" pre-tokenizer and go on with tokens that may cross single spaces.
        max_words_per_token: merge filter (0 = off); a word is a run of non-whitespace bytes.
        forbidden_substrings: merge filter: no learned token contains any of these.
        max_token_chars: merge filter: at most this many UTF-8 characters per token (character-level BPE
            with 1: merges only assemble multi-byte characters).
        min_frequency: pairs seen fewer times are never merged (training stops early).
        special_tokens: added as special tokens with ids 0, 1, ... (ignored with `extend`).
        extend: a byte-level BPE tokenizer.json (or its directory) whose merges are replayed first; its ids
            are kept and new tokens get ids after its largest.
        threads: counting threads (default: up to 4 CPUs).
        total_bytes: corpus size, for progress and the distinct pre-token estimate.
        engine: where pre-token counting runs: "local" (threads) or "ray" (map-reduce over shards of
            4,096 documents on a Ray cluster; stage 2 of SuperBPE counts locally).

    Returns:
        the trained tokenizer; `.save(dir)` writes the Hugging Face files.
    """
    progress = progress or _Silent()
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise TrainingError(f"--threads {threads} must lie between 1 and {MAX_THREADS}")
    pretok = Pretokenizer.from_options(preset if regex_pattern is None else None, regex_pattern=regex_pattern,
                                       numbers=numbers)
    specials = list(dict.fromkeys(special_tokens)) if extend is None else []
    base_vocab: dict[bytes, int] = {}
    base_merges: list[tuple[bytes, bytes]] = []
    added: list[dict[str, Any]] = [added_token(s, i) for i, s in enumerate(specials)]
    if extend is not None:
        if superbpe_transition is not None:
            raise TrainingError("--extend and --superbpe-transition cannot be combined")
        base_vocab, base_merges, added = read_bpe_json(extend)
        for c in range(256):
            if bytes([c]) not in base_vocab:
                base_vocab[bytes([c])] = 1 + max([*base_vocab.values(), *(t["id"] for t in added)], default=-1)
    fixed = len(added) + (len(base_vocab) if extend is not None else 256)
    if vocab_size < 256 + len(added) or (extend is not None and vocab_size <= fixed):
        what = f"the {fixed} tokens of {extend}" if extend is not None else (
            f"the 256 byte tokens + {len(added)} special tokens")
        raise TrainingError(f"vocabulary size {vocab_size} is below {what}; pass a larger --vocab-size")
    if superbpe_transition is not None:
        if superbpe_transition < 0 or 256 + len(added) + superbpe_transition >= vocab_size:
            raise TrainingError(f"--superbpe-transition {superbpe_transition} must lie between 0 and "
                                f"{vocab_size - 257 - len(added)} for vocabulary size {vocab_size}")
    filters = dict(max_words=max(0, max_words_per_token), max_chars=max(0, max_token_chars or 0),
                   forbidden=list(forbidden_substrings), min_frequency=min_frequency)
    stats: dict[str, Any] = {"pretokenizer": pretok.name}
    t0 = time.perf_counter()

    res = count_pretokens(corpus, pretok, threads=threads, total_bytes=total_bytes, progress=progress,
                          engine=engine)
    stats.update(distinct_pretokens=res.distinct, corpus_bytes=res.bytes_seen, count_seconds=res.seconds)
    trainer = _merge_trainer(res, **filters)
    stats["trainer_words"] = trainer.n_words
    t1 = time.perf_counter()
    if base_merges:
        try:
            trainer.replay(base_merges)
        except ValueError as e:
            raise TrainingError(f"{extend}: its merges cannot be replayed ({e})") from e
    target = vocab_size - len(added) - (len(base_vocab) - trainer.n_tokens if extend is not None else 0)
    if superbpe_transition is None:
        _learn(trainer, max_tokens=target, max_merges=None, progress=progress)
    else:
        _learn(trainer, max_tokens=target, max_merges=superbpe_transition, progress=progress)
        stage1 = trainer.merges()
        stats.update(stage1_merges=len(stage1), stage1_pretokenizer=pretok.name)
        del trainer
        stage2 = Pretokenizer(PRESETS["superbpe-stage2"], "superbpe-stage2", pretok.numbers)
        stats["merge_seconds_stage1"] = time.perf_counter() - t1
        res = count_pretokens(corpus, stage2, stage1=pretok, threads=threads, total_bytes=total_bytes,
                              progress=progress)
        stats.update(distinct_chunks=res.distinct, count_seconds_stage2=res.seconds)
        trainer = _merge_trainer(res, **filters)
        t1 = time.perf_counter()
        trainer.replay(stage1)
        _learn(trainer, max_tokens=target, max_merges=None, progress=progress)
        pretok = stage2
    stats["merge_seconds"] = time.perf_counter() - t1
    stats["trainer_memory_bytes"] = trainer.memory
    merges = [(bytes(a), bytes(b)) for a, b in trainer.merges()]
    del trainer

    vocab = dict(base_vocab)
    next_id = 1 + max([*vocab.values(), *(t["id"] for t in added)], default=-1)
    if extend is None:
        next_id = len(added)
        for c in range(256):
            vocab[bytes([c])] = next_id
            next_id += 1
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = next_id
            next_id += 1
    stats.update(merges=len(merges), vocab_size=len(vocab) + len(added), seconds=time.perf_counter() - t0)
    if len(vocab) + len(added) < vocab_size:
        progress.note(f"only {len(vocab) + len(added)} tokens: no pair left at min_frequency {min_frequency}")
    return TrainedBPE(vocab, tuple(merges), tuple(added), pretok, stats)


@dataclass(frozen=True)
class TrainReport:
    """What `train` wrote: the output directory per vocabulary size, and the run's statistics."""

    model: str
    outputs: dict[int, Path]
    stats: dict[str, Any]


def train(
    corpus: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    vocab_size: int,
    model: str = "bpe",
    save_sizes: Sequence[int] = (),
    field: str = "text",
    errors: str = "strict",
    progress: TrainProgress | None = None,
    **options: Any,
) -> TrainReport:
    """Train from corpus files and write Hugging Face files into `out_dir` (what `toksmith train` runs).

    `model` is "bpe" (options as for `train_bpe`) or "unigram" (SentencePiece; `numbers` and
    `max_token_chars` only). With `save_sizes`, the nested tokenizers of those sizes go to
    `out_dir/<size>/` and the full one to `out_dir`.
    """
    from toksmith.corpus import read_corpus

    out = Path(out_dir)
    _check_writable(out)
    docs = read_corpus(corpus, field=field, errors=errors)
    total = sum(p.stat().st_size for p in docs.files)
    if model == "unigram":
        from toksmith.train.unigram import train_unigram

        unknown = set(options) - {"numbers", "max_token_chars", "threads"}
        if unknown or save_sizes:
            raise TrainingError(f"options not available for Unigram: {', '.join(sorted(unknown)) or '--save-sizes'}")
        if progress:
            progress.phase("sentencepiece", None)
        train_unigram(docs, out, vocab_size=vocab_size, **options)
        return TrainReport("unigram", {vocab_size: out}, {"corpus_bytes": total})
    if model != "bpe":
        raise TrainingError(f"unknown model '{model}' (choose bpe or unigram)")
    sizes = sorted(set(save_sizes))
    if sizes and sizes[-1] > vocab_size:
        raise TrainingError(f"--save-sizes {sizes[-1]} exceeds --vocab-size {vocab_size}")
    tb = train_bpe(docs, vocab_size=vocab_size, total_bytes=total, progress=progress, **options)
    outputs = {tb.vocab_size: out}
    for k in sizes:
        if k < tb.vocab_size:
            outputs[k] = out / str(k)
    for k, path in sorted(outputs.items()):
        tb.truncate(k).save(path)
    return TrainReport("bpe", outputs, tb.stats)


def _check_writable(out: Path) -> None:
    """Fail before hours of training if the output directory cannot be created or written."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and (not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK)):
        raise TrainingError(f"{out}: output directory is not writable ({probe} is "
                            f"{'not a directory' if not probe.is_dir() else 'read-only'})")
