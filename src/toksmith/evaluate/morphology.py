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
from collections.abc import Callable
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

from toksmith.cache import cached_arrays
from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.encoded import Encoded, encode_groups
from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, Probe, metric, probe_result
from toksmith.tokenizers.base import Tokenizer
from toksmith.tokenizers.derived import array_text, text_array

__all__ = ["MAX_WORDS", "word_boundaries_of", "load_morphscore", "load_sigmorphon"]

MAX_WORDS = 500


def _prefix(tok: Tokenizer) -> str:
    return "" if tok.adds_space_prefix else " "


def _boundaries(enc: Encoded, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word index, byte offset in the word) of distinct token boundaries inside each word, and tokens per word."""
    c = enc.corpus
    starts = c.doc_start + len(prefix.encode())
    ends = c.doc_end
    span, pos = enc.internal_boundaries(starts, ends)
    if len(span):
        new = np.ones(len(span), dtype=bool)
        new[1:] = (span[1:] != span[:-1]) | (pos[1:] != pos[:-1])
        span, pos = span[new], pos[new]
    return span, pos, enc.tokens_in(starts, ends)


def word_boundaries_of(tok: Tokenizer, words: list[str]) -> tuple[list[list[int]], np.ndarray]:
    """Token boundaries strictly inside each word (UTF-8 byte offsets) and the tokens covering each word.

    A tokenizer that splits " walked" into " walk" + "ed" gives ([[4]], [2]) for ["walked"].
    """
    prefix = _prefix(tok)
    (enc,) = encode_groups(tok, [[prefix + w for w in words]])
    span, pos, ntok = _boundaries(enc, prefix)
    out: list[list[int]] = [[] for _ in words]
    for s, p in zip(span.tolist(), pos.tolist(), strict=True):
        out[s].append(p)
    return out, ntok


#: bump when the sampling of the data files or the cached layout changes, so that old samples are rebuilt
_SAMPLE_VERSION = 2


def _files_key(directory: Path, pattern: str) -> str:
    """What the sample of `directory` depends on: each matching file's name, size and mtime, and the sampler."""
    parts = [f"v{_SAMPLE_VERSION}", str(MAX_WORDS), str(directory.resolve())]
    for f in sorted(directory.glob(pattern)):
        st = f.stat()
        parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _cached_sample(
    kind: str, key: str, build: Callable[[], dict[str, list[tuple[str, tuple[int, ...]]]]]
) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """A sample {language: [(word, gold byte offsets)]} kept on disk as plain arrays (`toksmith.cache`).

    Reading and sampling the data files costs about 0.1 s a run; the cached sample a few ms.
    """

    def to_arrays() -> dict[str, np.ndarray]:
        data = build()
        rows = [r for lang_rows in data.values() for r in lang_rows]
        return {
            "langs": text_array("\n".join(data)),
            "per_lang": np.array([len(r) for r in data.values()], dtype=np.int64),
            "words": text_array("".join(w for w, _ in rows)),
            "word_len": np.array([len(w) for w, _ in rows], dtype=np.int64),
            "gold": np.array([g for _, gs in rows for g in gs], dtype=np.int64),
            "gold_n": np.array([len(gs) for _, gs in rows], dtype=np.int64),
        }

    a = cached_arrays(kind, key, to_arrays)
    langs = array_text(a["langs"]).split("\n") if len(a["per_lang"]) else []
    text = array_text(a["words"])
    cut = np.concatenate(([0], np.cumsum(a["word_len"]))).tolist()
    gcut = np.concatenate(([0], np.cumsum(a["gold_n"]))).tolist()
    gold = a["gold"].tolist()
    out: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    k = 0
    for lang, n in zip(langs, a["per_lang"].tolist(), strict=True):
        out[lang] = [(text[cut[i]:cut[i + 1]], tuple(gold[gcut[i]:gcut[i + 1]])) for i in range(k, k + n)]
        k += n
    return out


