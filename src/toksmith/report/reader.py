"""Reading eval results (schema "toksmith.eval/1", `toksmith.evaluate.results`) into the report's view.

`read_results` turns the results dict into a `ReportView`: the tokenizers in order, each tokenizer's
metric entries, the metric descriptions, the parallel-corpus view per tokenizer (premiums, bytes per
token, flagged languages, Gini and Lorenz points), the numbers heat maps and the viewer's samples.
Every section is optional: the report renders what is present. Only the one schema is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toksmith.report.svg import GAP, fmt_num

__all__ = [
    "CI",
    "Point",
    "ReportView",
    "ci_of",
    "fmt_ci",
    "lang_rows",
    "mean",
    "num",
    "points",
    "pretty",
    "read_results",
]

#: Up to this many languages a chart shows them all; beyond it, the `top_n` highest and lowest.
FULL_LIMIT = 40

CI = tuple[float, float] | None
Point = tuple[float | None, CI]


def num(x: Any) -> float | None:
    """A finite number from a value or a result entry's "value" (None otherwise)."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, Mapping) and "value" in x:
        return num(x["value"])
    return None


def ci_of(x: Any) -> CI:
    """The interval `[lo, hi]` of a value or of a result entry's "ci" (None when absent or not finite)."""
    if isinstance(x, Mapping):
        return ci_of(x.get("ci"))
    if isinstance(x, Sequence) and not isinstance(x, str) and len(x) == 2:
        lo, hi = num(x[0]), num(x[1])
        return (lo, hi) if lo is not None and hi is not None else None
    return None


def fmt_ci(ci: CI) -> str:
    """`lo–hi`, or `lo to hi` when a bound is negative (an en dash next to a minus sign misreads)."""
    if not ci:
        return ""
    sep = " to " if min(ci) < 0 else "–"
    return f"{fmt_num(ci[0])}{sep}{fmt_num(ci[1])}"


def pretty(key: str) -> str:
    return key.replace("_", " ")


