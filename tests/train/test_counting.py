"""Pre-token counting reports the UTF-8 bytes it read, on every path (compiled, threaded, Python, SuperBPE)."""

from __future__ import annotations

import pytest

from toksmith.data import demo_parallel
from toksmith.train import Pretokenizer, count_pretokens, train_bpe


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The demo parallel corpus: real translations in scripts of 1-4 UTF-8 bytes per character."""
    out = [d.text for lang, docs in sorted(demo_parallel().items()) for d in docs]
    assert sum(len(t.encode("utf-8")) for t in out) > 1.3 * sum(map(len, out))
    return out


@pytest.mark.parametrize(
    ("preset", "regex", "stage1"),
    [("cl100k", None, None), (None, r"\S+|\s+", None), ("superbpe-stage2", None, "cl100k")],
    ids=["compiled", "python", "superbpe-chunks"],
)
def test_bytes_seen_is_utf8_bytes_after_the_first_sample(texts, preset, regex, stage1) -> None:
    expected = sum(len(t.encode("utf-8")) for t in texts)
    pretok = Pretokenizer.from_options(preset, regex_pattern=regex)
    s1 = Pretokenizer.from_options(stage1) if stage1 else None
    # a small sample: most of the corpus goes through the threaded path that follows it
    res = count_pretokens(texts, pretok, stage1=s1, threads=2, sample_bytes=4096)
    assert res.bytes_seen == expected


def test_training_stats_report_corpus_bytes(texts) -> None:
    tb = train_bpe(texts, vocab_size=300, regex_pattern=r"\S+|\s+", special_tokens=())
    assert tb.stats["corpus_bytes"] == sum(len(t.encode("utf-8")) for t in texts)
