"""One self-contained HTML report from an evaluation's results dict.

The page makes no network request: CSS is inline, plots are inline SVG drawn in Python
(`toksmith.report.svg`), a Content-Security-Policy forbids any fetch, and the few lines of inline
JavaScript (hover-linked token boundaries, sortable tables) are optional: the page reads fully without
them. The full results are embedded as JSON (`<script type="application/json" id="results">`).

Input: the dict of `toksmith.evaluate.EvalResults.to_dict()` (schema "toksmith.eval/1", documented in
`toksmith.evaluate.results`), read by `toksmith.report.reader`. Every section is optional; the report
renders what is present. The sections live in `summary` (words and tables), `charts` (SVG) and
`details` (viewer, languages, notes, contract); the stylesheet and script are package data
(`toksmith/report/assets/`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from toksmith.io import atomic_write_text
from toksmith.report.charts import compression, lorenz, numbers, premium, vocabulary
from toksmith.report.details import contract, languages_table, notes, viewer
from toksmith.report.reader import ReportView, read_results
from toksmith.report.summary import comparisons, headline, section, summary_table, warnings_box
from toksmith.report.svg import color_for, esc

__all__ = ["render_report", "write_report"]


@cache
def _asset(name: str) -> str:
    """A stylesheet or script of the page, from the package data (`toksmith/report/assets/`)."""
    return "\n" + files("toksmith.report").joinpath("assets", name).read_text(encoding="utf-8")


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


def _subtitle(v: ReportView) -> str:
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
    v = read_results(results)
    colors = {t: color_for(i) for i, t in enumerate(v.toks)}
    page_title = title or ("Tokenizer report: " + ", ".join(v.toks) if v.toks else "Tokenizer report")
    parts = [headline(v, colors), warnings_box(v)]
    summary = summary_table(v, colors)
    if summary:
        parts.append(
            section(
                "summary",
                "Summary",
                summary,
                "Every metric for every tokenizer, with its unit and how it was aggregated.",
            )
        )
    cmp_html = comparisons(v)
    if cmp_html:
        parts.append(
            section(
                "comparisons",
                "Comparisons",
                cmp_html,
                "Differences between tokenizers on the same documents (A − B).",
            )
        )
    parts += [
        compression(v, colors, top_n),
        premium(v, colors, top_n),
        lorenz(v, colors),
        numbers(v, colors),
        vocabulary(v, colors),
        viewer(v, colors),
        languages_table(v, colors),
        notes(v),
        contract(v, colors),
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
        f"<title>{esc(page_title)}</title><style>{_asset('report.css')}</style></head><body>"
        f'<header><h1>{esc(page_title)}</h1><p class="sub">{esc(_subtitle(v))}</p></header>'
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>toksmith {esc(__version__)}"
        f"{' · schema ' + esc(results['schema']) if results.get('schema') else ''}. "
        "This file is self-contained: it loads nothing from the network. "
        "The full results are embedded as JSON "
        "(<code>script#results</code>).</footer>"
        f'<script type="application/json" id="results">{data}</script>'
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )


def write_report(results: Mapping[str, Any], path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render the report and write it atomically to `path`; returns the path.

    Args:
        results: as for `render_report`.
        path: the .html file to write (its directory must exist).
        **kwargs: passed to `render_report` (`title`, `top_n`).
    """
    return atomic_write_text(Path(path), render_report(results, **kwargs))
