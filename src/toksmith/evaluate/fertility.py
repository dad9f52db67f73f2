"""Fertility over UAX #29 words, and the continued-word rate (Rust et al. 2021).

Words come from `toksmith.evaluate.words` (Unicode default word boundaries; a word is a segment with a
letter or number). A token counts for every word whose bytes it overlaps, so a token spanning a space
and a word (` the`) counts once, for that word, and a token spanning two words counts for both.
Fertility = sum over words of overlapping tokens / number of words; the continued-word rate is the
share of words overlapped by 2+ tokens.
"""

from __future__ import annotations

from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric

__all__ = ["fertility", "continued_word_rate"]

_NOTE = (
    "words: UAX #29 default word boundaries (each Han/Hiragana character and each Thai grapheme is a word)"
)


@metric(
    "fertility", family="fertility", unit="tokens/word", aggregation="ratio of totals over words", stats=("words",)
)
def fertility(m: Metric, ctx: EvalContext) -> MetricResult:
    """Tokens per UAX #29 word."""
    enc = m.text(ctx)
    words = enc.corpus.doc_words
    return m.ratio(enc, enc.word_tokens, words, notes=[_NOTE], details={"words": int(words.sum())})


@metric(
    "continued_word_rate",
    family="fertility",
    unit="share of words",
    aggregation="ratio of totals over words",
    stats=("words",),
)
def continued_word_rate(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of words split into two or more tokens."""
    enc = m.text(ctx)
    return m.ratio(enc, enc.word_continued, enc.corpus.doc_words, notes=[_NOTE])
