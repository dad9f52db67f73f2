"""One self-contained HTML report from an evaluation's results dict.

The page makes no network request: CSS is inline, plots are inline SVG drawn in Python
(`toksmith.report.svg`), a Content-Security-Policy forbids any fetch, and the few lines of inline
JavaScript (hover-linked token boundaries, sortable tables) are optional: the page reads fully without
them. The full results are embedded as JSON (`<script type="application/json" id="results">`).

Input: the dict of `toksmith.evaluate.EvalResults.to_dict()` (schema "toksmith.eval/1", documented in
`toksmith.evaluate.api`). Every section is optional; the report renders what is present. A simpler
shape is accepted too: `metrics: {tokenizer: {metric: entry}}` in place of `results`, `parallel:
{tokenizer: {"pivot", "premium": {lang: {"value", "ci"}}, "gini", "lorenz", "flagged"}}`, `numbers:
{tokenizer: {"heatmap": ...}}`, and sample tokens given as `{"bytes": [hex, ...], "ids": [...]}`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toksmith.io import atomic_write_text
from toksmith.report.boundaries import sample_token_bytes, segment_tokens
from toksmith.report.svg import (
    GAP,
    Line,
    Series,
    color_for,
    dot_plot,
    esc,
    fmt_num,
    hbar_chart,
    heat_map,
    line_chart,
)

__all__ = ["render_report", "write_report"]

#: Up to this many languages a chart shows them all; beyond it, the `top_n` highest and lowest.
_FULL_LIMIT = 40
#: Per-language comparison rows listed in the page (all of them are in the embedded JSON).
_MAX_LANG_COMPARISONS = 600
#: Scripts shown in the vocabulary chart; the rest are summed into "other".
_TOP_SCRIPTS = 12

# Headline metrics, in order.
_HEADLINE = ("bytes_per_token", "fertility", "continued_word_rate", "renyi_efficiency")

_PATTERN_NAMES = {
    "single": "single digits",
    "whole": "one token",
    "r2l": "right-to-left 3s",
    "l2r": "left-to-right 3s",
    "l2r=r2l": "3s (either way)",
    "other": "other",
}

CI = tuple[float, float] | None
Point = tuple[float | None, CI]


# --- reading the results dict ------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, Mapping):
        for k in ("value", "mean", "point", "estimate"):
            if k in x:
                return _num(x[k])
    return None


def _ci(x: Any) -> CI:
    if isinstance(x, Mapping):
        if "ci" in x:
            return _ci(x["ci"])
        for lo_k, hi_k in (("lo", "hi"), ("low", "high"), ("lower", "upper")):
            if lo_k in x and hi_k in x:
                lo, hi = _num(x[lo_k]), _num(x[hi_k])
                return (lo, hi) if lo is not None and hi is not None else None
        return None
    if isinstance(x, Sequence) and not isinstance(x, str) and len(x) == 2:
        lo, hi = _num(x[0]), _num(x[1])
        return (lo, hi) if lo is not None and hi is not None else None
    return None


def _fmt_ci(ci: CI) -> str:
    """`lo–hi`, or `lo to hi` when a bound is negative (an en dash next to a minus sign misreads)."""
    if not ci:
        return ""
    sep = " to " if min(ci) < 0 else "–"
    return f"{fmt_num(ci[0])}{sep}{fmt_num(ci[1])}"


def _pretty(key: str) -> str:
    return key.replace("_", " ")


def _mean(vals: Iterable[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return sum(v) / len(v) if v else None


@dataclass
class _Parallel:
    pivot: str | None = None
    premium: dict[str, Point] = field(default_factory=dict)
    bytes_per_token: dict[str, Point] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    gini: Point = (None, None)
    lorenz: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Sample:
    text: str
    lang: str | None
    tokens: dict[str, tuple[list[bytes], list[int] | None]]


@dataclass
class _View:
    """The results dict in one normalised shape, whichever shape it came in."""

    toks: list[str]
    metrics: dict[str, dict[str, Mapping[str, Any]]]
    descriptions: dict[str, Mapping[str, Any]]
    parallel: dict[str, _Parallel]
    heatmaps: dict[str, Any]
    samples: list[_Sample]
    comparisons: list[Mapping[str, Any]]
    raw: Mapping[str, Any]


def _view(results: Mapping[str, Any]) -> _View:
    per_tok = results.get("results")
    descriptions: dict[str, Mapping[str, Any]] = {}
    if isinstance(per_tok, Mapping):
        descriptions = {k: v for k, v in (results.get("metrics") or {}).items() if isinstance(v, Mapping)}
    else:
        per_tok = results.get("metrics") or {}
    metrics = {
        str(t): {str(k): v for k, v in (m or {}).items() if isinstance(v, Mapping)}
        for t, m in per_tok.items()
        if isinstance(m, Mapping)
    }
    toks: list[str] = []
    for t in results.get("tokenizers") or []:
        n = str(t.get("name")) if isinstance(t, Mapping) else str(t)
        if n not in toks:
            toks.append(n)
    for n in metrics:
        if n not in toks:
            toks.append(n)
    report = results.get("report") if isinstance(results.get("report"), Mapping) else {}
    contract = results.get("contract") if isinstance(results.get("contract"), Mapping) else {}
    parallel = _parallel_views(results, report, metrics, contract, toks)
    for n in parallel:
        if n not in toks:
            toks.append(n)
    heatmaps: dict[str, Any] = {}
    for t in toks:
        hm = (report.get("numbers_heatmap") or {}).get(t)
        hm = hm or ((results.get("numbers") or {}).get(t) or {}).get("heatmap")
        hm = hm or ((metrics.get(t, {}).get("number_patterns") or {}).get("details") or {}).get("heatmap")
        if hm:
            heatmaps[t] = hm
    samples = []
    for s in results.get("samples") or []:
        if not isinstance(s, Mapping):
            continue
        text = str(s.get("text", ""))
        toks_s: dict[str, tuple[list[bytes], list[int] | None]] = {}
        for name, entry in (s.get("tokens") or {}).items():
            toks_s[str(name)] = _sample_entry(text, entry)
        samples.append(_Sample(text, str(s["lang"]) if s.get("lang") else None, toks_s))
    comparisons = [c for c in results.get("comparisons") or [] if isinstance(c, Mapping)]
    return _View(toks, metrics, descriptions, parallel, heatmaps, samples, comparisons, results)


def _sample_entry(text: str, entry: Any) -> tuple[list[bytes], list[int] | None]:
    """Token bytes of one tokenizer in a sample: from byte `offsets` into the text, or explicit bytes."""
    if isinstance(entry, Mapping) and entry.get("offsets") is not None:
        data = text.encode("utf-8")
        ids = entry.get("ids")
        return [data[int(a) : int(b)] for a, b in entry["offsets"]], (list(ids) if ids is not None else None)
    return sample_token_bytes(entry)


def _points(d: Mapping[str, Any], value_key: str = "value", ci_key: str = "ci") -> dict[str, Point]:
    out: dict[str, Point] = {}
    for lang, e in d.items():
        if isinstance(e, Mapping):
            out[str(lang)] = (_num(e.get(value_key)), _ci(e.get(ci_key)))
        else:
            out[str(lang)] = (_num(e), None)
    return out


def _parallel_views(
    results: Mapping[str, Any],
    report: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
    contract: Mapping[str, Any],
    toks: list[str],
) -> dict[str, _Parallel]:
    out: dict[str, _Parallel] = {}
    rep_pl = report.get("per_language") or {}
    rep_gini = report.get("gini") or {}
    legacy = results.get("parallel") or {}
    for t in list(toks) + [k for k in list(rep_pl) + list(legacy) if k not in toks]:
        p = _Parallel(pivot=contract.get("pivot"))
        m = metrics.get(t) or {}
        prem_m = m.get("premium") or {}
        gini_m = m.get("gini") or {}
        if isinstance(rep_pl.get(t), Mapping):
            pl = rep_pl[t]
            p.premium = _points(pl, "premium", "premium_ci")
            p.bytes_per_token = _points(pl, "bytes_per_token", "bytes_per_token_ci")
            p.flagged = sorted(lang for lang, e in pl.items() if isinstance(e, Mapping) and e.get("flagged"))
        elif isinstance(prem_m.get("per_language"), Mapping):
            pl = prem_m["per_language"]
            p.premium = _points(pl)
            p.bytes_per_token = _points(pl, "bytes_per_token", "bytes_per_token_ci")
            p.flagged = sorted(lang for lang, e in pl.items() if isinstance(e, Mapping) and e.get("flagged"))
        elif isinstance(legacy.get(t), Mapping):
            lp = legacy[t]
            p.pivot = lp.get("pivot") or p.pivot
            p.premium = _points(lp.get("premium") or {})
            p.flagged = [str(x.get("lang") if isinstance(x, Mapping) else x) for x in lp.get("flagged") or []]
            p.gini = (_num(lp.get("gini")), _ci(lp.get("gini")))
            p.lorenz = [(float(a), float(b)) for a, b in lp.get("lorenz") or []]
        p.pivot = (prem_m.get("details") or {}).get("pivot") or p.pivot
        p.flagged = sorted(
            set(p.flagged) | {str(x) for x in (prem_m.get("details") or {}).get("flagged") or []}
        )
        g = rep_gini.get(t) if isinstance(rep_gini.get(t), Mapping) else None
        if g is not None:
            p.gini = (_num(g.get("value")), _ci(g.get("ci")))
            p.lorenz = [(float(a), float(b)) for a, b in g.get("lorenz") or []]
        elif gini_m:
            p.gini = (_num(gini_m), _ci(gini_m))
            p.lorenz = [(float(a), float(b)) for a, b in (gini_m.get("details") or {}).get("lorenz") or []]
        if not p.bytes_per_token:
            bpt = m.get("bytes_per_token") or {}
            if isinstance(bpt.get("per_language"), Mapping):
                p.bytes_per_token = _points(bpt["per_language"])
        if p.premium or p.bytes_per_token or p.lorenz or p.gini[0] is not None:
            out[t] = p
    return out


def _lang_rows(order: list[str], top_n: int) -> list[str]:
    """All rows when few; else the first and last `top_n` with a GAP between."""
    if len(order) <= max(_FULL_LIMIT, 2 * top_n + 1):
        return order
    return order[:top_n] + [GAP] + order[-top_n:]


# --- sections ----------------------------------------------------------------------------------------


def _section(anchor: str, title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro_html}{body}</section>'


def _swatch(name: str, colors: Mapping[str, str]) -> str:
    return f'<span class="sw" style="background:{colors.get(name, "#888")}"></span>{esc(name)}'


def _metric_keys(v: _View) -> list[str]:
    keys = [k for k in v.descriptions if any(k in v.metrics.get(t, {}) for t in v.toks)]
    for t in v.toks:
        for k in v.metrics.get(t, {}):
            if k not in keys:
                keys.append(k)
    return keys


def _headline(v: _View, colors: Mapping[str, str]) -> str:
    cards: list[str] = []
    keys = _metric_keys(v)
    chosen = [k for k in _HEADLINE if k in keys] or keys[:4]
    for m in chosen:
        unit = ""
        rows = []
        for t in v.toks:
            e = v.metrics.get(t, {}).get(m)
            if e is None:
                continue
            unit = unit or str(e.get("unit") or "")
            rows.append(
                f'<div class="hv">{_swatch(t, colors)}<b>{esc(fmt_num(_num(e)))}</b>'
                f'<span class="ci">{esc(_fmt_ci(_ci(e)))}</span></div>'
            )
        desc = str((v.descriptions.get(m) or {}).get("description") or "")
        cards.append(
            f'<div class="card" title="{esc(desc)}"><div class="ct">{esc(_pretty(m))}</div>'
            f'<div class="cu">{esc(unit)}</div>{"".join(rows)}</div>'
        )
    rows = []
    pivot = None
    for t, p in v.parallel.items():
        pivot = pivot or p.pivot
        prem = {k: x for k, (x, _) in p.premium.items() if x is not None and k not in p.flagged}
        if not prem:
            continue
        worst = max(prem, key=lambda k: (prem[k], k))
        vals = sorted(prem.values())
        mid = len(vals) // 2
        median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
        rows.append(
            f'<div class="hv">{_swatch(t, colors)}<b>{esc(fmt_num(median))}×</b>'
            f'<span class="ci">max {esc(worst)} {esc(fmt_num(prem[worst]))}×</span></div>'
        )
    if rows:
        cards.append(
            '<div class="card"><div class="ct">median premium</div>'
            f'<div class="cu">tokens(L) / tokens({esc(pivot or "pivot")})</div>{"".join(rows)}</div>'
        )
    rows = [
        f'<div class="hv">{_swatch(t, colors)}<b>{esc(fmt_num(p.gini[0]))}</b>'
        f'<span class="ci">{esc(_fmt_ci(p.gini[1]))}</span></div>'
        for t, p in v.parallel.items()
        if p.gini[0] is not None
    ]
    if rows:
        cards.append(
            '<div class="card"><div class="ct">Gini across languages</div>'
            f'<div class="cu">0 = every language pays the same</div>{"".join(rows)}</div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _warnings_box(v: _View) -> str:
    warns = [str(w) for w in v.raw.get("warnings") or []]
    if not warns:
        return ""
    return (
        '<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{esc(w)}</li>" for w in warns) + "</ul></div>"
    )


def _summary_table(v: _View, colors: Mapping[str, str]) -> str:
    keys = _metric_keys(v)
    toks = [t for t in v.toks if t in v.metrics]
    if not keys or not toks:
        return ""
    head = "".join(f'<th class="num">{_swatch(t, colors)}</th>' for t in toks)
    rows: list[str] = []
    notes: list[str] = []
    family = None
    for m in keys:
        desc = v.descriptions.get(m) or {}
        fam = desc.get("family")
        if fam and fam != family:
            family = fam
            rows.append(f'<tr class="fam"><th colspan="{len(toks) + 2}">{esc(_pretty(str(fam)))}</th></tr>')
        unit = str(desc.get("unit") or "")
        agg = str(desc.get("aggregation") or "")
        cells = []
        shown_any = False
        for t in toks:
            e = v.metrics[t].get(m)
            if e is None:
                cells.append('<td class="num muted">–</td>')
                continue
            unit = unit or str(e.get("unit") or "")
            agg = agg or str(e.get("aggregation") or "")
            marks = ""
            for n in e.get("notes") or []:
                key = f"{_pretty(m)}: {n}"
                if key not in notes:
                    notes.append(key)
                k = notes.index(key) + 1
                marks += f'<sup><a href="#note-{k}">{k}</a></sup>'
            x = _num(e)
            shown_any = shown_any or x is not None
            ci = _ci(e)
            thin = (
                ' <span class="thin" title="fewer units than the minimum for a claim">thin</span>'
                if (e.get("thin"))
                else ""
            )
            ci_html = f'<div class="ci">{esc(_fmt_ci(ci))}</div>' if ci else ""
            shown = fmt_num(x) if x is not None else "see details"
            cells.append(f'<td class="num"><b>{esc(shown)}</b>{marks}{thin}{ci_html}</td>')
        if not shown_any and not any(v.metrics[t].get(m, {}).get("details") for t in toks):
            continue
        title = str(desc.get("description") or m)
        rows.append(
            f'<tr><th scope="row"><span title="{esc(title)}">{esc(_pretty(m))}</span>'
            f'<div class="agg">{esc(agg)}</div></th><td class="unit">{esc(unit)}</td>{"".join(cells)}</tr>'
        )
    foot = ""
    if notes:
        foot = (
            '<ol class="notes">'
            + "".join(f'<li id="note-{i + 1}">{esc(n)}</li>' for i, n in enumerate(notes))
            + "</ol>"
        )
    return (
        f'<div class="tablewrap"><table class="summary"><thead><tr><th>metric</th><th>unit</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="muted small">Under each value: its 95% bootstrap interval, where one was computed. '
        "Hover a metric for its definition.</p>" + foot
    )


def _ci_strip(diff: float | None, ci: CI) -> str:
    """A tiny forest-plot cell: zero line, interval and point, scaled to this row."""
    if diff is None:
        return ""
    lo, hi = ci if ci else (diff, diff)
    span = max(abs(lo), abs(hi), abs(diff), 1e-12) * 1.15
    w, h = 100, 16

    def x(val: float) -> float:
        return w / 2 + (w / 2 - 4) * val / span

    color = "#0072B2" if ci is not None and (lo > 0 or hi < 0) else "#8a8f98"
    return (
        f'<svg class="strip" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="difference with 95% interval"><line class="ref" x1="{w / 2}" x2="{w / 2}" y1="1" '
        f'y2="{h - 1}"/><line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{h / 2}" y2="{h / 2}" stroke="{color}" '
        f'stroke-width="3" stroke-linecap="round"/><circle cx="{x(diff):.1f}" cy="{h / 2}" r="4" '
        f'fill="{color}"/></svg>'
    )


def _cmp_row(c: Mapping[str, Any]) -> str:
    diff = _num(c.get("difference", c.get("diff")))
    ci = _ci(c.get("ci"))
    thin = ' <span class="thin">thin</span>' if c.get("thin") else ""
    return (
        f"<tr><td>{esc(_pretty(str(c.get('metric', ''))))}</td><td>{esc(c.get('language') or '')}</td>"
        f"<td>{esc(c.get('a', ''))} − {esc(c.get('b', ''))}</td>"
        f'<td class="num">{esc(fmt_num(diff))}</td><td class="num ci">{esc(_fmt_ci(ci))}</td>'
        f"<td>{_ci_strip(diff, ci)}{thin}</td>"
        f'<td class="num muted">{esc(c.get("units") if c.get("units") is not None else "")}</td></tr>'
    )


def _comparisons(v: _View) -> str:
    """Overall differences as a matrix (metric x pair of tokenizers); per-language ones folded away."""
    if not v.comparisons:
        return ""
    overall = [c for c in v.comparisons if not c.get("language")]
    per_lang = [c for c in v.comparisons if c.get("language")]
    parts = []
    if overall:
        pairs: list[tuple[str, str]] = []
        metrics: list[str] = []
        cell: dict[tuple[str, tuple[str, str]], Mapping[str, Any]] = {}
        for c in overall:
            pair = (str(c.get("a", "")), str(c.get("b", "")))
            m = str(c.get("metric", ""))
            pairs += [pair] if pair not in pairs else []
            metrics += [m] if m not in metrics else []
            cell[(m, pair)] = c
        head = "".join(f'<th class="pair">{esc(a)} − {esc(b)}</th>' for a, b in pairs)
        rows = []
        for m in metrics:
            unit = str((v.descriptions.get(m) or {}).get("unit") or "")
            tds = []
            for pair in pairs:
                c = cell.get((m, pair))
                if c is None:
                    tds.append('<td class="muted">–</td>')
                    continue
                diff, ci = _num(c.get("difference", c.get("diff"))), _ci(c.get("ci"))
                thin = (
                    ' <span class="thin" title="fewer units than the minimum for a claim">thin</span>'
                    if (c.get("thin"))
                    else ""
                )
                sig = ci is not None and (ci[0] > 0 or ci[1] < 0)
                tip = f"{pair[0]} − {pair[1]}: {fmt_num(diff)}" + (
                    f", 95% interval {_fmt_ci(ci)}" if ci else ""
                )
                if c.get("units") is not None:
                    tip += f", {c['units']} units"
                tds.append(
                    f'<td title="{esc(tip)}"><div class="cmpc">{_ci_strip(diff, ci)}'
                    f'<span class="{"sig" if sig else "ns"}">{esc(fmt_num(diff))}</span>'
                    f'<span class="ci">{esc(_fmt_ci(ci))}</span>{thin}</div></td>'
                )
            rows.append(
                f'<tr><th scope="row">{esc(_pretty(m))}<div class="agg">{esc(unit)}</div></th>'
                f"{''.join(tds)}</tr>"
            )
        parts.append(
            f'<div class="tablewrap"><table class="cmp"><thead><tr><th>metric</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
    if per_lang:
        shown = per_lang[:_MAX_LANG_COMPARISONS]
        more = (
            f" (the first {len(shown)} of {len(per_lang)}; all of them are in the embedded JSON)"
            if len(shown) < len(per_lang)
            else f" ({len(per_lang)})"
        )
        head = (
            "<th>metric</th><th>language</th><th>A − B</th><th class=num>difference</th>"
            "<th class=num>95% interval</th><th></th><th class=num>units</th>"
        )
        rows = "".join(_cmp_row(c) for c in shown)
        parts.append(
            f"<details><summary>Per-language comparisons{esc(more)}</summary>"
            f'<div class="tablewrap tall"><table class="cmp"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div></details>"
        )
    parts.append(
        '<p class="muted small">Paired bootstrap over the same documents. The dashed line is zero; an '
        "interval that excludes it is drawn in blue (a difference the data supports), one that crosses it "
        "in grey. “thin”: fewer units than the minimum for a claim.</p>"
    )
    return "".join(parts)


def _compression(v: _View, colors: Mapping[str, str], top_n: int) -> str:
    per = {t: p.bytes_per_token for t, p in v.parallel.items() if p.bytes_per_token}
    if not per:
        return ""
    langs = sorted({lang for d in per.values() for lang in d})
    mean = {lang: _mean([per[t][lang][0] for t in per if lang in per[t]]) for lang in langs}
    order = sorted(langs, key=lambda lang: (mean[lang] if mean[lang] is not None else math.inf, lang))

    def chart(rows: list[str], title: str) -> str:
        def col(t: str, i: int) -> list[float | None]:
            out: list[float | None] = []
            for r in rows:
                x, ci = per[t].get(r, (None, None))
                out.append(x if i == 0 else (ci[i - 1] if ci else None))
            return out

        series = [Series(t, col(t, 0), col(t, 1), col(t, 2), colors[t]) for t in per]
        return dot_plot(
            rows, series, title=title, unit="bytes/token (higher = more text per token)", zero=True
        )

    rows = _lang_rows(order, top_n)
    body = f'<div class="fig">{chart(rows, "Compression per language")}</div>'
    if len(rows) < len(order):
        body = (
            f'<p class="muted small">The {top_n} least and the {top_n} most compressed of {len(order)} '
            "languages; every language below.</p>"
            + body
            + f'<details><summary>All {len(order)} languages</summary><div class="fig scroll">'
            f"{chart(order, 'Compression, all languages')}</div></details>"
        )
    return _section(
        "compression",
        "Compression per language",
        body,
        "UTF-8 bytes of text per token in each language of the parallel corpus, with 95% intervals; "
        "sorted from the least compressed (top) to the most.",
    )


def _premium(v: _View, colors: Mapping[str, str], top_n: int) -> str:
    per = {t: {k: x for k, x in p.premium.items() if k not in p.flagged} for t, p in v.parallel.items()}
    per = {t: d for t, d in per.items() if d}
    if not per:
        return ""
    flagged = {t: v.parallel[t].flagged for t in per}
    pivot = next((p.pivot for p in v.parallel.values() if p.pivot), None) or "pivot"
    langs = sorted({lang for d in per.values() for lang in d})
    mean = {lang: _mean([per[t][lang][0] for t in per if lang in per[t]]) for lang in langs}
    order = sorted(langs, key=lambda lang: (-(mean[lang] if mean[lang] is not None else -math.inf), lang))

    def chart(rows: list[str], title: str) -> str:
        def col(t: str, i: int) -> list[float | None]:
            out: list[float | None] = []
            for r in rows:
                x, ci = per[t].get(r, (None, None))
                out.append(x if i == 0 else (ci[i - 1] if ci else None))
            return out

        series = [
            Series(
                t,
                col(t, 0),
                col(t, 1),
                col(t, 2),
                colors[t],
                ["flagged (unknown tokens)" if r in flagged[t] else None for r in rows],
            )
            for t in per
        ]
        return hbar_chart(
            rows,
            series,
            title=title,
            unit=f"tokens(L) / tokens({pivot})",
            reference=1.0,
            reference_label=f"{pivot} = 1",
            fmt=lambda x: f"{fmt_num(x)}×" if x is not None else "–",
        )

    rows = _lang_rows(order, top_n)
    body = f'<div class="fig">{chart(rows, "Token premium per language")}</div>'
    if len(rows) < len(order):
        body = (
            f'<p class="muted small">The {top_n} most and the {top_n} least expensive of {len(order)} '
            "languages; every language below.</p>"
            + body
            + f'<details><summary>All {len(order)} languages</summary><div class="fig scroll">'
            f"{chart(order, 'Token premium, all languages')}</div></details>"
        )
    flag_items = [f"<li>{_swatch(t, colors)}: {esc(', '.join(f))}</li>" for t, f in flagged.items() if f]
    if flag_items:
        body += (
            '<div class="warn"><b>Flagged, not ranked:</b> unknown tokens cover more than 10% of the text, '
            f"so token counts say nothing about it.<ul>{''.join(flag_items)}</ul></div>"
        )
    return _section(
        "premium",
        "Token premium",
        body,
        f"How many tokens the same content costs in each language relative to {esc(pivot)}, with "
        "95% bootstrap intervals; sorted from the most expensive.",
    )


def _lorenz(v: _View, colors: Mapping[str, str]) -> str:
    lines = []
    for t, p in v.parallel.items():
        if not p.lorenz:
            continue
        g, ci = p.gini
        name = t if g is None else f"{t} · Gini {fmt_num(g)}" + (f" ({_fmt_ci(ci)})" if ci else "")
        lines.append(Line(name, p.lorenz, colors[t]))
    if not lines:
        return ""
    svg = line_chart(
        lines,
        title="Lorenz curve of token counts across languages",
        x_label="cumulative share of languages (cheapest first)",
        y_label="cumulative share of tokens",
        diagonal=True,
        diagonal_label="perfect parity",
        percent=True,
    )
    return _section(
        "lorenz",
        "Inequality across languages",
        f'<div class="fig">{svg}</div>',
        "Lorenz curve of each tokenizer's token counts over the languages of the parallel corpus: the "
        "further below the diagonal, the more unequal the cost. Gini = twice the area in between.",
    )


def _heat_grid(hm: Any) -> tuple[list[str], list[str], list[list[float | None]]] | None:
    """(rows, columns, shares) from `{"lengths", "patterns", "shares"}` or `{row: {column: value}}`."""
    if not isinstance(hm, Mapping) or not hm:
        return None
    rows_k = next((k for k in ("lengths", "rows", "digit_lengths") if k in hm), None)
    cols_k = next((k for k in ("patterns", "cols", "columns") if k in hm), None)
    vals_k = next((k for k in ("shares", "values", "counts") if k in hm), None)
    if rows_k and cols_k and vals_k:
        vals = [[_num(x) for x in row] for row in hm[vals_k]]
        if vals_k == "counts":
            vals = [
                [(x / s if s else None) if x is not None else None for x in row]
                for row, s in ((r, sum(x or 0.0 for x in r)) for r in vals)
            ]
        return [str(r) for r in hm[rows_k]], [str(c) for c in hm[cols_k]], vals
    if all(isinstance(x, Mapping) for x in hm.values()):
        rows = sorted(hm, key=lambda r: (int(r) if str(r).isdigit() else math.inf, str(r)))
        cols: list[str] = []
        for r in rows:
            cols += [str(c) for c in hm[r] if str(c) not in cols]
        raw = [[_num(hm[r].get(c)) for c in cols] for r in rows]
        totals = [sum(x or 0.0 for x in row) for row in raw]
        if any(s > 1.0 + 1e-6 for s in totals):
            raw = [
                [(x / s if s else None) if x is not None else None for x in row]
                for row, s in zip(raw, totals, strict=True)
            ]
        return [str(r) for r in rows], cols, raw
    return None


def _number_facts(v: _View, t: str) -> tuple[list[tuple[str, str]], list[str]]:
    m = v.metrics.get(t, {})
    facts: list[tuple[str, str]] = []
    flags: list[str] = []
    npat = m.get("number_patterns") or {}
    details = npat.get("details") or {}
    if details.get("dominant_pattern_4plus"):
        d = str(details["dominant_pattern_4plus"])
        facts.append(("most common split, 4+ digits", _PATTERN_NAMES.get(d, d)))
    flags += [str(n) for n in npat.get("notes") or [] if "FLAG" in str(n)]
    for key, label in (
        ("place_value_f1", "place-value F1"),
        ("tokens_per_digit", "tokens per digit"),
        ("number_split_entropy", "split entropy (bits)"),
    ):
        e = m.get(key)
        if e is not None and _num(e) is not None:
            ci = _ci(e)
            facts.append((label, fmt_num(_num(e)) + (f" ({_fmt_ci(ci)})" if ci else "")))
    ic = details.get("in_corpus")
    if isinstance(ic, Mapping) and ic.get("numbers"):
        d = str(ic.get("dominant_pattern_4plus") or "–")
        facts.append(
            (
                f"on the corpus ({ic['numbers']} numbers)",
                f"{fmt_num(_num(ic.get('tokens_per_digit')))} tokens/digit, "
                f"mostly {_PATTERN_NAMES.get(d, d)}",
            )
        )
    return facts, flags


def _numbers(v: _View, colors: Mapping[str, str]) -> str:
    figs = []
    for t in v.toks:
        grid = _heat_grid(v.heatmaps.get(t))
        facts, flags = _number_facts(v, t)
        legacy = (v.raw.get("numbers") or {}).get(t)
        if isinstance(legacy, Mapping):
            facts += [
                (_pretty(str(k)), fmt_num(_num(x)) if not isinstance(x, str) else x)
                for k, x in legacy.items()
                if k != "heatmap" and (isinstance(x, str) or _num(x) is not None)
            ]
        svg = ""
        if grid:
            rows, cols, vals = grid
            svg = heat_map(
                rows,
                [_PATTERN_NAMES.get(c, c) for c in cols],
                vals,
                title=f"Digit-string splits: {t}",
                row_title="digits in the number",
                max_value=1.0,
                cell=30,
            )
        table = "".join(f"<tr><th>{esc(k)}</th><td class='num'>{esc(x)}</td></tr>" for k, x in facts)
        table = f'<table class="facts">{table}</table>' if table else ""
        flag_html = "".join(f'<div class="warn small">{esc(f)}</div>' for f in flags)
        if svg or table:
            figs.append(
                f'<div class="hm"><h3>{_swatch(t, colors)}</h3><div class="fig">{svg}</div>'
                f"{table}{flag_html}</div>"
            )
    if not figs:
        return ""
    return _section(
        "numbers",
        "How numbers are split",
        f'<div class="hms">{"".join(figs)}</div>',
        "For each length of digit string, the share of numbers split each way: one token per digit, the "
        "whole number as one token, groups of three from the right (1|234|567: aligned with place value) or "
        "from the "
        "left (123|456|7: misaligned, known to hurt arithmetic), or otherwise.",
    )


def _pct(x: float | None) -> str:
    if x is None:
        return "–"
    return "<0.1%" if 0 < x < 0.0005 else f"{x * 100:.1f}%"


def _vocabulary(v: _View, colors: Mapping[str, str]) -> str:
    shares: dict[str, dict[str, float]] = {}
    for t in v.toks:
        d = ((v.metrics.get(t, {}).get("script_shares") or {}).get("details") or {}).get("shares")
        if isinstance(d, Mapping) and d:
            shares[t] = {str(k): float(x) for k, x in d.items() if _num(x) is not None}
    if not shares:
        return ""
    total: dict[str, float] = {}
    for d in shares.values():
        for k, x in d.items():
            total[k] = total.get(k, 0.0) + x
    top = sorted(total, key=lambda k: (-total[k], k))[:_TOP_SCRIPTS]
    rows = top + (["other"] if len(total) > len(top) else [])

    def col(t: str) -> list[float | None]:
        d = shares[t]
        out: list[float | None] = [d.get(k, 0.0) for k in top]
        if len(rows) > len(top):
            out.append(sum(x for k, x in d.items() if k not in top))
        return out

    series = [Series(t, col(t), color=colors[t]) for t in shares]
    svg = hbar_chart(
        rows,
        series,
        title="Vocabulary by script",
        unit="share of the vocabulary's text tokens",
        fmt=_pct,
        tick_fmt=lambda x: f"{x * 100:.0f}%",
    )
    return _section(
        "vocabulary",
        "Vocabulary by script",
        f'<div class="fig">{svg}</div>',
        f"Share of each vocabulary's text tokens by Unicode script (the {len(top)} largest; the rest as "
        "“other”).",
    )


def _viewer(v: _View, colors: Mapping[str, str]) -> str:
    if not v.samples:
        return ""
    blocks = []
    for si, s in enumerate(v.samples):
        rows = []
        n_text = len(s.text.encode("utf-8"))
        for t in [t for t in v.toks if t in s.tokens] + [t for t in s.tokens if t not in v.toks]:
            data, ids = s.tokens[t]
            spans = []
            pos = 0
            for ti, (tb, segs) in enumerate(zip(data, segment_tokens(data), strict=True)):
                inner = []
                for sg in segs:
                    if sg.partial:
                        what = f"part of {sg.char} (U+{ord(sg.char):04X})" if sg.char else "not UTF-8"
                        inner.append(f'<span class="hex" title="{esc(what)}">{esc(sg.hex)}</span>')
                    else:
                        inner.append(_visible_ws(sg.text or ""))
                tip = f"token {ti + 1}" + (f" · id {ids[ti]}" if ids and ti < len(ids) else "")
                tip += f" · {len(tb)} byte{'s' if len(tb) != 1 else ''}: {tb.hex(' ')}"
                cls = f"t{ti % 2}" + (" part" if any(sg.partial for sg in segs) else "")
                spans.append(
                    f'<span class="{cls}" data-b="{pos}" data-e="{pos + len(tb)}" title="{esc(tip)}">'
                    f"{''.join(inner)}</span>"
                )
                pos += len(tb)
            bpt = fmt_num(n_text / len(data)) if data else "–"
            rows.append(
                f'<div class="vrow"><div class="vname">{_swatch(t, colors)}'
                f'<span class="muted small">{len(data)} tokens · {esc(bpt)} bytes/token</span></div>'
                f'<div class="vtoks" style="--tc:{colors.get(t, "#888")}">{"".join(spans)}</div></div>'
            )
        head = f'<span class="lang">{esc(s.lang)}</span>' if s.lang else ""
        blocks.append(
            f'<div class="sample" id="sample-{si}">{head}<div class="stext">{esc(s.text)}</div>'
            f"{''.join(rows)}</div>"
        )
    return _section(
        "viewer",
        "Token boundaries",
        "".join(blocks),
        "The same text cut by each tokenizer; shading alternates from token to token. Hover a token for "
        "its bytes and to highlight the same bytes in the other rows. Hex (<span class=hex>e4 b8</span>) "
        "marks part of a character split across tokens: decoding such a token alone gives �.",
    )


def _visible_ws(s: str) -> str:
    out = esc(s).replace("\n", '<span class="ws">↵</span><br>').replace("\t", '<span class="ws">→</span>')
    return out.replace("\r", '<span class="ws">␍</span>')


def _languages_table(v: _View, colors: Mapping[str, str]) -> str:
    cols: list[tuple[str, str, dict[str, Point]]] = []
    for t, p in v.parallel.items():
        if p.premium:
            cols.append((t, "premium", p.premium))
    for t, p in v.parallel.items():
        if p.bytes_per_token:
            cols.append((t, "bytes/token", p.bytes_per_token))
    for t in v.toks:
        pl = (v.metrics.get(t, {}).get("fertility") or {}).get("per_language")
        if isinstance(pl, Mapping) and pl:
            cols.append((t, "tokens/word", _points(pl)))
    if not cols:
        return ""
    langs = sorted({lang for _, _, d in cols for lang in d})
    first = cols[0][2]
    langs.sort(key=lambda lang: (-(first.get(lang, (None, None))[0] or -math.inf), lang))
    flagged = {x for p in v.parallel.values() for x in p.flagged}
    head = "".join(
        f'<th class="num sortable" data-col="{i + 1}">{_swatch(t, colors)}<br>'
        f'<span class="muted small">{esc(what)}</span></th>'
        for i, (t, what, _) in enumerate(cols)
    )
    body = []
    for lang in langs:
        cells = []
        for _, _, d in cols:
            x, ci = d.get(lang, (None, None))
            ci_s = f' <span class="ci">{esc(_fmt_ci(ci))}</span>' if ci else ""
            cells.append(
                f'<td class="num" data-v="{"" if x is None else f"{x:.6g}"}">{esc(fmt_num(x))}{ci_s}</td>'
            )
        mark = (
            ' <span class="flag" title="unknown tokens over 10% of the text">flagged</span>'
            if lang in flagged
            else ""
        )
        body.append(f'<tr><th scope="row" data-v="{esc(lang)}">{esc(lang)}{mark}</th>{"".join(cells)}</tr>')
    table = (
        f'<div class="tablewrap tall"><table class="langs sortable-table"><thead><tr>'
        f'<th class="sortable" data-col="0">language</th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        "</table></div>"
    )
    return _section(
        "languages",
        "Every language",
        f"<details{' open' if len(langs) <= 20 else ''}><summary>Table of {len(langs)} languages "
        f"(click a column heading to sort)</summary>{table}</details>",
    )


def _kv_table(d: Mapping[str, Any]) -> str:
    rows = []
    for k, x in d.items():
        if isinstance(x, Mapping):
            cell = _kv_table(x) if x else '<span class="muted">–</span>'
        elif isinstance(x, list):
            if x and all(isinstance(i, Mapping) for i in x):
                cell = "".join(_kv_table(i) for i in x)
            elif not x:
                cell = '<span class="muted">–</span>'
            else:
                items = [str(i) for i in x]
                cell = esc(", ".join(items[:40])) + (f" … ({len(items)} in all)" if len(items) > 40 else "")
        elif x is None:
            cell = '<span class="muted">–</span>'
        elif isinstance(x, str) and _looks_like_hash(x):
            cell = f"<code>{esc(x)}</code>"
        elif isinstance(x, int) and not isinstance(x, bool):
            cell = f"{x:,}"
        else:
            cell = esc(fmt_num(x) if isinstance(x, float) else x)
        rows.append(f"<tr><th>{esc(_pretty(str(k)))}</th><td>{cell}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _looks_like_hash(s: str) -> bool:
    return len(s) >= 12 and all(c in "0123456789abcdef" for c in s.lower())


def _contract(v: _View, colors: Mapping[str, str]) -> str:
    parts = []
    r = v.raw
    for key, title in (("contract", "Measurement contract"), ("corpus", "Corpus")):
        if isinstance(r.get(key), Mapping) and r[key]:
            parts.append(f"<h3>{title}</h3>{_kv_table(r[key])}")
    tks = [t for t in r.get("tokenizers") or [] if isinstance(t, Mapping)]
    if tks:
        keys: list[str] = []
        for t in tks:
            keys += [k for k in t if k not in keys and not isinstance(t[k], (Mapping, list))]
        head = "".join(f"<th>{esc(_pretty(k))}</th>" for k in keys)
        rows = []
        for t in tks:
            cells = []
            for k in keys:
                x = t.get(k)
                if k == "name":
                    cells.append(f"<td>{_swatch(str(x), colors)}</td>")
                elif isinstance(x, str) and (_looks_like_hash(x) or "fingerprint" in k):
                    short = x if len(x) <= 16 else x[:16] + "…"
                    cells.append(f'<td><code title="{esc(x)}">{esc(short)}</code></td>')
                elif isinstance(x, (int, float)) and not isinstance(x, bool):
                    cells.append(
                        f'<td class="num">{esc(f"{x:,}" if isinstance(x, int) else fmt_num(x))}</td>'
                    )
                else:
                    cells.append(f"<td>{esc(x) if x is not None else ''}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        parts.append(
            f'<h3>Tokenizers</h3><div class="tablewrap"><table class="tk"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
    if isinstance(r.get("timing"), Mapping) and r["timing"]:
        parts.append(f"<h3>Timing (seconds)</h3>{_kv_table(r['timing'])}")
    if not parts:
        return ""
    return _section(
        "contract",
        "What was measured",
        "".join(parts),
        "What is needed to reproduce these numbers: the policies, the normalisation and the fingerprints "
        "of the exact inputs.",
    )


def _notes(v: _View) -> str:
    """Run-level notes (metric notes are footnotes of the summary; warnings sit at the top)."""
    items = [f"<li>{esc(n)}</li>" for n in v.raw.get("notes") or []]
    if not items:
        return ""
    return _section("notes", "Notes", f'<ul class="notelist">{"".join(items)}</ul>')


# --- page --------------------------------------------------------------------------------------------

_CSS = """
:root{--bg:#fff;--fg:#1d2127;--muted:#667080;--line:#e3e6ea;--band:#f6f7f9;--card:#fafbfc;--accent:#0072B2;
--warn-bg:#fff7e6;--warn-line:#f0c36d;--t0:rgba(0,114,178,.10);--t1:rgba(230,159,0,.16);--hl:rgba(213,94,0,.35)}
@media (prefers-color-scheme:dark){:root{--bg:#14171b;--fg:#e4e7eb;--muted:#9aa3ae;--line:#2c3138;
--band:#1b1f24;
--card:#1a1e23;--warn-bg:#2a2416;--warn-line:#8a6d2f;--t0:rgba(86,180,233,.18);--t1:rgba(230,159,0,.20)}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1120px;padding:28px 28px 80px;font:15px/1.55 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;font-variant-numeric:tabular-nums}
h1{font-size:28px;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:20px;margin:44px 0 6px;padding-top:10px;border-top:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
.sub{color:var(--muted);margin:0 0 18px}
nav{position:sticky;top:0;background:var(--bg);padding:8px 0;border-bottom:1px solid var(--line);z-index:5;
font-size:13px}
nav a{color:var(--muted);text-decoration:none;margin-right:14px;white-space:nowrap}
nav a:hover{color:var(--accent)}
a{color:var(--accent)}
.intro{color:var(--muted);max-width:82ch;margin:0 0 14px}
.muted{color:var(--muted)}.small{font-size:12.5px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px;margin:18px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .ct{font-weight:600;font-size:13.5px}.card .cu{color:var(--muted);font-size:12px;margin-bottom:6px}
.hv{display:flex;align-items:baseline;gap:8px;font-size:13px;margin:3px 0}
.hv b{font-size:18px;margin-left:auto}.hv .ci{min-width:6.5em;text-align:right;white-space:nowrap}
.sw{display:inline-block;flex:none;width:10px;height:10px;border-radius:2px;margin-right:6px}
.ci{color:var(--muted);font-size:11.5px;font-weight:400}
.warn{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:8px;padding:10px 14px;
margin:14px 0;font-size:14px}.warn ul{margin:6px 0 0;padding-left:20px}
.tablewrap{overflow-x:auto}
.tablewrap.tall{max-height:620px;overflow-y:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;font-size:13.5px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:var(--bg);font-weight:600;border-bottom:2px solid var(--line);
z-index:1}
td.num,th.num{text-align:right}
table.summary th[scope=row]{font-weight:500;min-width:12em}
.agg{color:var(--muted);font-size:11.5px;font-weight:400;max-width:28em}
tr.fam th{background:var(--band);font-size:12px;text-transform:uppercase;letter-spacing:.05em;
color:var(--muted)}
td.unit{color:var(--muted);font-size:12.5px}
tbody tr:hover{background:var(--band)}
th.sortable{cursor:pointer;user-select:none}th.sortable:after{content:" ↕";color:var(--muted);font-size:11px}
.flag,.thin{font-size:10.5px;color:#b35c00;border:1px solid var(--warn-line);border-radius:4px;padding:0 4px;
font-weight:400}
ol.notes{font-size:12.5px;color:var(--muted)}
.fig{margin:8px 0 4px;overflow-x:auto}
.fig.scroll{max-height:640px;overflow-y:auto;border:1px solid var(--line);border-radius:8px;padding:6px}
details{margin:10px 0}summary{cursor:pointer;color:var(--accent);font-size:14px}
svg.chart{max-width:100%;height:auto;display:block}
svg .ax{fill:var(--muted);font-size:11px}svg .lbl{fill:var(--fg);font-size:12px}
svg .val{fill:var(--muted)}svg .gap{fill:var(--muted);font-size:16px}
svg .grid{stroke:var(--line);stroke-width:1}svg .frame{fill:none;stroke:var(--line)}
svg .ref{stroke:var(--fg);stroke-width:1.2;stroke-dasharray:4 3;opacity:.6}
svg .ref-lbl{fill:var(--muted);font-size:11px}
svg .whisker{stroke:var(--fg);stroke-width:1.2;fill:none;opacity:.75}svg .band{fill:var(--band)}
svg .empty{fill:var(--band)}
.hms{display:flex;flex-wrap:wrap;gap:24px}.hm{flex:0 1 330px;max-width:100%}.hm h3{margin:6px 0}
table.cmp th.pair{text-align:left;white-space:nowrap}
.cmpc{display:flex;align-items:center;gap:6px;white-space:nowrap}
.cmpc .sig{font-weight:600}.cmpc .ns{color:var(--muted)}svg.strip{flex:none}
table.facts{font-size:12.5px;margin-top:6px}table.facts th{font-weight:500}
.sample{border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:14px 0}
.sample .lang{font-size:11.5px;color:var(--muted);border:1px solid var(--line);border-radius:4px;
padding:0 5px;float:right}
.stext{font-size:13px;color:var(--muted);margin-bottom:8px;white-space:pre-wrap}
.vrow{display:grid;grid-template-columns:190px 1fr;gap:12px;padding:7px 0;border-top:1px dashed var(--line)}
.vname{font-size:13.5px;font-weight:600}.vname .small{display:block;font-weight:400}
.vtoks{font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,"Noto Sans Mono",monospace}
.vtoks>span{display:inline-block;white-space:pre;border-left:2px solid var(--tc);padding:1px 1px;margin:2px 0;
border-radius:2px;cursor:default}
.vtoks .t0{background:var(--t0)}.vtoks .t1{background:var(--t1)}
.vtoks .part{outline:1px dashed #D55E00;outline-offset:-1px}
.vtoks .hl{background:var(--hl)!important}
.hex{font:10.5px ui-monospace,monospace;color:#D55E00;padding:0 3px 0 1px}
.ws{color:var(--muted);opacity:.7}
table.kv{font-size:13px;margin:4px 0}table.kv th{font-weight:500;color:var(--muted);width:15em}
table.kv table.kv{margin:0}table.kv table.kv th{width:auto}
ul.notelist li{margin:4px 0}ul.notelist li.w{color:#b35c00}
footer{margin-top:50px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:12px}
@media (max-width:720px){.vrow{grid-template-columns:1fr}body{padding:16px}}
@media print{nav{display:none}.tablewrap.tall,.fig.scroll{max-height:none}}
"""

# Hover-linked boundaries across tokenizers, and click-to-sort tables. Optional: the page reads without it.
_JS = """
(function(){
document.querySelectorAll('.sample').forEach(function(s){
  s.addEventListener('mouseover',function(e){
    var t=e.target.closest('.vtoks>span');if(!t)return;
    var b=+t.dataset.b,en=+t.dataset.e;
    s.querySelectorAll('.vtoks>span').forEach(function(o){
      o.classList.toggle('hl',o.parentNode!==t.parentNode&&+o.dataset.b<en&&+o.dataset.e>b);});});
  s.addEventListener('mouseleave',function(){
    s.querySelectorAll('.vtoks>span.hl').forEach(function(o){o.classList.remove('hl');});});
});
document.querySelectorAll('table.sortable-table').forEach(function(tb){
  tb.querySelectorAll('th.sortable').forEach(function(h){
    h.addEventListener('click',function(){
      var c=+h.dataset.col,asc=h.dataset.dir!=='asc';h.dataset.dir=asc?'asc':'desc';
      var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[c].dataset.v,y=b.cells[c].dataset.v,nx=parseFloat(x),ny=parseFloat(y);
        if(x===''&&y!=='')return 1;if(y===''&&x!=='')return -1;
        var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return asc?r:-r;});
      rows.forEach(function(r){body.appendChild(r);});});});
});
})();
"""

_NAV = (
    ("summary", "Summary"),
    ("comparisons", "Comparisons"),
    ("compression", "Compression"),
    ("premium", "Premium"),
    ("lorenz", "Inequality"),
    ("numbers", "Numbers"),
    ("vocabulary", "Scripts"),
    ("viewer", "Boundaries"),
    ("languages", "All languages"),
    ("notes", "Notes"),
    ("contract", "Contract"),
)


def _json_safe(x: Any) -> Any:
    """NaN and infinities to null (JSON.parse rejects them); bytes to hex."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _json_safe(i) for k, i in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(i) for i in x]
    if isinstance(x, bytes):
        return x.hex()
    return x


def _subtitle(v: _View) -> str:
    bits = []
    if v.toks:
        bits.append(f"{len(v.toks)} tokenizer{'s' if len(v.toks) != 1 else ''}")
    n_langs = len({lang for p in v.parallel.values() for lang in p.premium or p.bytes_per_token})
    if n_langs:
        bits.append(f"{n_langs} languages")
    corpus = v.raw.get("corpus")
    if isinstance(corpus, Mapping):
        docs = [c.get("documents") for c in corpus.values() if isinstance(c, Mapping) and c.get("documents")]
        if not docs and isinstance(corpus.get("documents"), int):
            docs = [corpus["documents"]]
        if docs:
            bits.append(f"{sum(int(d) for d in docs):,} documents")
        name = corpus.get("name") or corpus.get("path")
        if name:
            bits.append(f"corpus {name}")
    pivot = next((p.pivot for p in v.parallel.values() if p.pivot), None)
    if pivot:
        bits.append(f"pivot {pivot}")
    return " · ".join(bits)


def render_report(results: Mapping[str, Any], *, title: str | None = None, top_n: int = 15) -> str:
    """The report as one self-contained HTML document (no network access needed to view it).

    Args:
        results: the dict of `EvalResults.to_dict()`; missing sections are skipped.
        title: page title (default: "Tokenizer report: <names>").
        top_n: with more than 40 languages, charts show the `top_n` highest and lowest and fold the rest
            into a scrollable "all languages" view.

    >>> html = render_report({"tokenizers": [{"name": "a"}]})
    >>> html.startswith("<!DOCTYPE html>") and "Tokenizer report: a" in html
    True
    """
    v = _view(results)
    colors = {t: color_for(i) for i, t in enumerate(v.toks)}
    page_title = title or ("Tokenizer report: " + ", ".join(v.toks) if v.toks else "Tokenizer report")
    parts = [_headline(v, colors), _warnings_box(v)]
    summary = _summary_table(v, colors)
    if summary:
        parts.append(
            _section(
                "summary",
                "Summary",
                summary,
                "Every metric for every tokenizer, with its unit and how it was aggregated.",
            )
        )
    comparisons = _comparisons(v)
    if comparisons:
        parts.append(
            _section(
                "comparisons",
                "Comparisons",
                comparisons,
                "Differences between tokenizers on the same documents (A − B).",
            )
        )
    parts += [
        _compression(v, colors, top_n),
        _premium(v, colors, top_n),
        _lorenz(v, colors),
        _numbers(v, colors),
        _vocabulary(v, colors),
        _viewer(v, colors),
        _languages_table(v, colors),
        _notes(v),
        _contract(v, colors),
    ]
    body = "".join(p for p in parts if p)
    nav = "".join(f'<a href="#{a}">{esc(n)}</a>' for a, n in _NAV if f'<section id="{a}">' in body)
    # Embedded so the file alone carries the numbers; "<", ">" and "&" escaped so no text can end the script.
    data = json.dumps(_json_safe(results), ensure_ascii=False, sort_keys=True, default=str)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    from toksmith import __version__

    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        # The report must open offline: forbid every fetch, even if some text slipped through.
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f'<meta name="generator" content="toksmith {esc(__version__)}">'
        f"<title>{esc(page_title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{esc(page_title)}</h1><p class="sub">{esc(_subtitle(v))}</p></header>'
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>toksmith {esc(__version__)}"
        f"{' · schema ' + esc(results['schema']) if results.get('schema') else ''}. "
        "This file is self-contained: it loads nothing from the network. "
        "The full results are embedded as JSON "
        "(<code>script#results</code>).</footer>"
        f'<script type="application/json" id="results">{data}</script>'
        f"<script>{_JS}</script></body></html>\n"
    )


def write_report(results: Mapping[str, Any], path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render the report and write it atomically to `path`; returns the path.

    Args:
        results: as for `render_report`.
        path: the .html file to write (its directory must exist).
        **kwargs: passed to `render_report` (`title`, `top_n`).
    """
    return atomic_write_text(Path(path), render_report(results, **kwargs))
