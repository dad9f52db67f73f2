"""Report sections in words and tables: headline cards, warnings, the summary table, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toksmith.report.reader import CI, ReportView, ci_of, fmt_ci, num, pretty
from toksmith.report.svg import esc, fmt_num

__all__ = ["comparisons", "headline", "metric_keys", "section", "summary_table", "swatch", "warnings_box"]

#: Headline metrics, in order.
_HEADLINE = ("bytes_per_token", "fertility", "continued_word_rate", "renyi_efficiency")
#: Per-language comparison rows listed in the page (all of them are in the embedded JSON).
_MAX_LANG_COMPARISONS = 600


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro_html}{body}</section>'


def swatch(name: str, colors: Mapping[str, str]) -> str:
    return f'<span class="sw" style="background:{colors.get(name, "#888")}"></span>{esc(name)}'


def metric_keys(v: ReportView) -> list[str]:
    keys = [k for k in v.descriptions if any(k in v.metrics.get(t, {}) for t in v.toks)]
    for t in v.toks:
        for k in v.metrics.get(t, {}):
            if k not in keys:
                keys.append(k)
    return keys


def headline(v: ReportView, colors: Mapping[str, str]) -> str:
    cards: list[str] = []
    keys = metric_keys(v)
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
                f'<div class="hv">{swatch(t, colors)}<b>{esc(fmt_num(num(e)))}</b>'
                f'<span class="ci">{esc(fmt_ci(ci_of(e)))}</span></div>'
            )
        desc = str((v.descriptions.get(m) or {}).get("description") or "")
        cards.append(
            f'<div class="card" title="{esc(desc)}"><div class="ct">{esc(pretty(m))}</div>'
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
            f'<div class="hv">{swatch(t, colors)}<b>{esc(fmt_num(median))}×</b>'
            f'<span class="ci">max {esc(worst)} {esc(fmt_num(prem[worst]))}×</span></div>'
        )
    if rows:
        cards.append(
            '<div class="card"><div class="ct">median premium</div>'
            f'<div class="cu">tokens(L) / tokens({esc(pivot or "pivot")})</div>{"".join(rows)}</div>'
        )
    rows = [
        f'<div class="hv">{swatch(t, colors)}<b>{esc(fmt_num(p.gini[0]))}</b>'
        f'<span class="ci">{esc(fmt_ci(p.gini[1]))}</span></div>'
        for t, p in v.parallel.items()
        if p.gini[0] is not None
    ]
    if rows:
        cards.append(
            '<div class="card"><div class="ct">Gini across languages</div>'
            f'<div class="cu">0 = every language pays the same</div>{"".join(rows)}</div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def warnings_box(v: ReportView) -> str:
    warns = [str(w) for w in v.raw.get("warnings") or []]
    if not warns:
        return ""
    return (
        '<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{esc(w)}</li>" for w in warns) + "</ul></div>"
    )


def summary_table(v: ReportView, colors: Mapping[str, str]) -> str:
    keys = metric_keys(v)
    toks = [t for t in v.toks if t in v.metrics]
    if not keys or not toks:
        return ""
    head = "".join(f'<th class="num">{swatch(t, colors)}</th>' for t in toks)
    rows: list[str] = []
    notes: list[str] = []
    family = None
    for m in keys:
        desc = v.descriptions.get(m) or {}
        fam = desc.get("family")
        if fam and fam != family:
            family = fam
            rows.append(f'<tr class="fam"><th colspan="{len(toks) + 2}">{esc(pretty(str(fam)))}</th></tr>')
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
                key = f"{pretty(m)}: {n}"
                if key not in notes:
                    notes.append(key)
                k = notes.index(key) + 1
                marks += f'<sup><a href="#note-{k}">{k}</a></sup>'
            x = num(e)
            shown_any = shown_any or x is not None
            ci = ci_of(e)
            thin = (
                ' <span class="thin" title="fewer units than the minimum for a claim">thin</span>'
                if (e.get("thin"))
                else ""
            )
            ci_html = f'<div class="ci">{esc(fmt_ci(ci))}</div>' if ci else ""
            shown = fmt_num(x) if x is not None else "see details"
            cells.append(f'<td class="num"><b>{esc(shown)}</b>{marks}{thin}{ci_html}</td>')
        if not shown_any and not any(v.metrics[t].get(m, {}).get("details") for t in toks):
            continue
        title = str(desc.get("description") or m)
        rows.append(
            f'<tr><th scope="row"><span title="{esc(title)}">{esc(pretty(m))}</span>'
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
    diff = num(c.get("difference", c.get("diff")))
    ci = ci_of(c.get("ci"))
    thin = ' <span class="thin">thin</span>' if c.get("thin") else ""
    return (
        f"<tr><td>{esc(pretty(str(c.get('metric', ''))))}</td><td>{esc(c.get('language') or '')}</td>"
        f"<td>{esc(c.get('a', ''))} − {esc(c.get('b', ''))}</td>"
        f'<td class="num">{esc(fmt_num(diff))}</td><td class="num ci">{esc(fmt_ci(ci))}</td>'
        f"<td>{_ci_strip(diff, ci)}{thin}</td>"
        f'<td class="num muted">{esc(c.get("units") if c.get("units") is not None else "")}</td></tr>'
    )


def comparisons(v: ReportView) -> str:
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
                diff, ci = num(c.get("difference", c.get("diff"))), ci_of(c.get("ci"))
                thin = (
                    ' <span class="thin" title="fewer units than the minimum for a claim">thin</span>'
                    if (c.get("thin"))
                    else ""
                )
                sig = ci is not None and (ci[0] > 0 or ci[1] < 0)
                tip = f"{pair[0]} − {pair[1]}: {fmt_num(diff)}" + (
                    f", 95% interval {fmt_ci(ci)}" if ci else ""
                )
                if c.get("units") is not None:
                    tip += f", {c['units']} units"
                tds.append(
                    f'<td title="{esc(tip)}"><div class="cmpc">{_ci_strip(diff, ci)}'
                    f'<span class="{"sig" if sig else "ns"}">{esc(fmt_num(diff))}</span>'
                    f'<span class="ci">{esc(fmt_ci(ci))}</span>{thin}</div></td>'
                )
            rows.append(
                f'<tr><th scope="row">{esc(pretty(m))}<div class="agg">{esc(unit)}</div></th>'
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