@cache
def load_morphscore(directory: Path) -> dict[str, list[tuple[str, int]]]:
    """language -> [(word, gold boundary byte offset)], sampled; rows where pt1 is no prefix dropped.

    The sample is kept in the on-disk cache, keyed by the files' names, sizes and mtimes."""
    def build() -> dict[str, list[tuple[str, tuple[int, ...]]]]:
        return {lang: [(w, (g,)) for w, g in rows] for lang, rows in _read_morphscore(directory).items()}

    packed = _cached_sample("morphscore-sample", _files_key(directory, "*_morph_data.csv"), build)
    return {lang: [(w, g[0]) for w, g in rows] for lang, rows in packed.items()}


def _read_morphscore(directory: Path) -> dict[str, list[tuple[str, int]]]:
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
    """language -> ([(word, gold boundary byte offsets)], canonical rows skipped while sampling), sampled.

    The sample is kept in the on-disk cache, keyed by the files' names, sizes and mtimes."""
    def build() -> dict[str, list[tuple[str, tuple[int, ...]]]]:
        # each language's skipped count rides as its last row, ("", (count,))
        return {lang: [*rows, ("", (n,))] for lang, (rows, n) in _read_sigmorphon(directory).items()}

    packed = _cached_sample("sigmorphon-sample", _files_key(directory, "*.word.dev.tsv"), build)
    return {lang: (rows[:-1], rows[-1][1][0]) for lang, rows in packed.items()}


def _read_sigmorphon(directory: Path) -> dict[str, tuple[list[tuple[str, tuple[int, ...]]], int]]:
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


def _morphscore_texts(ctx: EvalContext) -> list[str] | None:
    d = _data(ctx, "morphscore")
    if d is None:
        return None
    prefix = _prefix(ctx.tokenizer)
    return [prefix + w for rows in load_morphscore(d).values() for w, _ in rows]


def _morphscore_finish(ctx: EvalContext, enc: Encoded | None) -> dict[str, Any] | None:
    d = _data(ctx, "morphscore")
    if enc is None or d is None:
        return None
    data = load_morphscore(d)
    gold = np.array([g for rows in data.values() for _, g in rows], dtype=np.int64)
    lang_of = np.repeat(np.arange(len(data)), [len(r) for r in data.values()])
    span, pos, ntok = _boundaries(enc, _prefix(ctx.tokenizer))
    scored = (ntok >= 2).astype(np.float64)
    hit = (np.bincount(span, weights=pos == gold[span], minlength=len(gold)) > 0) * scored
    return {"data": data, "hit": hit, "scored": scored, "lang": lang_of}


MORPHSCORE_PROBE = Probe(
    "morphscore",
    _morphscore_texts,
    _morphscore_finish,
    metrics=("morphscore",),
    groups=lambda r: [(("morphscore", "all"), len(r["hit"]))] if r else [],
)


