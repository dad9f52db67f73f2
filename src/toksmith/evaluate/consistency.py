"""Consistency: round trip, unknown tokens, stability of a word's split, alternative encodings.

- round_trip: share of documents whose concatenated token bytes equal the document's UTF-8 bytes
  (decoding whole sequences, never token by token).
- unk_rate: unknown tokens per token; `unk_byte_share` in the details is the share of text bytes that
  documents with unknown tokens fail to reproduce.
- stability_*: on a fixed-seed sample of corpus words (letters only, 3+ characters) the token
  boundaries inside the word plus whether the word's end is a boundary, compared between the word
  after a space (" word") and the word at the start of the text ("word"), capitalised (" Word") and
  followed by punctuation (" word,"). Value: share of words whose boundaries do not change.
- alternative_encodings: for sampled words, the number of distinct token-id sequences whose bytes
  are exactly " word" (dynamic programming over the vocabulary's text tokens; the tokenizer emits one
  of them). Value: median over words.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.encoded import Encoded
from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, Probe, metric, probe_result
from toksmith.vocab import Vocab

__all__ = ["count_encodings", "round_trip", "unk_rate"]


@metric(
    "round_trip",
    family="consistency",
    unit="share of documents",
    aggregation="mean over documents of exact byte equality",
    stats=("round_trip",),
)
def round_trip(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of documents with decode_bytes(encode(text)) == text.encode()."""
    enc = m.text(ctx)
    ok = enc.round_trip_ok
    docs = enc.corpus.unit_docs
    examples = list(enc.failed_examples)
    return m.ratio(
        enc,
        ok.astype(np.float64),
        docs.astype(np.float64),
        details={"failed_documents": int(docs.sum() - ok.sum()), "examples": examples},
    )


@metric(
    "unk_rate",
    family="consistency",
    unit="unknown tokens/token",
    aggregation="ratio of totals over documents",
)
def unk_rate(m: Metric, ctx: EvalContext) -> MetricResult:
    """Unknown tokens per token."""
    enc = m.text(ctx)
    total = float(enc.corpus.doc_bytes.sum())
    share = float(enc.doc_unk_bytes.sum()) / total if total else 0.0
    return m.ratio(
        enc,
        enc.doc_unk,
        enc.doc_tokens,
        details={"unk_byte_share": share, "unk_tokens": int(enc.doc_unk.sum())},
    )


_VARIANTS = ("leading_space", "capital", "punctuation")


def _stability_words(ctx: EvalContext) -> list[str]:
    return ctx.text.corpus.word_texts_sample if ctx.text is not None else []


def _stability_texts(ctx: EvalContext) -> list[str] | None:
    words = _stability_words(ctx)
    if not words:
        return None
    caps = [w[0].upper() + w[1:] for w in words]
    return (
        [" " + w for w in words]
        + list(words)
        + [" " + c for c in caps]
        + [" " + w + "," for w in words]
    )


def _stability_finish(ctx: EvalContext, enc: Encoded | None) -> dict[str, Any] | None:
    """Per word and variant: the inner boundaries and whether the word's end is a boundary."""
    words = _stability_words(ctx)
    if enc is None or not words:
        return None
    n = len(words)
    wl = np.array([len(w.encode()) for w in words], dtype=np.int64)
    caps = [w[0].upper() + w[1:] for w in words]
    cap_ok = np.array([len(c.encode()) == k and c != w for c, w, k in zip(caps, words, wl.tolist(), strict=True)])
    offs = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64), np.ones(n, np.int64), np.ones(n, np.int64)])
    starts = enc.corpus.doc_start + offs
    ends = starts + np.tile(wl, 4)
    span, pos = enc.internal_boundaries(starts, ends)
    _, te = enc.spans
    k = np.searchsorted(te, ends, side="left")
    end_ok = (k < len(te)) & (te[np.minimum(k, len(te) - 1)] == ends)
    # a split = its distinct inner boundaries (as a sorted tuple) and whether the end is a boundary
    inner: list[list[int]] = [[] for _ in range(4 * n)]
    for s, p in zip(span.tolist(), pos.tolist(), strict=True):
        inner[s].append(p)
    b = [(tuple(x), e) for x, e in zip(inner, end_ok.tolist(), strict=True)]
    base = b[:n]
    out: dict[str, Any] = {"words": n}
    for v, name in enumerate(_VARIANTS, start=1):
        same = np.array([x == y for x, y in zip(base, b[v * n : (v + 1) * n], strict=True)], dtype=np.float64)
        valid = cap_ok.astype(np.float64) if name == "capital" else np.ones(n)
        out[name] = (same * valid, valid)
    return out


