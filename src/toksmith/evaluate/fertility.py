"""Fertility over UAX #29 words, and the continued-word rate (Rust et al. 2021).

Words come from `toksmith.evaluate.words` (Unicode default word boundaries; a word is a segment with a
letter or number). A token counts for every word whose bytes it overlaps, so a token spanning a space
and a word (` the`) counts once, for that word, and a token spanning two words counts for both.
Fertility = sum over words of overlapping tokens / number of words; the continued-word rate is the
share of words overlapped by 2+ tokens.
"""

from __future__ import annotations

import numpy as np

from toksmith.evaluate.registry import EvalContext, MetricResult, ratio_result, register
from toksmith.evaluate.stream import TokenStats

__all__ = ["fertility", "continued_word_rate"]

_NOTE = (
    "words: UAX #29 default word boundaries (each Han/Hiragana character and each Thai grapheme is a word)"
)


def _per_doc(enc: TokenStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(words, tokens overlapping words, words split into 2+ tokens) per document."""
    words, toks, cont = enc.corpus.doc_words, enc.word_tokens, enc.word_continued
    assert words is not None and toks is not None and cont is not None
    return words, toks, cont


@register(
    "fertility", family="fertility", unit="tokens/word", aggregation="ratio of totals over words", stats=("words",)
)
def fertility(ctx: EvalContext) -> MetricResult:
    """Tokens per UAX #29 word."""
    enc = ctx.text
    assert enc is not None
    words, toks, _ = _per_doc(enc)
    return ratio_result(
        "fertility",
        enc,
        toks,
        words,
        group=enc.corpus.name,
        notes=[_NOTE],
        details={"words": int(words.sum())},
    )


@register(
    "continued_word_rate",
    family="fertility",
    unit="share of words",
    aggregation="ratio of totals over words",
    stats=("words",),
)
def continued_word_rate(ctx: EvalContext) -> MetricResult:
    """Share of words split into two or more tokens."""
    enc = ctx.text
    assert enc is not None
    words, _, cont = _per_doc(enc)
    return ratio_result("continued_word_rate", enc, cont, words, group=enc.corpus.name, notes=[_NOTE])
