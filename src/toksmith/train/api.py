"""BPE training: count pre-tokens (`toksmith.train.counting`), learn merges in the compiled trainer, and
return a `TrainedBPE` (`toksmith.train.model`) that writes the Hugging Face files; `train` runs it on files.

Token ids of a fresh tokenizer: special tokens first (0, 1, ...), then the 256 bytes in byte order, then
one id per new token in the order merges created them. So the first k ids of a run form a valid smaller
tokenizer (nested vocabularies), and the same corpus and options give the same files byte for byte.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toksmith import defaults
from toksmith.errors import TrainingError
from toksmith.train.counting import MAX_THREADS, TrainProgress, _CountResult, _Silent, count_pretokens
from toksmith.train.counting import native_bpe as _native
from toksmith.train.model import TrainedBPE
from toksmith.train.pretokenize import PRESETS, Pretokenizer
from toksmith.train.serialize import added_token, read_bpe_json

if TYPE_CHECKING:
    from toksmith._native._bpe import Trainer

__all__ = ["DEFAULT_SPECIALS", "TrainProgress", "TrainReport", "TrainedBPE", "count_pretokens", "train", "train_bpe"]

DEFAULT_SPECIALS: tuple[str, ...] = ("<|endoftext|>",)
_MERGE_CHUNK = 512


def _merge_trainer(res: _CountResult, *, max_words: int, max_chars: int, forbidden: Sequence[str],
            min_frequency: int) -> Trainer:
    bpe = _native()
    if res.counter is not None:
        trainer = bpe.Trainer.from_counter(res.counter)
        res.counter = None
    else:
        trainer = bpe.Trainer.from_words(res.words or [], res.counts or [])
        res.words = res.counts = None
    trainer.set_filters(max_words, max_chars, [f.encode("utf-8") for f in forbidden], min_frequency)
    return trainer


def _learn(trainer: Trainer, *, max_tokens: int, max_merges: int | None, progress: TrainProgress) -> None:
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


def train_bpe(
    corpus: Iterable[Any],
    *,
    vocab_size: int,
    preset: str = "cl100k",
    regex_pattern: str | None = None,
    numbers: str | None = None,
    superbpe_transition: int | None = None,
    max_words_per_token: int = defaults.MAX_WORDS_PER_TOKEN,
    forbidden_substrings: Sequence[str] = (),
    max_token_chars: int | None = None,
    min_frequency: int = defaults.MIN_FREQUENCY,
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
