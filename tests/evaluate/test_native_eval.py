"""The compiled reductions of the streamed pass (`toksmith._native._eval`) against their numpy references.

Oracles: `Encoded._round_trip_numpy` and `Encoded._tokens_in_numpy` (the code the compiled versions
replace), on real tokenizers and real text, with round trips broken on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest

from toksmith import load_tokenizer
from toksmith.evaluate.encoded import TextCorpus, encode_corpus

_eval = pytest.importorskip("toksmith._native._eval", reason="the compiled extension is not built")


def _texts(shared_data) -> list[str]:
    out = []
    for f in sorted((shared_data / "udhr").glob("*.txt"))[::25]:
        out += [t for t in f.read_text("utf-8").split("\n")[:40] if t]
    out += [t for t in (shared_data / "english" / "inaugural.txt").read_text("utf-8").split("\n")[:200] if t]
    return out + ["  two  spaces ", "12,345.6789", "\t\ttab", "x"]


def test_round_trip_equals_reference(shared_data, spm_model):
    texts = _texts(shared_data)
    rng = np.random.default_rng(7)
    spm = load_tokenizer(spm_model)
    assert spm.adds_space_prefix  # the dummy-prefix path of the round trip
    for tok in (load_tokenizer("smollm2"), load_tokenizer("gemma3"), load_tokenizer("cl100k"), spm):
        enc = encode_corpus(tok, TextCorpus.from_texts(texts))
        native = enc.round_trip_ok
        assert np.array_equal(native, enc._round_trip_numpy())
        assert native.dtype == bool and len(native) == len(texts)
        # break documents: swap two tokens (same length, other bytes), drop a token, a special token
        ids = enc.ids.copy()
        for k in rng.choice(len(ids) - 1, size=40, replace=False).tolist():
            ids[k], ids[k + 1] = ids[k + 1], ids[k]
        ids[rng.choice(len(ids), size=20, replace=False)] = next(iter(tok.vocab.specials), 0)
        broken = type(enc)(tok, enc.corpus, ids, enc.doc_tok)
        got, want = broken.round_trip_ok, broken._round_trip_numpy()
        assert np.array_equal(got, want), tok.name
        assert not got.all() and got.any()
        # tokens dropped at the end of every other document: the lengths disagree
        keep = np.ones(len(ids), dtype=bool)
        keep[enc.doc_tok[1:][::2] - 1] = False
        keep &= np.repeat(enc.doc_tokens > 0, enc.doc_tokens)
        lens = np.bincount(np.repeat(np.arange(len(texts)), enc.doc_tokens)[keep], minlength=len(texts))
        short = type(enc)(tok, enc.corpus, enc.ids[keep], np.concatenate(([0], np.cumsum(lens))))
        assert np.array_equal(short.round_trip_ok, short._round_trip_numpy())


def test_count_overlaps_equals_searchsorted(shared_data):
    tok = load_tokenizer("smollm2")
    corpus = TextCorpus.from_texts(_texts(shared_data))
    enc = encode_corpus(tok, corpus)
    ws, we, _ = corpus.words
    assert np.array_equal(enc.tokens_in(ws, we), enc._tokens_in_numpy(ws, we))
    ds, de = corpus.digit_runs
    assert np.array_equal(enc.tokens_in(ds, de), enc._tokens_in_numpy(ds, de))
    # spans in any order, empty and out-of-range spans
    rng = np.random.default_rng(3)
    total = int(corpus.doc_end[-1])
    s = rng.integers(-5, total + 5, size=5000)
    e = s + rng.integers(0, 40, size=5000)
    assert np.array_equal(enc.tokens_in(s, e), enc._tokens_in_numpy(s, e))
    order = np.argsort(s, kind="stable")
    assert np.array_equal(enc.tokens_in(s[order], e[order]), enc._tokens_in_numpy(s[order], e[order]))


def test_flatten_equals_reference(shared_data):
    from toksmith.evaluate.encoded import _flatten_numpy, flatten

    out = load_tokenizer("gemma3").encode_batch(_texts(shared_data)) + [[], [0], [262143, 5]]
    for got, want in zip(flatten(out), _flatten_numpy(out), strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    tuples = [tuple(x) for x in out[:50]]  # not lists: the reference path
    for got, want in zip(flatten(tuples), _flatten_numpy(tuples), strict=True):
        assert np.array_equal(got, want)


def test_word_spans_equal_numpy_reference(shared_data):
    """The compiled UAX #29 segmenter against the numpy rules on every UDHR language and hard strings."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from toksmith.evaluate import words

    def same(text: str) -> None:
        props = words._props().of(words.codepoints(text))
        got, want = words._spans(props), words._spans_numpy(props)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)), text[:80]

    for f in sorted((shared_data / "udhr").glob("*.txt")):
        same(f.read_text("utf-8"))
    for text in ["", "a", "\u0301a", "a\u200d\U0001f600", "\U0001f1e9\U0001f1ea\U0001f1eb", "x\r\n\u0301y",
                 "It's 3.14, U.S.A.", "  \u3000 ", "\u05d0\"\u05d1", "1,000.5", "e\u0301\u0301'e"]:
        same(text)

    alphabet = "a1 .,'\"\u05d0\u30a2\u0301\u200d\U0001f600\U0001f1e9\r\n_:\u00ad\t\u3000"
    given(st.text(alphabet=alphabet, max_size=30))(settings(max_examples=400, deadline=None)(same))()
