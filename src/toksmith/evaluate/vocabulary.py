"""Vocabulary audit: utilisation on the corpus, unreachable and partial-UTF-8 tokens, script shares.

Script of a token (Qtok-style): the script of its letters, read from the first word of each letter's
Unicode name (`unicodedata.name`: LATIN, CYRILLIC, CJK -> Han, HIRAGANA/KATAKANA -> Kana, ...); tokens
with letters of two scripts are `mixed`; tokens without letters are `digits`, `whitespace` or
`punctuation/symbols`; tokens that are not valid UTF-8 alone are `partial-utf8`; byte-fallback tokens
are `byte`.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import cache

import numpy as np

from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric
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
    """Text tokens per script/category, most common first (`token_category` of every text token, vectorised)."""
    key = vocab.fingerprint
    if key not in _SCRIPTS_CACHE:
        ids = vocab.text_ids
        toks = [vocab.tokens[i] for i in ids.tolist()]
        n = len(toks)
        lens = np.fromiter(map(len, toks), dtype=np.int64, count=n)
        bounds = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=bounds[1:])
        buf = np.frombuffer(b"".join(toks), dtype=np.uint8)
        cats = np.full(n, None, dtype=object)
        is_byte = vocab.kinds[ids] == TokenKind.BYTE
        cats[is_byte] = "byte"
        high = _segment_sums((buf >= 0x80).astype(np.int64), bounds)
        letters = _segment_sums(((buf | 0x20) - np.uint8(ord("a")) < 26).astype(np.int64), bounds)
        ascii_tok = ~is_byte & (high == 0)
        cats[ascii_tok & (letters > 0)] = "Latin"
        rest = np.flatnonzero(ascii_tok & (letters == 0))
        text = ~is_byte & (high > 0)
        partial = vocab.partial_utf8[ids]
        cats[text & partial] = "partial-utf8"
        valid = np.flatnonzero(text & ~partial)
        if len(valid):
            vb = bounds[valid]
            ve = bounds[valid + 1]
            joined = b"".join(toks[i] for i in valid.tolist())
            cp = np.frombuffer(joined.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
            vbuf = np.frombuffer(joined, dtype=np.uint8)
            starts_char = (vbuf & 0xC0) != 0x80
            nchar = _segment_sums(starts_char.astype(np.int64), np.concatenate(([0], np.cumsum(ve - vb))))
            uniq, inv = np.unique(cp, return_inverse=True)
            names: list[str] = []
            index: dict[str, int] = {}
            sid = np.empty(len(uniq), dtype=np.int64)
            for k, c in enumerate(uniq.tolist()):
                sc = script_of_char(chr(c))
                if sc is None:
                    sid[k] = -1
                else:
                    sid[k] = index.setdefault(sc, len(names))
                    if sid[k] == len(names):
                        names.append(sc)
            per = sid[inv]
            first = np.concatenate(([0], np.cumsum(nchar)[:-1]))
            hi = np.maximum.reduceat(per, first)
            lo = np.minimum.reduceat(np.where(per < 0, len(names) + 1, per), first)
            single = (hi >= 0) & (lo == hi)
            cats[valid[single]] = np.array(names + [""], dtype=object)[hi[single]]
            cats[valid[(hi >= 0) & (lo != hi)]] = "mixed"
            rest = np.concatenate((rest, valid[hi < 0]))
        for i in rest.tolist():
            cats[i] = token_category(toks[i], int(vocab.kinds[ids[i]]))
        counts = Counter(cats.tolist())
        _SCRIPTS_CACHE[key] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return _SCRIPTS_CACHE[key]


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    cum = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=cum[1:])
    return cum[bounds[1:]] - cum[bounds[:-1]]


def _show(vocab: Vocab, ids: np.ndarray, k: int = 12) -> list[str]:
    return [vocab.tokens[i].decode("utf-8", "backslashreplace") for i in ids[:k].tolist()]


@metric(
    "vocab_utilisation",
    family="vocabulary",
    unit="share of text tokens",
    aggregation="distinct ids seen on the corpus / text tokens in the vocabulary",
)
def vocab_utilisation(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of the vocabulary's text tokens that occur at least once on the corpus."""
    v = ctx.tokenizer.vocab
    text_ids = v.text_ids
    seen = m.text(ctx).counts[text_ids] > 0
    reach = v.reachable[text_ids]
    n_reach = int(reach.sum())
    return m.result(
        float(seen.mean()) if len(seen) else None,
        details={
            "seen": int(seen.sum()),
            "text_tokens": int(len(text_ids)),
            "reachable_text_tokens": n_reach,
            "share_of_reachable": float((seen & reach).sum() / n_reach) if n_reach else None,
        },
        notes=["whole-corpus statistic; grows with corpus size"],
    )


@metric(
    "unreachable_tokens",
    family="vocabulary",
    unit="tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
)
def unreachable_tokens(m: Metric, ctx: EvalContext) -> MetricResult:
    """Text tokens the tokenizer's own encoder can never emit from plain text."""
    v = ctx.tokenizer.vocab
    ids = v.text_ids[~v.reachable[v.text_ids]]
    return m.result(
        int(len(ids)),
        details={"examples": _show(v, ids)},
        notes=["reachable: encoding the token's own text gives exactly that id"],
    )


@metric(
    "partial_utf8_tokens",
    family="vocabulary",
    unit="tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
)
def partial_utf8_tokens(m: Metric, ctx: EvalContext) -> MetricResult:
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
    return m.result(int(len(ids)), details=details)


@metric(
    "script_shares",
    family="vocabulary",
    unit="share of text tokens",
    aggregation="count over the vocabulary",
    needs="vocab",
    prepare=lambda tok: vocab_scripts(tok.vocab),
)
def script_shares(m: Metric, ctx: EvalContext) -> MetricResult:
    """Shares of the vocabulary's text tokens by script or category."""
    counts = vocab_scripts(ctx.tokenizer.vocab)
    total = sum(counts.values()) or 1
    return m.result(
        None,
        details={"shares": {k: c / total for k, c in counts.items()}, "counts": counts},
    )
