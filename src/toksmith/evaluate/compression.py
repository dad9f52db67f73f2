"""Compression: UTF-8 bytes and characters of text per token.

Two aggregations: the ratio of totals (sum of bytes / sum of tokens over the corpus, the number that
predicts cost) and the mean over documents of each document's ratio (every document weighs the same).
Bytes are the UTF-8 bytes of the text as read (no normalisation); tokens are those of `encode` without
BOS/EOS. Documents with no tokens are left out of the means.
"""

from __future__ import annotations

import numpy as np

from toksmith.evaluate.registry import EvalContext, MetricResult, ratio_result, register

__all__ = ["bytes_per_token", "chars_per_token", "bytes_per_token_doc_mean", "chars_per_token_doc_mean"]


@register(
    "bytes_per_token", family="compression", unit="bytes/token", aggregation="ratio of totals over documents"
)
def bytes_per_token(ctx: EvalContext) -> MetricResult:
    """UTF-8 bytes of text per token (higher compresses better)."""
    enc = ctx.text
    assert enc is not None
    return ratio_result("bytes_per_token", enc, enc.corpus.doc_bytes, enc.doc_tokens, group=enc.corpus.name)


@register(
    "chars_per_token",
    family="compression",
    unit="characters/token",
    aggregation="ratio of totals over documents",
)
def chars_per_token(ctx: EvalContext) -> MetricResult:
    """Unicode code points of text per token."""
    enc = ctx.text
    assert enc is not None
    return ratio_result("chars_per_token", enc, enc.corpus.doc_chars, enc.doc_tokens, group=enc.corpus.name)


def _doc_mean(name: str, ctx: EvalContext, amount: np.ndarray) -> MetricResult:
    enc = ctx.text
    assert enc is not None
    tokens = enc.doc_tokens
    has = (tokens > 0).astype(np.float64)
    per_doc = np.divide(amount, tokens, out=np.zeros(len(tokens)), where=tokens > 0)
    return ratio_result(name, enc, per_doc, has, group=enc.corpus.name)


@register(
    "bytes_per_token_doc_mean",
    family="compression",
    unit="bytes/token",
    aggregation="mean over documents of per-document ratio",
)
def bytes_per_token_doc_mean(ctx: EvalContext) -> MetricResult:
    """Bytes per token, averaged over documents."""
    assert ctx.text is not None
    return _doc_mean("bytes_per_token_doc_mean", ctx, ctx.text.corpus.doc_bytes)


@register(
    "chars_per_token_doc_mean",
    family="compression",
    unit="characters/token",
    aggregation="mean over documents of per-document ratio",
)
def chars_per_token_doc_mean(ctx: EvalContext) -> MetricResult:
    """Characters per token, averaged over documents."""
    assert ctx.text is not None
    return _doc_mean("chars_per_token_doc_mean", ctx, ctx.text.corpus.doc_chars)
