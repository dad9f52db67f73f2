"""Vocabulary audit: utilisation on the corpus, unreachable and partial-UTF-8 tokens, script shares.

Script of a token (Qtok-style): the script of its letters, read from the first word of each letter's
Unicode name (`unicodedata.name`: LATIN, CYRILLIC, CJK -> Han, HIRAGANA/KATAKANA -> Kana, ...); tokens
with letters of two scripts are `mixed`; tokens without letters are `digits`, `whitespace` or
`punctuation/symbols`; tokens that are not valid UTF-8 alone are `partial-utf8`; byte-fallback tokens
are `byte`.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

from toksmith.evaluate.registry import EvalContext, MetricResult, register
from toksmith.vocab import TokenKind, Vocab

__all__ = ["script_of_char", "token_category", "vocab_scripts"]

_SCRIPT_ALIASES = {
    "CJK": "Han",
    "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
    "HALFWIDTH": "Kana",
    "HANGUL": "Hangul",
    "FULLWIDTH": "Latin",
}


@cache
def script_of_char(c: str) -> str | None:
    """Script name of a letter or mark, None for anything else.

    >>> script_of_char("ж"), script_of_char("語"), script_of_char("1")
    ('Cyrillic', 'Han', None)
    """
    cat = unicodedata.category(c)
    if cat[0] not in "LM":
        return None
    name = unicodedata.name(c, "")
    if not name:
        return "Other"
    first = name.split(" ", 1)[0]
    if first in _SCRIPT_ALIASES:
        return _SCRIPT_ALIASES[first]
    if cat[0] == "M" and first in ("COMBINING", "VARIATION"):
        return None
    return first.capitalize()


def token_category(b: bytes, kind: int) -> str:
    """Script or category of one token's bytes (see the module docstring).

    >>> token_category(b" the", 0), token_category(b"\\xe4\\xb8", 0), token_category(b" 12", 0)
    ('Latin', 'partial-utf8', 'digits')
    """
    if kind == TokenKind.BYTE:
        return "byte"
    if b.isascii():
        if any(0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A for c in b):
            return "Latin"
        t = b.strip()
        if not t:
            return "whitespace"
        return "digits" if t.isdigit() else "punctuation/symbols"
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return "partial-utf8"
    scripts = {script_of_char(c) for c in set(s)}
    scripts.discard(None)
    if len(scripts) == 1:
        return scripts.pop()  # type: ignore[return-value]
    if scripts:
        return "mixed"
    t = s.strip()
    if not t:
        return "whitespace"
    if all(unicodedata.category(ch) == "Nd" for ch in t):
        return "digits"
    return "punctuation/symbols"


_SCRIPTS_CACHE: dict[str, dict[str, int]] = {}


def vocab_scripts(vocab: Vocab) -> dict[str, int]:
    """Text tokens per script/category, most common first."""
    key = vocab.fingerprint
    if key not in _SCRIPTS_CACHE:
        counts: dict[str, int] = {}
        for i in vocab.text_ids.tolist():
            cat = token_category(vocab.tokens[i], int(vocab.kinds[i]))
            counts[cat] = counts.get(cat, 0) + 1
        _SCRIPTS_CACHE[key] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return _SCRIPTS_CACHE[key]


def _show(vocab: Vocab, ids: np.ndarray, k: int = 12) -> list[str]:
    return [vocab.tokens[i].decode("utf-8", "backslashreplace") for i in ids[:k].tolist()]


@register(
    "vocab_utilisation",
    family="vocabulary",
    unit="share of text tokens",
    aggregation="distinct ids seen on the corpus / text tokens in the vocabulary",
)
def vocab_utilisation(ctx: EvalContext) -> MetricResult:
    """Share of the vocabulary's text tokens that occur at least once on the corpus."""
    assert ctx.text is not None
    v = ctx.tokenizer.vocab
    text_ids = v.text_ids
    seen = ctx.text.counts[text_ids] > 0
    reach = v.reachable[text_ids]
    n_reach = int(reach.sum())
    return MetricResult(
        "vocab_utilisation",
        float(seen.mean()) if len(seen) else None,
        "share of text tokens",
        "distinct ids seen on the corpus / text tokens in the vocabulary",
        details={
            "seen": int(seen.sum()),
            "text_tokens": int(len(text_ids)),
            "reachable_text_tokens": n_reach,
            "share_of_reachable": float((seen & reach).sum() / n_reach) if n_reach else None,
        },
        notes=["whole-corpus statistic; grows with corpus size"],
    )


@register(
    "unreachable_tokens",
    family="vocabulary",
    unit="tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
)
def unreachable_tokens(ctx: EvalContext) -> MetricResult:
    """Text tokens the tokenizer's own encoder can never emit from plain text."""
    v = ctx.tokenizer.vocab
    ids = v.text_ids[~v.reachable[v.text_ids]]
    return MetricResult(
        "unreachable_tokens",
        int(len(ids)),
        "tokens",
        "count over the vocabulary",
        details={"examples": _show(v, ids)},
        notes=["reachable: encoding the token's own text gives exactly that id"],
    )


@register(
    "partial_utf8_tokens",
    family="vocabulary",
    unit="tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
)
def partial_utf8_tokens(ctx: EvalContext) -> MetricResult:
    """Text tokens whose bytes are not valid UTF-8 on their own (byte-fallback tokens not counted)."""
    v = ctx.tokenizer.vocab
    mask = v.partial_utf8 & (v.kinds != TokenKind.BYTE)
    ids = np.flatnonzero(mask)
    details: dict = {
        "byte_fallback_tokens": int((v.kinds == TokenKind.BYTE).sum()),
        "examples": _show(v, ids),
    }
    if ctx.text is not None:
        details["emitted_on_corpus"] = int(ctx.text.counts[mask].sum())
    return MetricResult(
        "partial_utf8_tokens", int(len(ids)), "tokens", "count over the vocabulary", details=details
    )


@register(
    "script_shares",
    family="vocabulary",
    unit="share of text tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
)
def script_shares(ctx: EvalContext) -> MetricResult:
    """Shares of the vocabulary's text tokens by script or category."""
    counts = vocab_scripts(ctx.tokenizer.vocab)
    total = sum(counts.values()) or 1
    return MetricResult(
        "script_shares",
        None,
        "share of text tokens",
        "count over the vocabulary",
        details={"shares": {k: c / total for k, c in counts.items()}, "counts": counts},
    )
