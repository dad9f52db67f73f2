"""Report sections drawn as inline SVG: compression, premiums, inequality, numbers, vocabulary scripts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from toksmith.report.reader import ReportView, ci_of, fmt_ci, lang_rows, num, pretty
from toksmith.report.reader import mean as mean_of
from toksmith.report.summary import section, swatch
from toksmith.report.svg import Line, Series, dot_plot, esc, fmt_num, hbar_chart, heat_map, line_chart

__all__ = ["compression", "lorenz", "numbers", "premium", "vocabulary"]

#: Scripts shown in the vocabulary chart; the rest are summed into "other".
_TOP_SCRIPTS = 12

_PATTERN_NAMES = {
    "single": "single digits",
    "whole": "one token",
    "r2l": "right-to-left 3s",
    "l2r": "left-to-right 3s",
    "l2r=r2l": "3s (either way)",
    "other": "other",
}


def compression(v: ReportView, colors: Mapping[str, str], top_n: int) -> str:
    per = {t: p.bytes_per_token for t, p in v.parallel.items() if p.bytes_per_token}
    if not per:
        return ""
    langs = sorted({lang for d in per.values() for lang in d})
    mean = {lang: mean_of([per[t][lang][0] for t in per if lang in per[t]]) for lang in langs}
    order = sorted(langs, key=lambda lang: (mean[lang] if mean[lang] is not None else math.inf, lang))

    def chart(rows: list[str], title: str) -> str:
        series = [Series(t, *_columns(per[t], rows), colors[t]) for t in per]
        return dot_plot(
            rows, series, title=title, unit="bytes/token (higher = more text per token)", zero=True
        )

    rows = lang_rows(order, top_n)
    body = f'<div class="fig">{chart(rows, "Compression per language")}</div>'
    if len(rows) < len(order):
        body = (
            f'<p class="muted small">The {top_n} least and the {top_n} most compressed of {len(order)} '
            "languages; every language below.</p>"
            + body
            + f'<details><summary>All {len(order)} languages</summary><div class="fig scroll">'
            f"{chart(order, 'Compression, all languages')}</div></details>"
        )
    return section(
        "compression",
        "Compression per language",
        body,
        "UTF-8 bytes of text per token in each language of the parallel corpus, with 95% intervals; "
        "sorted from the least compressed (top) to the most.",
    )


def _columns(values: Mapping[str, tuple], rows: list[str]) -> tuple[list, list, list]:
    """(value, low, high) per row of one tokenizer's {row: (value, (low, high) | None)}; None where absent."""
    x: list[float | None] = []
    lo: list[float | None] = []
    hi: list[float | None] = []
    for r in rows:
        v, ci = values.get(r, (None, None))
        x.append(v)
        lo.append(ci[0] if ci else None)
        hi.append(ci[1] if ci else None)
    return x, lo, hi


