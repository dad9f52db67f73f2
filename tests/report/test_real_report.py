"""A report from a real `evaluate()` run on the built-in demo corpus with real tokenizers."""

from __future__ import annotations

import re

import pytest

from toksmith.report.html import render_report


@pytest.fixture(scope="module")
def real_results(smollm2, cl100k) -> dict:
    from toksmith.evaluate import evaluate

    return evaluate([smollm2, cl100k], metrics=["compression", "parallel", "numbers", "vocabulary"]).to_dict()


def test_real_results_render_every_plot(real_results: dict) -> None:
    html = render_report(real_results)
    for anchor in (
        "summary",
        "comparisons",
        "compression",
        "premium",
        "lorenz",
        "numbers",
        "vocabulary",
        "viewer",
        "languages",
        "contract",
    ):
        assert f'<section id="{anchor}">' in html, anchor
    assert "Tokenizer report: smollm2, cl100k" in html and "14 languages" in html
    # cl100k groups digits left to right in threes: the report says so.
    numbers = html.split('<section id="numbers">', 1)[1].split("</section>", 1)[0]
    assert "left-to-right 3s" in numbers
    # smollm2 splits CJK characters into bytes: the viewer shows them as hex.
    viewer = html.split('<section id="viewer">', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<span class="hex" title="part of .+? \(U\+[0-9A-F]{4}\)">[0-9a-f]{2}', viewer)
    assert not re.search(r'(src|href)="(https?:)?//', html)
