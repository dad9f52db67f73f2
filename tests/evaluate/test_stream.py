"""The streamed pass: corpora from generators, bounded memory, batch-size independence."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from toksmith.corpus import Document
from toksmith.data import demo_parallel_dir
from toksmith.evaluate import evaluate
from toksmith.evaluate.word_sample import WordSample

#: the metrics that read the per-batch reductions (tokens, words, round trip, counts, digits, timing)
CORPUS_METRICS = ["compression", "fertility", "round_trip", "unk_rate", "entropy", "vocabulary", "numbers", "speed"]


def _paragraphs(langs: tuple[str, ...] = ("eng", "deu", "fra", "spa", "swh", "tur"), ascii: bool = False) -> list[str]:
    """Real text: the demo corpus's lines, grouped 8 lines to a document (about 700 bytes)."""
    lines = []
    for lang in langs:
        text = (demo_parallel_dir() / f"{lang}.txt").read_text(encoding="utf-8")
        lines += [x for x in text.splitlines() if x.strip() and (x.isascii() or not ascii)]
    return ["\n".join(lines[i : i + 8]) for i in range(0, len(lines), 8)]


def _generate(target_bytes: int, seen: list[int]) -> Iterator[Document]:
    """Documents cycling through the paragraphs until `target_bytes`; counts what it yielded in `seen`."""
    paras = _paragraphs(("eng", "swh"), ascii=True)
    k = 0
    while seen[0] < target_bytes:
        text = paras[k % len(paras)]
        seen[0] += len(text.encode())
        k += 1
        yield Document(text, "<generated>", None)


