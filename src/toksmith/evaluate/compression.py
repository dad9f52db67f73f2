"""Compression: UTF-8 bytes and characters of text per token.

Two aggregations: the ratio of totals (sum of bytes / sum of tokens over the corpus, the number that
predicts cost) and the mean over documents of each document's ratio (every document weighs the same).
Bytes are the UTF-8 bytes of the text as read (no normalisation); tokens are those of `encode` without
BOS/EOS. Documents with no tokens are left out of the means.
"""

from __future__ import annotations

from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric

__all__ = ["bytes_per_token", "chars_per_token", "bytes_per_token_doc_mean", "chars_per_token_doc_mean"]


@metric("bytes_per_token", family="compression", unit="bytes/token", aggregation="ratio of totals over documents")
def bytes_per_token(m: Metric, ctx: EvalContext) -> MetricResult:
    """UTF-8 bytes of text per token (higher compresses better)."""
    enc = m.text(ctx)
    return m.ratio(enc, enc.corpus.doc_bytes, enc.doc_tokens)


@metric(
    "chars_per_token",
    family="compression",
    unit="characters/token",
    aggregation="ratio of totals over documents",
)
def chars_per_token(m: Metric, ctx: EvalContext) -> MetricResult:
    """Unicode code points of text per token."""
    enc = m.text(ctx)
    return m.ratio(enc, enc.corpus.doc_chars, enc.doc_tokens)


def _doc_mean(m: Metric, ctx: EvalContext, field: str) -> MetricResult:
    enc = m.text(ctx)
    return m.ratio(enc, getattr(enc, field), enc.docs_with_tokens)


@metric(
    "bytes_per_token_doc_mean",
    family="compression",
    unit="bytes/token",
    aggregation="mean over documents of per-document ratio",
)
def bytes_per_token_doc_mean(m: Metric, ctx: EvalContext) -> MetricResult:
    """Bytes per token, averaged over documents."""
    return _doc_mean(m, ctx, "bytes_per_token_sum")


@metric(
    "chars_per_token_doc_mean",
    family="compression",
    unit="characters/token",
    aggregation="mean over documents of per-document ratio",
)
def chars_per_token_doc_mean(m: Metric, ctx: EvalContext) -> MetricResult:
    """Characters per token, averaged over documents."""
    return _doc_mean(m, ctx, "chars_per_token_sum")
