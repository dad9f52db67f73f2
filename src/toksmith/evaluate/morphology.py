"""Morphological alignment: MorphScore and boundary precision/recall/F1 against SIGMORPHON 2022.

Each word is encoded alone, as it appears inside a sentence: preceded by a space (tokenizers that add
a dummy-prefix space get the bare word). Token boundaries are read inside the word's bytes only, so the
space is never a boundary.

- MorphScore (Arnett et al.; data `morphscore/<language>_morph_data.csv`, columns full_word, pt1, rest):
  a word scores 1 when a token boundary falls exactly after `pt1`; words the tokenizer keeps in one
  token are excluded. Value: share of scored words (micro over words; per language as well).
- SIGMORPHON 2022 word-level dev sets (`<lang>.word.dev.tsv`, morphs separated by " @@"): gold
  boundaries between morphs, predicted boundaries between tokens; micro precision, recall and F1 over
  words. Only rows whose morphs concatenate to the word (surface segmentations) are used; canonical
  rows (`nominate @@ed` for *nominated*) are counted and skipped.

At most `MAX_WORDS` words per language are used (a fixed-seed sample), to keep the suite fast.
Intervals are bootstrapped over all words pooled; per-language values carry no interval.
"""

from __future__ import annotations

import csv
from functools import cache
from itertools import accumulate
from pathlib import Path

import numpy as np

from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.encoded import TextCorpus, encode_corpus
from toksmith.evaluate.registry import EvalContext, MetricResult, register
from toksmith.tokenizers.base import Tokenizer

__all__ = ["MAX_WORDS", "word_boundaries_of", "load_morphscore", "load_sigmorphon"]

MAX_WORDS = 500


def word_boundaries_of(tok: Tokenizer, words: list[str]) -> tuple[list[list[int]], np.ndarray]:
    """Token boundaries strictly inside each word (UTF-8 byte offsets) and the tokens covering each word.

    A tokenizer that splits " walked" into " walk" + "ed" gives ([[4]], [2]) for ["walked"].
    """
    prefix = "" if tok.adds_space_prefix else " "
    corpus = TextCorpus.from_texts([prefix + w for w in words])
    enc = encode_corpus(tok, corpus, chunk_docs=1 << 20)
    pre = len(prefix.encode())
    starts = corpus.doc_start + pre
    ends = corpus.doc_end
    span, pos = enc.internal_boundaries(starts, ends)
    out: list[list[int]] = [[] for _ in words]
    for s, p in zip(span.tolist(), pos.tolist(), strict=True):
        out[s].append(p)
    return out, enc.tokens_in(starts, ends)


@cache
def load_morphscore(directory: Path) -> dict[str, list[tuple[str, int]]]:
    """language -> [(word, gold boundary byte offset)], sampled; rows where pt1 is no prefix dropped."""
    out: dict[str, list[tuple[str, int]]] = {}
    for f in sorted(directory.glob("*_morph_data.csv")):
        lang = f.name.removesuffix("_morph_data.csv")
        with f.open(encoding="utf-8", newline="") as fh:
            records = list(csv.reader(fh))
        if not records:
            continue
        head = records[0]
        try:
            iw, ip = head.index("full_word"), head.index("pt1")
        except ValueError:
            continue
        rows = []
        for k in _order(len(records) - 1, 1):
            rec = records[k + 1]
            if len(rec) <= max(iw, ip):
                continue
            w, p1 = rec[iw].strip(), rec[ip].strip()
            if w and p1 and w.startswith(p1) and len(p1) < len(w):
                rows.append((w, len(p1.encode())))
                if len(rows) == MAX_WORDS:
                    break
        out[lang] = rows
    return out


def _order(n: int, seed: int) -> list[int]:
    """A fixed-seed order of range(n), for sampling up to MAX_WORDS usable rows."""
    return np.random.default_rng(seed).permutation(n).tolist()


@cache
def load_sigmorphon(directory: Path) -> dict[str, tuple[list[tuple[str, tuple[int, ...]]], int]]:
    """language -> ([(word, gold boundary byte offsets)], canonical rows skipped while sampling), sampled."""
    out: dict[str, tuple[list[tuple[str, tuple[int, ...]]], int]] = {}
    for f in sorted(directory.glob("*.word.dev.tsv")):
        lang = f.name.split(".", 1)[0]
        lines = f.read_text(encoding="utf-8").splitlines()
        rows = []
        skipped = 0
        for k in _order(len(lines), 2):
            parts = lines[k].split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            morphs = parts[1].split(" @@")
            if "".join(morphs) != parts[0]:
                skipped += 1
                continue
            offs = list(accumulate(len(m.encode()) for m in morphs))[:-1]
            rows.append((parts[0], tuple(offs)))
            if len(rows) == MAX_WORDS:
                break
        out[lang] = (rows, skipped)
    return out


def _data(ctx: EvalContext, sub: str) -> Path | None:
    if ctx.data_dir is None:
        return None
    d = Path(ctx.data_dir) / sub
    return d if d.is_dir() else None