@metric(
    "morphscore",
    family="morphology",
    unit="share of words",
    needs="morphscore",
    aggregation="micro over words not kept whole (at most 500 per language)",
)
def morphscore(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of words with a token boundary at the gold morpheme boundary."""
    p = probe_result(ctx, MORPHSCORE_PROBE)
    if p is None:
        return m.skipped("data folder 'morphscore' not found")
    data, hit, scored, lang_of = p["data"], p["hit"], p["scored"], p["lang"]
    n_words = len(hit)
    per_language: dict[str, dict[str, Any]] = {}
    res = m.resampled(Ratio.of(("morphscore", "all"), hit, scored), per_language=per_language, units=int(scored.sum()))
    for li, lang in enumerate(data):
        sel = lang_of == li
        rl = Ratio.of(("morphscore", lang), hit[sel], scored[sel])
        per_language[lang] = {
            "value": rl.point(),
            "ci": None,
            "units": int(scored[sel].sum()),
            "words": int(sel.sum()),
        }
    res.notes.append(
        f"{n_words} words in {len(data)} languages; {int(n_words - scored.sum())} kept whole "
        "and excluded"
    )
    return res


def _sigmorphon_texts(ctx: EvalContext) -> list[str] | None:
    d = _data(ctx, "sigmorphon2022")
    if d is None:
        return None
    prefix = _prefix(ctx.tokenizer)
    return [prefix + w for rows, _ in load_sigmorphon(d).values() for w, _ in rows]


def _sigmorphon_finish(ctx: EvalContext, enc: Encoded | None) -> dict[str, Any] | None:
    d = _data(ctx, "sigmorphon2022")
    if enc is None or d is None:
        return None
    data = load_sigmorphon(d)
    golds = [g for rows, _ in data.values() for _, g in rows]
    langs = np.repeat(np.arange(len(data)), [len(rows) for rows, _ in data.values()])
    span, pos, _ = _boundaries(enc, _prefix(ctx.tokenizer))
    n = len(golds)
    gold_n = np.fromiter(map(len, golds), dtype=np.int64, count=n)
    gold_word = np.repeat(np.arange(n, dtype=np.int64), gold_n)
    gold_pos = np.fromiter((p for g in golds for p in g), dtype=np.int64, count=int(gold_n.sum()))
    width = int(max(pos.max(initial=0), gold_pos.max(initial=0))) + 1
    is_gold = np.isin(span * width + pos, np.unique(gold_word * width + gold_pos))
    tp = np.bincount(span, weights=is_gold, minlength=n)
    pred = np.bincount(span, minlength=n).astype(np.float64)
    # gold counts every listed offset (as before); true positives count distinct boundaries
    gold = np.bincount(gold_word, minlength=n).astype(np.float64)
    return {"data": data, "tp": tp, "pred": pred, "gold": gold, "lang": langs}


SIGMORPHON_PROBE = Probe(
    "sigmorphon",
    _sigmorphon_texts,
    _sigmorphon_finish,
    metrics=("morph_boundary_precision", "morph_boundary_recall", "morph_boundary_f1"),
    groups=lambda r: [(("sigmorphon", "all"), len(r["tp"]))] if r else [],
)


def _boundary_metric(m: Metric, ctx: EvalContext, kind: str) -> MetricResult:
    p = probe_result(ctx, SIGMORPHON_PROBE)
    if p is None:
        return m.skipped("data folder 'sigmorphon2022' not found")
    tp, pred, gold = p["tp"], p["pred"], p["gold"]
    if kind == "precision":
        num, den = tp, pred
    elif kind == "recall":
        num, den = tp, gold
    else:
        num, den = 2 * tp, pred + gold
    per_language: dict[str, dict[str, Any]] = {}
    res = m.resampled(Ratio.of(("sigmorphon", "all"), num, den), per_language=per_language, units=len(tp))
    for li, (lang, (_, skipped)) in enumerate(p["data"].items()):
        sel = p["lang"] == li
        rl = Ratio.of(("sigmorphon", lang), num[sel], den[sel])
        per_language[lang] = {
            "value": rl.point(),
            "ci": None,
            "units": int(sel.sum()),
            "skipped_canonical_rows": skipped,
        }
    res.notes.append("surface segmentations only (morphs concatenate to the word); a fixed-seed sample")
    return res


@metric(
    "morph_boundary_precision",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_precision(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of token boundaries inside words that are gold morpheme boundaries."""
    return _boundary_metric(m, ctx, "precision")


@metric(
    "morph_boundary_recall",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_recall(m: Metric, ctx: EvalContext) -> MetricResult:
    """Share of gold morpheme boundaries that are token boundaries."""
    return _boundary_metric(m, ctx, "recall")


@metric(
    "morph_boundary_f1",
    family="morphology",
    unit="share of boundaries",
    needs="sigmorphon2022",
    aggregation="micro over words (at most 500 per language)",
)
def morph_boundary_f1(m: Metric, ctx: EvalContext) -> MetricResult:
    """F1 of token boundaries against gold morpheme boundaries: 2TP / (2TP + FP + FN)."""
    return _boundary_metric(m, ctx, "f1")