def _peak(target_bytes: int, tok, tmp_path: Path, **kw) -> tuple[int, int, object]:
    """(tracemalloc peak, corpus bytes, results) of evaluating a generated corpus of `target_bytes`."""
    seen = [0]
    kw.setdefault("metrics", CORPUS_METRICS)
    tracemalloc.start()
    try:
        res = evaluate(
            [tok],
            _generate(target_bytes, seen),
            data_dir=tmp_path,
            batch_docs=32,
            resamples=50,  # the bootstrap's weights take resamples x 2000 x 20 bytes
            **kw,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, seen[0], res


def test_generator_corpus_streams_in_bounded_memory(cl100k, tmp_path: Path) -> None:
    _peak(100_000, cl100k, tmp_path)  # vocabulary tables and other per-process caches, built once
    # the small corpus already has MAX_BLOCKS (2,000) documents, so both runs' bootstrap weights have the
    # same size (resamples x MAX_BLOCKS) and only the per-document statistics differ
    small_peak, small_bytes, small = _peak(1_200_000, cl100k, tmp_path)
    big_peak, big_bytes, res = _peak(4_800_000, cl100k, tmp_path)
    corpus = res.to_dict()["corpus"]["main"]
    assert corpus["bytes"] == big_bytes  # every generated document was read, once
    assert res.results["cl100k"]["round_trip"].value == 1.0
    # 4x the corpus costs little more memory: only the per-document statistics grow (a few hundred
    # bytes a document of about 500, with the columns' spare capacity), the batches do not. Holding the
    # corpus would grow by more than its text (str + token ids: > 3 bytes a byte). (Before the probe
    # encodings were cached on disk, the small run's peak also held the probe encoding, which hid part
    # of the per-document growth; the bound below is what the per-document columns really cost.)
    docs = corpus["documents"] - small.to_dict()["corpus"]["main"]["documents"]
    assert big_peak - small_peak < 400 * docs, (small_peak, big_peak, docs)
    assert big_peak - small_peak < (big_bytes - small_bytes) / 1.5, (small_peak, big_peak)


def test_unit_cap_makes_memory_independent_of_corpus_size(cl100k, tmp_path: Path) -> None:
    # beyond `unit_cap` units, documents are summed into blocks: 4x the documents, the same peak
    # (shards of 300 KB: both runs hold the same number of shards' word samples at once, two)
    # metrics without work in the background thread, whose peak would overlap the pass's at random
    kw = {"unit_cap": 256, "shard_bytes": 300_000, "metrics": ["compression", "fertility", "round_trip", "unk_rate"]}
    _peak(100_000, cl100k, tmp_path, **kw)
    # the least peak of two runs each: where the producer thread stands when the peak is reached moves
    # a single run's peak by up to ~110 KB
    small_peak, _, small = min((_peak(1_000_000, cl100k, tmp_path, **kw) for _ in range(2)), key=lambda r: r[0])
    big_peak, _, big = min((_peak(4_000_000, cl100k, tmp_path, **kw) for _ in range(2)), key=lambda r: r[0])
    s, b = small.to_dict()["corpus"]["main"], big.to_dict()["corpus"]["main"]
    assert s["bootstrap_units"] <= 256 < s["documents"] and b["bootstrap_units"] <= 256
    assert b["documents"] > 3.9 * s["documents"]
    # uncapped, the ~5,700 more documents would cost about 1.5 MB (see the test above); capped, the
    # difference is within the run-to-run spread of the peak (about +-110 KB measured, either way)
    assert big_peak - small_peak < 300_000, (small_peak, big_peak, b["documents"] - s["documents"])
    # the sums are those of the documents: the totals do not depend on the cap
    whole = _peak(1_000_000, cl100k, tmp_path, unit_cap=1 << 20)[2]
    for name in ("bytes_per_token", "round_trip", "unk_rate", "bytes_per_token_doc_mean"):
        assert small.results["cl100k"][name].value == pytest.approx(whole.results["cl100k"][name].value, rel=1e-12)


def test_batch_size_does_not_change_results(smollm2, tmp_path: Path) -> None:
    texts = _paragraphs() * 3
    docs = [Document(t, "<t>", None) for t in texts]
    a = evaluate([smollm2], docs, metrics=CORPUS_METRICS, data_dir=tmp_path, batch_docs=7).to_dict()
    b = evaluate([smollm2], iter(docs), metrics=CORPUS_METRICS, data_dir=tmp_path, batch_docs=4096).to_dict()
    for name, ra in a["results"]["smollm2"].items():
        rb = b["results"]["smollm2"][name]
        if name == "encode_throughput":
            assert ra["units"] == -(-len(texts) // 7) and rb["units"] == 1
            continue
        assert ra["value"] == rb["value"], name
        assert ra["ci"] == rb["ci"], name
        assert ra["details"] == rb["details"], name


def test_word_sample_keeps_a_uniform_bounded_sample() -> None:
    # 30000 occurrences of 3000 words offered in batches: at most PICK occurrences are kept, and the
    # result does not depend on how the occurrences were batched.
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(3000)] * 10
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    ends = starts + np.array([len(w) for w in words])
    one, many = WordSample(), WordSample()
    one.add(text, starts, ends)
    for lo in range(0, len(words), 777):
        many.add(text, starts[lo : lo + 777], ends[lo : lo + 777])
    assert one.result() == many.result()
    assert len(one._words) == len(many._words) == WordSample.PICK  # (result() compacts the buffer)
    assert len(one.result()) == 400 and all(w.isalpha() for w in one.result())
    # oracle: the occurrences with the PICK smallest keys of the same key stream, in corpus order
    rng = np.random.default_rng([WordSample.SEED, 1])
    keys = np.concatenate([rng.random(len(starts[lo : lo + 777])) for lo in range(0, len(words), 777)])
    kept = np.sort(np.argsort(keys, kind="stable")[: WordSample.PICK])
    assert many._words.tolist() == [words[i] for i in kept.tolist()]


def test_word_sample_of_a_small_corpus_is_every_distinct_word() -> None:
    text = "the cat saw the dog and 12 cats"
    s = WordSample()
    starts = np.array([0, 4, 8, 12, 16, 20, 24, 27])
    s.add(text, starts, starts + np.array([3, 3, 3, 3, 3, 3, 2, 4]))
    assert s.result() == ["and", "cat", "cats", "dog", "saw", "the"]


@pytest.mark.parametrize("bad", [ValueError("boom")])
def test_reader_errors_reach_the_caller(smollm2, bad: Exception) -> None:
    def docs() -> Iterator[Document]:
        yield Document("some text", "<t>", None)
        raise bad

    with pytest.raises(ValueError, match="boom"):
        evaluate([smollm2], docs(), metrics=["compression"])
