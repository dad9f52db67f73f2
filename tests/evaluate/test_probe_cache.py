"""The on-disk caches of the fixed probe work: probe encodings and the MorphScore/SIGMORPHON samples.

Oracle: the same work with the cache off (`TOKSMITH_CACHE=off`), recomputed from the tokenizer and the
data files; a cached run must give identical arrays and identical metric values.
"""

from __future__ import annotations

import json

import numpy as np

from toksmith import load_tokenizer
from toksmith.evaluate import evaluate, morphology
from toksmith.evaluate.encoded import encode_flat, flatten
from toksmith.evaluate.numbers import probe_numbers


def test_probe_encoding_cached_equals_encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    tok = load_tokenizer("smollm2")
    assert tok.source_key is not None
    texts = [f"Total: {n} units." for n in probe_numbers()] + [" unbelievably", " Ἀθῆναι"]
    oracle = flatten(tok.encode_batch(texts))
    first = encode_flat(tok, texts, cache=True)  # built and stored
    assert list((tmp_path).glob("encoding-*.npz"))
    second = encode_flat(tok, texts, cache=True)  # served from disk
    for got in (first, second):
        assert np.array_equal(got[0], oracle[0]) and np.array_equal(got[1], oracle[1])
    # another tokenizer, or other texts, never hit this entry
    other = load_tokenizer("cl100k")
    assert np.array_equal(encode_flat(other, texts, cache=True)[0], flatten(other.encode_batch(texts))[0])
    assert np.array_equal(encode_flat(tok, texts[:-1], cache=True)[0], flatten(tok.encode_batch(texts[:-1]))[0])
    # a corrupt entry is ignored and rebuilt
    for f in tmp_path.glob("encoding-*.npz"):
        f.write_bytes(b"junk")
    assert np.array_equal(encode_flat(tok, texts, cache=True)[0], oracle[0])


def test_morph_samples_cached_equal_the_files(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    ms, sg = shared_data / "morphscore", shared_data / "sigmorphon2022"
    want_ms, want_sg = morphology._read_morphscore(ms), morphology._read_sigmorphon(sg)
    assert sum(map(len, want_ms.values())) > 1000 and sum(len(r) for r, _ in want_sg.values()) > 1000
    for _ in range(2):  # built, then served from disk
        morphology.load_morphscore.cache_clear()
        morphology.load_sigmorphon.cache_clear()
        assert morphology.load_morphscore(ms) == want_ms
        assert morphology.load_sigmorphon(sg) == want_sg
    assert list(tmp_path.glob("morphscore-sample-*.npz")) and list(tmp_path.glob("sigmorphon-sample-*.npz"))
    morphology.load_morphscore.cache_clear()
    morphology.load_sigmorphon.cache_clear()


def test_metrics_equal_with_and_without_probe_cache(shared_data, tmp_path, monkeypatch):
    docs = (shared_data / "english" / "inaugural.txt").read_text("utf-8").split("\n")[:300]
    from toksmith.corpus import Document

    corpus = [Document(t, "inaugural.txt") for t in docs if t]
    runs = []
    for setting in ("off", str(tmp_path), str(tmp_path)):  # oracle, cold cache, warm cache
        monkeypatch.setenv("TOKSMITH_CACHE", setting)
        morphology.load_morphscore.cache_clear()
        morphology.load_sigmorphon.cache_clear()
        res = evaluate(["smollm2"], corpus=corpus, resamples=50)
        speed = {m.name for m in res.metrics if m.family == "speed"}  # wall-clock timings differ by run
        runs.append(json.dumps({n: r.to_dict() for n, r in res.results["smollm2"].items() if n not in speed},
                               sort_keys=True, default=str))
    assert runs[0] == runs[1] == runs[2]
    got = json.loads(runs[0])
    for name in ("morphscore", "morph_boundary_f1", "place_value_f1"):  # the cached probes were used
        assert got[name]["value"] is not None, name
    morphology.load_morphscore.cache_clear()
    morphology.load_sigmorphon.cache_clear()
