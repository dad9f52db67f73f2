"""The streamed pass cut into shards, run in this process or on Ray (`engine="ray"`).

The documents are cut into shards of consecutive non-empty documents, each at least `SHARD_BYTES`
of text (the last one may be smaller). Every shard is encoded and reduced by `reduce_shard` (on a
Ray worker with `engine="ray"`; in this process with `engine="local"`, where `reduce_shards` runs the
shards through one producer thread without draining between them), and `merge_shards` joins the
results in corpus order. Both engines cut the same shards, seed each shard's word sample by its
index and merge in the same order, so they produce the same statistics bit for bit; only the
timings differ. A corpus smaller than one shard is a single shard, the plain one-pass result.

With Ray, a worker receives its shard's texts and the recipe of every tokenizer (`load_tokenizer`
arguments plus the fingerprint it must reproduce), loads each tokenizer once per worker process (the
on-disk derived-value cache makes that fast) and returns its `ShardStats` without tokenizer objects.
At most `max_in_flight` shards are out at once, so the driver holds a bounded number of texts and
each worker holds one shard: memory follows the shard size, not the corpus size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from toksmith.corpus import Document
from toksmith.engine import ENGINES, map_reduce
from toksmith.errors import OptionError, ToksmithError
from toksmith.evaluate.encoded import CHUNK_DOCS
from toksmith.evaluate.stream import (
    CorpusStats,
    ShardStats,
    TokenStats,
    absorb,
    merge_shards,
    reduce_shard,
    reduce_shards,
)
from toksmith.evaluate.units import UNIT_CAP
from toksmith.tokenizers.base import Tokenizer

__all__ = ["SHARD_BYTES", "shard_documents", "sharded_pass"]

#: Text bytes per shard: small enough to spread a few MB over workers, big enough to amortise a task.
SHARD_BYTES = 2 << 20


def shard_documents(
    sources: Iterable[tuple[str | None, Iterable[Document]]], shard_bytes: int = SHARD_BYTES
) -> Iterator[list[tuple[str, str]]]:
    """Consecutive runs of (text, language) of the non-empty documents, each >= `shard_bytes` UTF-8 bytes."""
    cut = _Cut(sources, shard_bytes)
    while cut.has_more():
        yield [(d.text, d.lang or "") for d in cut.shard()]


class _Cut:
    """Lazy shards over one document stream, for the local engine: no shard is ever held whole."""

    def __init__(self, sources: Iterable[tuple[str | None, Iterable[Document]]], shard_bytes: int) -> None:
        if shard_bytes < 1:
            raise OptionError(f"shard size must be at least 1 byte, not {shard_bytes}")
        self._docs = ((d, lang) for lang, docs in sources for d in docs if d.text)
        self._limit = shard_bytes
        self._next: tuple[Document, str | None] | None = None
        self.exhausted = False

    def has_more(self) -> bool:
        if self._next is None and not self.exhausted:
            self._next = next(self._docs, None)
            self.exhausted = self._next is None
        return self._next is not None

    def shard(self) -> Iterator[Document]:
        """The next shard's documents, read as they are consumed (same cuts as `shard_documents`)."""
        size = 0
        while size < self._limit and self.has_more():
            d, lang = self._next
            self._next = None
            size += len(d.text.encode("utf-8", "surrogatepass"))
            yield Document(d.text, d.source, lang or d.lang or "", d.offset)


def _as_sources(pairs: list[tuple[str, str]]) -> list[tuple[str | None, list[Document]]]:
    return [(None, [Document(text, "", lang) for text, lang in pairs])]


def _fold(done: list[ShardStats], sh: ShardStats) -> None:
    """Fold `sh`, the next shard in corpus order, into the first one at once (`stream.absorb`).

    Units, counts and samples held per shard until the merge would grow with the corpus; folded as
    they arrive, the driver holds one shard's state plus a bounded number of units. Both engines fold
    the same shards in the same order, so the sums are formed in the same order.
    """
    if done:
        absorb(done[0], sh)
    else:
        done.append(sh)