def mean(vals: Iterable[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return sum(v) / len(v) if v else None


def lang_rows(order: list[str], top_n: int) -> list[str]:
    """All rows when few; else the first and last `top_n` with a GAP between."""
    if len(order) <= max(FULL_LIMIT, 2 * top_n + 1):
        return order
    return order[:top_n] + [GAP] + order[-top_n:]


@dataclass
class Parallel:
    """One tokenizer's view of the parallel corpus."""

    pivot: str | None = None
    premium: dict[str, Point] = field(default_factory=dict)
    bytes_per_token: dict[str, Point] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    gini: Point = (None, None)
    lorenz: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Sample:
    """A viewer text and, per tokenizer, its tokens' bytes (and ids when given)."""

    text: str
    lang: str | None
    tokens: dict[str, tuple[list[bytes], list[int] | None]]


@dataclass
class ReportView:
    """The results dict as the sections read it."""

    toks: list[str]
    metrics: dict[str, dict[str, Mapping[str, Any]]]
    descriptions: dict[str, Mapping[str, Any]]
    parallel: dict[str, Parallel]
    heatmaps: dict[str, Any]
    samples: list[Sample]
    comparisons: list[Mapping[str, Any]]
    raw: Mapping[str, Any]


def _mapping(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def read_results(results: Mapping[str, Any]) -> ReportView:
    """The `ReportView` of a results dict (`EvalResults.to_dict()`)."""
    descriptions = {k: v for k, v in _mapping(results.get("metrics")).items() if isinstance(v, Mapping)}
    metrics = {
        str(t): {str(k): v for k, v in m.items() if isinstance(v, Mapping)}
        for t, m in _mapping(results.get("results")).items()
        if isinstance(m, Mapping)
    }
    toks: list[str] = []
    for t in results.get("tokenizers") or []:
        n = str(t.get("name")) if isinstance(t, Mapping) else str(t)
        if n not in toks:
            toks.append(n)
    toks += [n for n in metrics if n not in toks]
    report = _mapping(results.get("report"))
    parallel = _parallel_views(report, metrics, _mapping(results.get("contract")), toks)
    toks += [n for n in parallel if n not in toks]
    heatmaps: dict[str, Any] = {}
    for t in toks:
        hm = _mapping(report.get("numbers_heatmap")).get(t)
        hm = hm or _mapping(_mapping(metrics.get(t, {}).get("number_patterns")).get("details")).get("heatmap")
        if hm:
            heatmaps[t] = hm
    samples = []
    for s in results.get("samples") or []:
        if not isinstance(s, Mapping):
            continue
        text = str(s.get("text", ""))
        data = text.encode("utf-8")
        toks_s: dict[str, tuple[list[bytes], list[int] | None]] = {}
        for name, entry in _mapping(s.get("tokens")).items():
            if isinstance(entry, Mapping) and entry.get("offsets") is not None:
                ids = entry.get("ids")
                toks_s[str(name)] = (
                    [data[int(a) : int(b)] for a, b in entry["offsets"]],
                    list(ids) if ids is not None else None,
                )
        samples.append(Sample(text, str(s["lang"]) if s.get("lang") else None, toks_s))
    comparisons = [c for c in results.get("comparisons") or [] if isinstance(c, Mapping)]
    return ReportView(toks, metrics, descriptions, parallel, heatmaps, samples, comparisons, results)


def points(d: Mapping[str, Any], value_key: str = "value", ci_key: str = "ci") -> dict[str, Point]:
    out: dict[str, Point] = {}
    for lang, e in d.items():
        if isinstance(e, Mapping):
            out[str(lang)] = (num(e.get(value_key)), ci_of(e.get(ci_key)))
        else:
            out[str(lang)] = (num(e), None)
    return out


def _flagged(pl: Mapping[str, Any]) -> list[str]:
    return sorted(lang for lang, e in pl.items() if isinstance(e, Mapping) and e.get("flagged"))


def _parallel_views(
    report: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
    contract: Mapping[str, Any],
    toks: list[str],
) -> dict[str, Parallel]:
    out: dict[str, Parallel] = {}
    rep_pl = _mapping(report.get("per_language"))
    rep_gini = _mapping(report.get("gini"))
    for t in list(toks) + [k for k in rep_pl if k not in toks]:
        p = Parallel(pivot=contract.get("pivot"))
        m = metrics.get(t) or {}
        prem_m = m.get("premium") or {}
        gini_m = m.get("gini") or {}
        if isinstance(rep_pl.get(t), Mapping):
            pl = rep_pl[t]
            p.premium = points(pl, "premium", "premium_ci")
            p.bytes_per_token = points(pl, "bytes_per_token", "bytes_per_token_ci")
            p.flagged = _flagged(pl)
        elif isinstance(prem_m.get("per_language"), Mapping):
            pl = prem_m["per_language"]
            p.premium = points(pl)
            p.bytes_per_token = points(pl, "bytes_per_token", "bytes_per_token_ci")
            p.flagged = _flagged(pl)
        details = _mapping(prem_m.get("details"))
        p.pivot = details.get("pivot") or p.pivot
        p.flagged = sorted(set(p.flagged) | {str(x) for x in details.get("flagged") or []})
        g = rep_gini.get(t) if isinstance(rep_gini.get(t), Mapping) else None
        if g is not None:
            p.gini = (num(g.get("value")), ci_of(g.get("ci")))
            p.lorenz = [(float(a), float(b)) for a, b in g.get("lorenz") or []]
        elif gini_m:
            p.gini = (num(gini_m), ci_of(gini_m))
            p.lorenz = [(float(a), float(b)) for a, b in _mapping(gini_m.get("details")).get("lorenz") or []]
        if not p.bytes_per_token:
            bpt = m.get("bytes_per_token") or {}
            if isinstance(bpt.get("per_language"), Mapping):
                p.bytes_per_token = points(bpt["per_language"])
        if p.premium or p.bytes_per_token or p.lorenz or p.gini[0] is not None:
            out[t] = p
    return out
