"""Premium (parity) per language against a pivot, the Gini coefficient across languages, Lorenz data.

premium(L) = tokens(L) / tokens(pivot) on a parallel corpus (Petrov et al. 2023), corpus level; where
L has as many documents as the pivot (line-aligned files) the mean per-line premium is given too.
Languages whose unknown tokens cover more than `UNK_FLAG` of their text bytes are flagged and left out
of the ranking, the mean and the Gini coefficient: their token counts say nothing about the text.
The interval of a premium resamples the documents of L and of the pivot independently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toksmith.errors import CorpusError
from toksmith.evaluate.bootstrap import MIN_UNITS, Ratio, gini_rows, percentile_ci
from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric

__all__ = ["UNK_FLAG", "premium", "gini", "lorenz_points"]

UNK_FLAG = 0.10


def lorenz_points(values: np.ndarray) -> list[list[float]]:
    """Lorenz curve of `values`: [cumulative share of languages, cumulative share of tokens], from (0, 0).

    >>> lorenz_points(np.array([1.0, 3.0]))
    [[0.0, 0.0], [0.5, 0.25], [1.0, 1.0]]
    """
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = len(v)
    if n == 0 or v.sum() <= 0:
        return []
    y = np.concatenate(([0.0], np.cumsum(v) / v.sum()))
    x = np.arange(n + 1) / n
    return [[float(a), float(b)] for a, b in zip(x, y, strict=True)]


@metric(
    "premium",
    family="parallel",
    unit="tokens(L)/tokens(pivot)",
    needs="parallel",
    aggregation="per language: ratio of totals; value: mean over ranked languages",
)
def premium(m: Metric, ctx: EvalContext) -> MetricResult:
    """Tokenization premium of every language against the pivot."""
    enc = ctx.parallel
    if enc is None:
        raise CorpusError("metric 'premium' needs a parallel corpus, and none was given: pass parallel= to evaluate()")
    c = enc.corpus
    if ctx.pivot not in c.lang_names:
        raise CorpusError(
            f"pivot language '{ctx.pivot}' is not in the parallel corpus "
            f"(languages: {', '.join(c.lang_names[:20])}{' ...' if len(c.lang_names) > 20 else ''})"
        )
    tokens = enc.doc_tokens.astype(np.float64)
    piv = c.docs_of_lang(ctx.pivot)
    piv_tokens = tokens[piv]
    per_language: dict[str, dict[str, Any]] = {}
    res = m.result(None, per_language=per_language, units=len(c.lang_names))
    ranked: list[str] = []
    flagged: list[str] = []
    for lang in c.lang_names:
        idx = c.docs_of_lang(lang)
        r = Ratio(("parallel", lang), tokens[idx], ("parallel", ctx.pivot), piv_tokens)
        bpt = Ratio.of(("parallel", lang), c.doc_bytes[idx], tokens[idx])
        cpt = Ratio.of(("parallel", lang), c.doc_chars[idx], tokens[idx])
        text_bytes = float(c.doc_bytes[idx].sum())
        unk_share = float(enc.doc_unk_bytes[idx].sum()) / text_bytes if text_bytes else 0.0
        entry: dict[str, Any] = {
            "value": r.point(),
            "ci": None,
            "units": len(idx),
            "tokens": int(tokens[idx].sum()),
            "bytes": int(text_bytes),
            "chars": int(c.doc_chars[idx].sum()),
            "bytes_per_token": bpt.point(),
            "bytes_per_token_ci": None,
            "chars_per_token": cpt.point(),
            "chars_per_token_ci": None,
            "unk_tokens": int(enc.doc_unk[idx].sum()),
            "unk_byte_share": unk_share,
            "flagged": unk_share > UNK_FLAG,
            "per_line": None,
        }
        if len(idx) == len(piv):
            with np.errstate(divide="ignore", invalid="ignore"):
                per_line = tokens[idx] / piv_tokens
            ok = np.isfinite(per_line)
            entry["per_line"] = float(per_line[ok].mean()) if ok.any() else None
        if len(idx) < MIN_UNITS:
            entry["thin"] = True
        per_language[lang] = entry
        res.ratios[(lang, "value")] = r
        res.ratios[(lang, "bytes_per_token")] = bpt
        res.ratios[(lang, "chars_per_token")] = cpt
        (flagged if entry["flagged"] else ranked).append(lang)
    prem = np.array([per_language[lang]["value"] for lang in ranked])
    res.value = float(prem.mean()) if len(prem) else None
    order = sorted(ranked, key=lambda lang: per_language[lang]["value"])
    for rank, lang in enumerate(order, 1):
        per_language[lang]["rank"] = rank
    res.details = {
        "pivot": ctx.pivot,
        "ranked": order,
        "flagged": flagged,
        "unk_flag_threshold": UNK_FLAG,
        "aligned_languages": sum(1 for e in per_language.values() if e["per_line"] is not None),
    }
    res.notes.append(
        f"pivot: {ctx.pivot}; {len(flagged)} language(s) flagged for unknown tokens > "
        f"{UNK_FLAG:.0%} of their text and not ranked"
    )
    if res.details["aligned_languages"] < len(c.lang_names):
        res.notes.append("per-line premium only for languages with as many documents as the pivot")
    return res


def _gini_after(res: MetricResult, results: dict[str, MetricResult]) -> None:
    prem = results.get("premium")
    if prem is None or not prem.details.get("ranked"):
        return
    langs = prem.details["ranked"]
    reps = [prem.replicates.get((lang, "value")) for lang in langs]
    if any(r is None for r in reps):
        return
    g = gini_rows(np.stack(reps, axis=1))  # type: ignore[arg-type]
    res.replicates[(None, "value")] = g
    res.ci = percentile_ci(g)


@metric(
    "gini",
    family="parallel",
    unit="Gini coefficient (0 = equal)",
    needs="parallel",
    aggregation="across ranked languages of corpus-level token counts",
    after_bootstrap=_gini_after,
)
def gini(m: Metric, ctx: EvalContext) -> MetricResult:
    """Inequality of token counts across the languages of a parallel corpus, with Lorenz-curve points."""
    prem = ctx.results.get("premium") or premium(ctx)
    langs = prem.details["ranked"]
    per_language = prem.per_language or {}
    tokens = np.array([per_language[lang]["tokens"] for lang in langs], dtype=np.float64)
    value = float(gini_rows(tokens[None, :])[0]) if len(tokens) else None
    res = m.result(value, units=len(langs))
    res.details = {"lorenz": lorenz_points(tokens), "languages": len(langs)}
    res.notes.append("interval: Gini of the bootstrap replicates of the per-language premiums")
    if 0 < len(langs) < 5:
        res.notes.append(f"thin sample: Gini over only {len(langs)} languages")
    return res