def _skip(name: str, unit: str, agg: str, sub: str) -> MetricResult:
    return MetricResult(name, None, unit, agg, notes=[f"skipped: data folder '{sub}' not found"])


@register(
    "morphscore",
    family="morphology",
    unit="share of words",
    needs="morphscore",
    aggregation="micro over words not kept whole (at most 500 per language)",
)
def morphscore(ctx: EvalContext) -> MetricResult:
    """Share of words with a token boundary at the gold morpheme boundary."""
    agg = "micro over words not kept whole (at most 500 per language)"
    d = _data(ctx, "morphscore")
    if d is None:
        return _skip("morphscore", "share of words", agg, "morphscore")
    data = load_morphscore(d)
    words = [w for rows in data.values() for w, _ in rows]
    gold = np.array([g for rows in data.values() for _, g in rows], dtype=np.int64)
    lang_of = np.repeat(np.arange(len(data)), [len(r) for r in data.values()])
    bounds, ntok = word_boundaries_of(ctx.tokenizer, words)
    scored = (ntok >= 2).astype(np.float64)
    hit = np.array([g in b for g, b in zip(gold.tolist(), bounds, strict=True)], dtype=np.float64) * scored
    r = Ratio.of(("morphscore", "all"), hit, scored)
    res = MetricResult(
        "morphscore", r.point(), "share of words", agg, per_language={}, units=int(scored.sum())
    )
    res.ratios[(None, "value")] = r
    assert res.per_language is not None
    for li, lang in enumerate(data):
        m = lang_of == li
        rl = Ratio.of(("morphscore", lang), hit[m], scored[m])
        res.per_language[lang] = {
            "value": rl.point(),
            "ci": None,
            "units": int(scored[m].sum()),
            "words": int(m.sum()),
        }
    res.notes.append(
        f"{len(words)} words in {len(data)} languages; {int(len(words) - scored.sum())} kept whole "
        "and excluded"
    )
    return res


def _prf(ctx: EvalContext) -> dict | None:
    if "sigmorphon" in ctx.cache:
        return ctx.cache["sigmorphon"]
    d = _data(ctx, "sigmorphon2022")
    if d is None:
        ctx.cache["sigmorphon"] = None
        return None
    data = load_sigmorphon(d)
    words, golds, langs = [], [], []
    for li, (rows, _) in enumerate(data.values()):
        for w, g in rows:
            words.append(w)
            golds.append(g)
            langs.append(li)
    bounds, _ = word_boundaries_of(ctx.tokenizer, words)
    tp = np.array([len(set(b) & set(g)) for b, g in zip(bounds, golds, strict=True)], dtype=np.float64)
    pred = np.array([len(set(b)) for b in bounds], dtype=np.float64)
    gold = np.array([len(g) for g in golds], dtype=np.float64)
    out = {"data": data, "tp": tp, "pred": pred, "gold": gold, "lang": np.array(langs)}
    ctx.cache["sigmorphon"] = out
    return out


def _boundary_metric(ctx: EvalContext, name: str, kind: str) -> MetricResult:
    agg = "micro over words (at most 500 per language)"
    p = _prf(ctx)
    if p is None:
        return _skip(name, "share of boundaries", agg, "sigmorphon2022")
    tp, pred, gold = p["tp"], p["pred"], p["gold"]
    if kind == "precision":
        num, den = tp, pred
    elif kind == "recall":
        num, den = tp, gold
    else:
        num, den = 2 * tp, pred + gold
    r = Ratio.of(("sigmorphon", "all"), num, den)
    res = MetricResult(name, r.point(), "share of boundaries", agg, per_language={}, units=len(tp))
    res.ratios[(None, "value")] = r
    assert res.per_language is not None
    for li, (lang, (_, skipped)) in enumerate(p["data"].items()):
        m = p["lang"] == li
        rl = Ratio.of(("sigmorphon", lang), num[m], den[m])
        res.per_language[lang] = {
            "value": rl.point(),
            "ci": None,
            "units": int(m.sum()),
            "skipped_canonical_rows": skipped,
        }
    res.notes.append("surface segmentations only (morphs concatenate to the word); a fixed-seed sample")
    return res


@register(
    "morph_boundary_precision",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_precision(ctx: EvalContext) -> MetricResult:
    """Share of token boundaries inside words that are gold morpheme boundaries."""
    return _boundary_metric(ctx, "morph_boundary_precision", "precision")


@register(
    "morph_boundary_recall",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_recall(ctx: EvalContext) -> MetricResult:
    """Share of gold morpheme boundaries that are token boundaries."""
    return _boundary_metric(ctx, "morph_boundary_recall", "recall")


@register(
    "morph_boundary_f1",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_f1(ctx: EvalContext) -> MetricResult:
    """F1 of token boundaries against gold morpheme boundaries: 2TP / (2TP + FP + FN)."""
    return _boundary_metric(ctx, "morph_boundary_f1", "f1")