def _recipe(tok: Tokenizer) -> dict[str, Any]:
    args = getattr(tok, "load_args", None)
    if args is None:
        raise ToksmithError(f"{tok.name}: --engine ray needs tokenizers loaded by load_tokenizer (a file, short "
                            "name or Hub id), not built in memory")
    return {"args": dict(args), "fingerprint": tok.fingerprint}


def _reduce_on_worker(
    task: tuple[list[dict[str, Any]], int, int, list[tuple[str, str]], frozenset[str], int, int | None],
) -> ShardStats:
    """Ray task: load the tokenizers (cached per worker process), encode and reduce one shard."""
    from toksmith.tokenizers import load_tokenizer

    recipes, index, first_doc, pairs, stats, chunk_docs, unit_cap = task
    toks = []
    for r in recipes:
        tok = load_tokenizer(**r["args"])
        if tok.fingerprint != r["fingerprint"]:
            raise ToksmithError(f"{tok.name}: the worker loaded a different tokenizer (fingerprint "
                                f"{tok.fingerprint}, expected {r['fingerprint']}); workers need the same files")
        toks.append(tok)
    sh = reduce_shard(toks, _as_sources(pairs), stats=stats, chunk_docs=chunk_docs, shard=index,
                      first_doc=first_doc, unit_cap=unit_cap)
    for a in sh.accs:
        a.tokenizer = None  # tokenizer objects stay on the worker; the driver re-attaches its own
    return sh


def _tasks(recipes: list[dict[str, Any]], shards: Iterable[list[tuple[str, str]]], want: frozenset[str],
           chunk_docs: int, unit_cap: int | None) -> Iterator[tuple]:
    """One Ray task per shard: the shard's index and the corpus index of its first document ride along."""
    first = 0
    for k, pairs in enumerate(shards):
        yield recipes, k, first, pairs, want, chunk_docs, unit_cap
        first += len(pairs)


def sharded_pass(
    toks: Sequence[Tokenizer],
    sources: Iterable[tuple[str | None, Iterable[Document]]],
    *,
    name: str,
    stats: Iterable[str] = (),
    chunk_docs: int = CHUNK_DOCS,
    on_batch: Callable[[int], None] | None = None,
    engine: str = "local",
    shard_bytes: int = SHARD_BYTES,
    max_in_flight: int | None = None,
    unit_cap: int | None = UNIT_CAP,
) -> tuple[CorpusStats, list[TokenStats]]:
    """The pass of `stream_corpus`, shard by shard, on `engine`; the same statistics on every engine.

    `on_batch(documents so far)` is called as shards (local: batches) complete. `unit_cap` bounds the
    bootstrap units kept (`toksmith.evaluate.units`; None: one per document).
    """
    if engine not in ENGINES:
        raise OptionError(f"unknown engine '{engine}' (choose from: {', '.join(ENGINES)})")
    want = frozenset(stats)
    done: list[ShardStats] = []
    seen = [0]

    def count(sh: ShardStats) -> None:
        seen[0] += sh.n_docs
        if on_batch is not None:
            on_batch(seen[0])

    if engine == "local":
        cut = _Cut(sources, shard_bytes)

        def shards() -> Iterator[list[tuple[None, Iterator[Document]]]]:
            while cut.has_more():
                yield [(None, cut.shard())]

        # one producer thread encodes shard after shard; each shard is folded as it completes
        for sh in reduce_shards(toks, shards(), stats=want, chunk_docs=chunk_docs, on_batch=on_batch,
                                unit_cap=unit_cap):
            _fold(done, sh)
    else:
        from toksmith.engine import ray_init

        ray = ray_init()
        recipes = [_recipe(t) for t in toks]
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        tasks = _tasks(recipes, shard_documents(sources, shard_bytes), want, chunk_docs, unit_cap)
        map_reduce(_reduce_on_worker, tasks, lambda acc, sh: _fold(acc, sh) or acc, done, engine="ray",
                   max_in_flight=max_in_flight or 2 * workers, on_result=count)
        for sh in done:
            for a, tok in zip(sh.accs, toks, strict=True):
                a.tokenizer = tok
    if not done:  # an empty corpus: one empty shard, as the one-pass reader gives
        done.append(reduce_shard(toks, [], stats=want, chunk_docs=chunk_docs, unit_cap=unit_cap))
    return merge_shards(done, name=name)
