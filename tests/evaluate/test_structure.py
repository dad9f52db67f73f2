"""The metric catalog, the metric types, the shard/merge pass and the terminal table."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

from toksmith.corpus import Document
from toksmith.data import demo_parallel
from toksmith.errors import CorpusError
from toksmith.evaluate import METRICS, evaluate
from toksmith.evaluate.metric import EvalContext, MetricResult
from toksmith.evaluate.stream import merge_shards, reduce_shard, stream_corpus


def test_metrics_are_all_listed_in_a_fresh_interpreter() -> None:
    code = (
        "from toksmith.evaluate import METRICS; import sys; "
        "print(len(METRICS)); print(hasattr(sys.modules['toksmith.evaluate.metric'], 'METRICS'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["29", "False"]
    assert len(METRICS) == 29 and list(METRICS)[0] == "bytes_per_token"


def test_every_metric_builds_its_result_through_metric_result() -> None:
    """No metric module constructs a MetricResult by hand: name, unit and aggregation are the metric's."""
    for m in METRICS.values():
        src = inspect.getsource(sys.modules[m.compute.__module__])
        assert "MetricResult(" not in src, m.module
        assert "assert ctx.text" not in src, m.module


def test_results_carry_the_metrics_own_unit_and_aggregation(tiny) -> None:
    res = evaluate([tiny], metrics=None)
    for name, r in res.results["tiny"].items():
        m = METRICS[name]
        assert (r.name, r.unit, r.aggregation) == (m.name, m.unit, m.aggregation)


def test_a_corpus_metric_without_a_corpus_is_a_clear_error(tiny) -> None:
    ctx = EvalContext(tiny, None, None)
    with pytest.raises(CorpusError, match="metric 'bytes_per_token' needs a corpus"):
        METRICS["bytes_per_token"](ctx)
    # vocabulary metrics run on the tokenizer alone
    assert isinstance(METRICS["unreachable_tokens"](ctx), MetricResult)


def test_merged_shards_equal_one_pass(smollm2) -> None:
    """Two shards merged give the one-pass statistics exactly (the word sample differs by design)."""
    par = demo_parallel()
    langs = sorted(par)
    sources = [(lang, list(par[lang])) for lang in langs]
    stats = ("words", "digits", "round_trip")
    whole_c, (whole,) = stream_corpus([smollm2], sources, name="parallel", stats=stats, chunk_docs=5)
    shards = [
        reduce_shard([smollm2], sources[:3], stats=stats, chunk_docs=5),
        reduce_shard([smollm2], sources[3:], stats=stats, chunk_docs=5, shard=1),
    ]
    c, (t,) = merge_shards(shards, name="parallel")
    assert c.lang_names == whole_c.lang_names and c.n_docs == whole_c.n_docs
    for f in ("doc_lang", "doc_bytes", "doc_chars", "doc_words"):
        assert np.array_equal(getattr(c, f), getattr(whole_c, f)), f
    for f in ("doc_tokens", "doc_unk", "round_trip_ok", "word_tokens", "word_continued", "counts"):
        assert np.array_equal(getattr(t, f), getattr(whole, f)), f
    assert t.digits is not None and whole.digits is not None
    assert t.digits.summary() == whole.digits.summary()
    assert len(t.chunk_times) == len(whole.chunk_times) + 1  # one more partial batch at the shard seam


def test_eval_table_fits_80_columns_without_cutting_units(smollm2, tiny, tiny2) -> None:
    docs = [Document(t, "x", None) for t in ["Hello world, 12345 apples.", "Ein kleiner Test: 3,14159."] * 20]
    res = evaluate([smollm2, tiny, tiny2], docs, metrics=["compression", "consistency", "entropy", "speed"])
    console = Console(width=80, record=True, color_system=None)
    console.print(res.table())
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    for m in res.metrics:
        if any(res.results[n][m.name].value is not None for n in res.names):
            assert m.name in text
            assert all(word in flat for word in m.unit.split()), m.unit
