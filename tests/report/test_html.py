"""The HTML report: self-contained (no network), every section present, hostile text escaped."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from conftest import HOSTILE
from toksmith.report.html import render_report, write_report
from toksmith.report.svg import GAP, Series, fmt_num, hbar_chart, nice_ticks

URL_ATTRS = {
    "src",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "data",
    "poster",
    "srcset",
    "background",
    "ping",
}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies.append(data)


def _parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


def test_no_network_request_possible(full_results: dict) -> None:
    html = render_report(full_results)
    p = _parse(html)
    for tag, attrs in p.tags:
        for name, value in attrs.items():
            if name in URL_ATTRS and value is not None:
                assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, name, value)
                assert value.startswith("#"), (tag, name, value)  # only in-page anchors
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the CSP forbids fetches even if something slipped through


def test_every_section_is_present(full_results: dict) -> None:
    html = render_report(full_results)
    for anchor in (
        "summary",
        "comparisons",
        "compression",
        "premium",
        "lorenz",
        "numbers",
        "viewer",
        "languages",
        "notes",
        "contract",
    ):
        assert f'<section id="{anchor}">' in html, anchor
    for plot in ("compression", "premium", "lorenz", "numbers"):
        section = html.split(f'<section id="{plot}">', 1)[1].split("</section>", 1)[0]
        assert "<svg" in section, plot
    assert "Gini 0.21" in html  # Gini in the Lorenz legend
    assert "left-to-right 3s" in html and "FLAG: numbers are grouped" in html
    assert "eng = 1" in html  # the pivot reference line of the premium bars
    assert "flagged" in html.split('<section id="premium">', 1)[1].split("</section>", 1)[0]


def test_every_svg_is_well_formed_xml(full_results: dict) -> None:
    html = render_report(full_results)
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) >= 6
    for s in svgs:
        ET.fromstring(s)


def test_hostile_text_is_escaped(full_results: dict) -> None:
    html = render_report(full_results)
    p = _parse(html)
    # Exactly two script elements: the embedded JSON and the page's own few lines.
    assert [t for t, _ in p.tags].count("script") == 2
    assert "<script>alert" not in html
    assert '<img src="https' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "beta&lt;i&gt;" in html and "<b>bad</b>" not in html
    assert "</li><script>" not in html
    # The embedded JSON cannot end its script element and parses back to the input.
    data = p.script_bodies[0]
    assert "</" not in data
    assert json.loads(data)["samples"][1]["text"] == HOSTILE


def test_boundary_viewer_shows_split_characters_in_hex(full_results: dict) -> None:
    html = render_report(full_results)
    viewer = html.split('<section id="viewer">', 1)[1].split("</section>", 1)[0]
    # alpha: "Hello" " " e4b8 | 96 e7958c -> 世 split after two bytes, 界 whole in the 4th token
    assert '<span class="hex" title="part of 世 (U+4E16)">e4 b8</span>' in viewer
    assert '<span class="hex" title="part of 世 (U+4E16)">96</span>界' in viewer
    assert 'data-b="6" data-e="8"' in viewer and "4 tokens · 3.00 bytes/token" in viewer


def test_renders_whatever_is_present() -> None:
    assert "<main></main>" in render_report({})
    html = render_report({"tokenizers": [{"name": "x"}], "warnings": ["w1"]})
    assert "w1" in html and '<section id="premium">' not in html
    html = render_report({"results": {"x": {"bytes_per_token": {"value": 3.5, "unit": "bytes/token"}}}})
    assert '<section id="summary">' in html and "3.50" in html


def test_parallel_and_numbers_sections_from_metric_results() -> None:
    """Without the "report" view, premiums, Gini and the heat map are read from the metric results."""
    res = {
        "results": {
            "t": {
                "premium": {
                    "value": 1.3,
                    "per_language": {"eng": {"value": 1.0}, "deu": {"value": 1.3, "ci": [1.2, 1.4]}},
                    "details": {"pivot": "eng", "flagged": []},
                },
                "gini": {"value": 0.1, "details": {"lorenz": [[0, 0], [0.5, 0.4], [1, 1]]}},
                "number_patterns": {
                    "value": 0.0,
                    "details": {"heatmap": {"lengths": [3], "patterns": ["3", "1+2"], "shares": [[0.8, 0.2]]}},
                },
            }
        },
    }
    html = render_report(res)
    assert '<section id="premium">' in html and '<section id="lorenz">' in html
    assert "80%" in html and "20%" in html  # shares per digit length


def test_many_languages_fold_into_top_and_bottom(full_results: dict) -> None:
    langs = [f"l{i:03d}" for i in range(388)]
    per = {
        lang: {"value": 1 + i / 100, "ci": [1 + i / 100 - 0.01, 1 + i / 100 + 0.01]}
        for i, lang in enumerate(langs)
    }
    res = {"results": {"t": {"premium": {"per_language": per, "details": {"pivot": "l000"}}}}}
    html = render_report(res, top_n=10)
    section = html.split('<section id="premium">', 1)[1].split("</section>", 1)[0]
    first_chart = section.split("<details>", 1)[0]
    assert GAP in first_chart and ">l387<" in first_chart and ">l200<" not in first_chart
    assert "All 388 languages" in section and ">l200<" in section.split("<details>", 1)[1]
    assert "Table of 388 languages" in html


def test_write_report_is_atomic_and_deterministic(tmp_path, full_results: dict) -> None:
    out = write_report(full_results, tmp_path / "report.html")
    first = out.read_bytes()
    write_report(full_results, out)
    assert out.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_svg_helpers() -> None:
    assert nice_ticks(0, 2.3) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert fmt_num(3.14159) == "3.14" and fmt_num(0.0123456) == "0.0123" and fmt_num(12345.6) == "12346"
    svg = hbar_chart(
        ["a", GAP, "<z>"],
        [Series("s", [1.0, None, 2.0], [0.9, None, 1.8], [1.1, None, 2.2])],
        title="t & u",
        reference=1.0,
        reference_label="ref",
    )
    root = ET.fromstring(svg)
    assert root.tag == "svg" and "&lt;z&gt;" in svg and "t &amp; u" in svg
    assert svg.count("<rect") == 2  # one bar per value; the GAP row has none


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_numbers_do_not_break_the_page(bad: float) -> None:
    html = render_report({"results": {"x": {"m": {"value": bad, "ci": [bad, 1.0]}}}})
    data = _parse(html).script_bodies[0]
    assert json.loads(data)["results"]["x"]["m"]["value"] is None


def test_only_the_results_schema_is_read() -> None:
    """Per-tokenizer entries under "metrics" (an old shape) are metric descriptions now, not results."""
    html = render_report({"metrics": {"x": {"bytes_per_token": {"value": 3.5, "unit": "bytes/token"}}}})
    assert '<section id="summary">' not in html
    assert "<style>" in html and ":root{" in html  # the stylesheet comes from the package data