STABILITY_PROBE = Probe(
    "stability",
    _stability_texts,
    _stability_finish,
    metrics=("stability_leading_space", "stability_capital", "stability_punctuation"),
    after_corpus=True,
)


def _stability_metric(m: Metric, ctx: EvalContext, key: str) -> MetricResult:
    s = probe_result(ctx, STABILITY_PROBE)
    if s is None:
        return m.skipped("no words in the corpus")
    num, den = s[key]
    return m.resampled(Ratio.of(("words",), num, den), units=int(den.sum()))


@metric(
    "stability_leading_space",
    family="consistency",
    unit="share of words",
    aggregation="share of sampled corpus words (fixed seed, at most 400)",
    stats=("word_sample",),
)
def stability_leading_space(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of words split the same at the start of a text as after a space."""
    return _stability_metric(m, ctx, "leading_space")


@metric(
    "stability_capital",
    family="consistency",
    unit="share of words",
    aggregation="share of sampled corpus words (fixed seed, at most 400)",
    stats=("word_sample",),
)
def stability_capital(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of words split the same when capitalised."""
    return _stability_metric(m, ctx, "capital")


@metric(
    "stability_punctuation",
    family="consistency",
    unit="share of words",
    aggregation="share of sampled corpus words (fixed seed, at most 400)",
    stats=("word_sample",),
)
def stability_punctuation(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of words split the same when followed by a comma."""
    return _stability_metric(m, ctx, "punctuation")


_TOKEN_SETS: dict[str, tuple[dict[bytes, int], int]] = {}


def _token_set(vocab: Vocab) -> tuple[dict[bytes, int], int]:
    """(text token bytes -> number of ids with those bytes, longest token), cached by fingerprint."""
    key = vocab.fingerprint
    if key not in _TOKEN_SETS:
        toks = vocab.tokens
        mult = Counter(toks[i] for i in vocab.text_ids.tolist())
        mult.pop(b"", None)
        _TOKEN_SETS[key] = (dict(mult), max(map(len, mult), default=0))
    return _TOKEN_SETS[key]


def count_encodings(data: bytes, vocab: Vocab) -> int:
    """Number of distinct token-id sequences (text tokens only) whose bytes concatenate to `data`."""
    mult, longest = _token_set(vocab)
    n = len(data)
    ways = [0] * (n + 1)
    ways[n] = 1
    for i in range(n - 1, -1, -1):
        total = 0
        for j in range(i + 1, min(n, i + longest) + 1):
            m = mult.get(data[i:j])
            if m and ways[j]:
                total += m * ways[j]
        ways[i] = total
    return ways[0]


@metric(
    "alternative_encodings",
    family="consistency",
    unit="token sequences",
    aggregation="median over sampled corpus words (at most 200)",
    stats=("word_sample",),
    prepare=lambda tok: _token_set(tok.vocab),
)
def alternative_encodings(m: Metric, ctx: EvalContext) -> MetricResult:
    """How many token sequences decode to the same word (non-unique encodings)."""
    if ctx.text is None or not ctx.text.corpus.word_texts_sample:
        return m.skipped("no words in the corpus")
    words = ctx.text.corpus.word_texts_sample[:200]
    counts = [count_encodings((" " + w).encode(), ctx.tokenizer.vocab) for w in words]
    logs = [math.log10(c) if c > 0 else 0.0 for c in counts]
    return m.result(
        float(np.median(counts)),
        units=len(words),
        details={
            "mean_log10": float(np.mean(logs)),
            "max": max(counts),
            "words_with_one_encoding": sum(1 for c in counts if c == 1),
        },
        notes=["sequences of text tokens (byte-fallback tokens included) spelling ' word'"],
    )