def premium(v: ReportView, colors: Mapping[str, str], top_n: int) -> str:
    per = {t: {k: x for k, x in p.premium.items() if k not in p.flagged} for t, p in v.parallel.items()}
    per = {t: d for t, d in per.items() if d}
    if not per:
        return ""
    flagged = {t: v.parallel[t].flagged for t in per}
    pivot = next((p.pivot for p in v.parallel.values() if p.pivot), None) or "pivot"
    langs = sorted({lang for d in per.values() for lang in d})
    mean = {lang: mean_of([per[t][lang][0] for t in per if lang in per[t]]) for lang in langs}
    order = sorted(langs, key=lambda lang: (-(mean[lang] if mean[lang] is not None else -math.inf), lang))

    def chart(rows: list[str], title: str) -> str:
        series = [
            Series(
                t,
                *_columns(per[t], rows),
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

    rows = lang_rows(order, top_n)
    body = f'<div class="fig">{chart(rows, "Token premium per language")}</div>'
    if len(rows) < len(order):
        body = (
            f'<p class="muted small">The {top_n} most and the {top_n} least expensive of {len(order)} '
            "languages; every language below.</p>"
            + body
            + f'<details><summary>All {len(order)} languages</summary><div class="fig scroll">'
            f"{chart(order, 'Token premium, all languages')}</div></details>"
        )
    flag_items = [f"<li>{swatch(t, colors)}: {esc(', '.join(f))}</li>" for t, f in flagged.items() if f]
    if flag_items:
        body += (
            '<div class="warn"><b>Flagged, not ranked:</b> unknown tokens cover more than 10% of the text, '
            f"so token counts say nothing about it.<ul>{''.join(flag_items)}</ul></div>"
        )
    return section(
        "premium",
        "Token premium",
        body,
        f"How many tokens the same content costs in each language relative to {esc(pivot)}, with "
        "95% bootstrap intervals; sorted from the most expensive.",
    )


def lorenz(v: ReportView, colors: Mapping[str, str]) -> str:
    lines = []
    for t, p in v.parallel.items():
        if not p.lorenz:
            continue
        g, ci = p.gini
        name = t if g is None else f"{t} · Gini {fmt_num(g)}" + (f" ({fmt_ci(ci)})" if ci else "")
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
    return section(
        "lorenz",
        "Inequality across languages",
        f'<div class="fig">{svg}</div>',
        "Lorenz curve of each tokenizer's token counts over the languages of the parallel corpus: the "
        "further below the diagonal, the more unequal the cost. Gini = twice the area in between.",
    )


def _heat_grid(hm: Any) -> tuple[list[str], list[str], list[list[float | None]]] | None:
    """(rows, columns, shares) of a `{"lengths", "patterns", "shares"}` heat map."""
    if not isinstance(hm, Mapping) or not all(k in hm for k in ("lengths", "patterns", "shares")):
        return None
    vals = [[num(x) for x in row] for row in hm["shares"]]
    return [str(r) for r in hm["lengths"]], [str(p) for p in hm["patterns"]], vals


def _number_facts(v: ReportView, t: str) -> tuple[list[tuple[str, str]], list[str]]:
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
        if e is not None and num(e) is not None:
            ci = ci_of(e)
            facts.append((label, fmt_num(num(e)) + (f" ({fmt_ci(ci)})" if ci else "")))
    ic = details.get("in_corpus")
    if isinstance(ic, Mapping) and ic.get("numbers"):
        d = str(ic.get("dominant_pattern_4plus") or "–")
        facts.append(
            (
                f"on the corpus ({ic['numbers']} numbers)",
                f"{fmt_num(num(ic.get('tokens_per_digit')))} tokens/digit, "
                f"mostly {_PATTERN_NAMES.get(d, d)}",
            )
        )
    return facts, flags


def numbers(v: ReportView, colors: Mapping[str, str]) -> str:
    figs = []
    for t in v.toks:
        grid = _heat_grid(v.heatmaps.get(t))
        facts, flags = _number_facts(v, t)
        legacy = (v.raw.get("numbers") or {}).get(t)
        if isinstance(legacy, Mapping):
            facts += [
                (pretty(str(k)), fmt_num(num(x)) if not isinstance(x, str) else x)
                for k, x in legacy.items()
                if k != "heatmap" and (isinstance(x, str) or num(x) is not None)
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
                f'<div class="hm"><h3>{swatch(t, colors)}</h3><div class="fig">{svg}</div>'
                f"{table}{flag_html}</div>"
            )
    if not figs:
        return ""
    return section(
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


def vocabulary(v: ReportView, colors: Mapping[str, str]) -> str:
    shares: dict[str, dict[str, float]] = {}
    for t in v.toks:
        d = ((v.metrics.get(t, {}).get("script_shares") or {}).get("details") or {}).get("shares")
        if isinstance(d, Mapping) and d:
            shares[t] = {str(k): float(x) for k, x in d.items() if num(x) is not None}
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
    return section(
        "vocabulary",
        "Vocabulary by script",
        f'<div class="fig">{svg}</div>',
        f"Share of each vocabulary's text tokens by Unicode script (the {len(top)} largest; the rest as "
        "“other”).",
    )
