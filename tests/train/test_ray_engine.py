"""`--engine ray`: map-reduce counting over shards trains exactly the tokenizer local counting trains."""

from __future__ import annotations

import pytest

from toksmith.train import train_bpe


@pytest.mark.parametrize("options", [{"preset": "cl100k", "numbers": "r2l3"},
                                     {"regex_pattern": r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+"}])
def test_ray_counting_equals_local(shared_data, local_ray, options):
    lines = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    docs = lines * 3  # several shards of 4,096 documents
    local = train_bpe(docs, vocab_size=1500, **options)
    on_ray = train_bpe(docs, vocab_size=1500, engine="ray", **options)
    assert on_ray.tokenizer_json() == local.tokenizer_json()
    assert on_ray.stats["distinct_pretokens"] == local.stats["distinct_pretokens"]
