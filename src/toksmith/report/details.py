"""Report sections for a closer look: the token-boundary viewer, the all-languages table, notes, contract."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from toksmith.report.boundaries import segment_tokens
from toksmith.report.reader import Point, ReportView, fmt_ci, points, pretty
from toksmith.report.summary import section, swatch
from toksmith.report.svg import esc, fmt_num

__all__ = ["contract", "languages_table", "notes", "viewer"]


def viewer(v: ReportView, colors: Mapping[str, str]) -> str:
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
                f'<div class="vrow"><div class="vname">{swatch(t, colors)}'
                f'<span class="muted small">{len(data)} tokens · {esc(bpt)} bytes/token</span></div>'
                f'<div class="vtoks" style="--tc:{colors.get(t, "#888")}">{"".join(spans)}</div></div>'
            )
        head = f'<span class="lang">{esc(s.lang)}</span>' if s.lang else ""
        blocks.append(
            f'<div class="sample" id="sample-{si}">{head}<div class="stext">{esc(s.text)}</div>'
            f"{''.join(rows)}</div>"
        )
    return section(
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


def languages_table(v: ReportView, colors: Mapping[str, str]) -> str:
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
            cols.append((t, "tokens/word", points(pl)))
    if not cols:
        return ""
    langs = sorted({lang for _, _, d in cols for lang in d})
    first = cols[0][2]
    langs.sort(key=lambda lang: (-(first.get(lang, (None, None))[0] or -math.inf), lang))
    flagged = {x for p in v.parallel.values() for x in p.flagged}
    head = "".join(
        f'<th class="num sortable" data-col="{i + 1}">{swatch(t, colors)}<br>'
        f'<span class="muted small">{esc(what)}</span></th>'
        for i, (t, what, _) in enumerate(cols)
    )
    body = []
    for lang in langs:
        cells = []
        for _, _, d in cols:
            x, ci = d.get(lang, (None, None))
            ci_s = f' <span class="ci">{esc(fmt_ci(ci))}</span>' if ci else ""
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
    return section(
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
        rows.append(f"<tr><th>{esc(pretty(str(k)))}</th><td>{cell}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _looks_like_hash(s: str) -> bool:
    return len(s) >= 12 and all(c in "0123456789abcdef" for c in s.lower())


def contract(v: ReportView, colors: Mapping[str, str]) -> str:
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
        head = "".join(f"<th>{esc(pretty(k))}</th>" for k in keys)
        rows = []
        for t in tks:
            cells = []
            for k in keys:
                x = t.get(k)
                if k == "name":
                    cells.append(f"<td>{swatch(str(x), colors)}</td>")
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
    return section(
        "contract",
        "What was measured",
        "".join(parts),
        "What is needed to reproduce these numbers: the policies, the normalisation and the fingerprints "
        "of the exact inputs.",
    )


def notes(v: ReportView) -> str:
    """Run-level notes (metric notes are footnotes of the summary; warnings sit at the top)."""
    items = [f"<li>{esc(n)}</li>" for n in v.raw.get("notes") or []]
    if not items:
        return ""
    return section("notes", "Notes", f'<ul class="notelist">{"".join(items)}</ul>')
