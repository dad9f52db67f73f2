"""A results dict with every section the report knows, in the shape `toksmith.evaluate` returns.

The numbers are hand-picked inputs for rendering tests (they exercise layout and escaping), not
measurements.
"""

from __future__ import annotations

import pytest

HOSTILE = '<script>alert("x")</script> & <img src="https://evil.example/x.png"> "quoted"'


def _premium(values: dict[str, float], flagged: tuple[str, ...] = ()) -> dict:
    per = {}
    for lang, v in values.items():
        per[lang] = {
            "value": v,
            "ci": [v * 0.95, v * 1.05],
            "units": 17,
            "bytes_per_token": 4.0 / v,
            "bytes_per_token_ci": [3.8 / v, 4.2 / v],
            "flagged": lang in flagged,
        }
    ranked = sorted((k for k in values if k not in flagged), key=values.__getitem__)
    return {
        "value": sum(values[k] for k in ranked) / len(ranked),
        "unit": "tokens(L)/tokens(pivot)",
        "aggregation": "per language: ratio of totals",
        "ci": None,
        "units": len(values),
        "per_language": per,
        "notes": ["pivot: eng"],
        "details": {"pivot": "eng", "ranked": ranked, "flagged": list(flagged)},
    }


def _metrics(scale: float, flagged: tuple[str, ...] = ()) -> dict:
    prem = {"eng": 1.0, "deu": 1.2 * scale, "hin": 2.5 * scale, "jpn": 1.4 * scale, "<b>bad</b>": 1.1}
    heat = [[1.0, 0, 0, 0, 0, 0]] + [[0.0, 0.0, 0.0, 0.9, 0.1, 0.0] for _ in range(11)]
    return {
        "bytes_per_token": {
            "value": 4.1 * scale,
            "unit": "bytes/token",
            "aggregation": "ratio of totals",
            "ci": [4.0 * scale, 4.2 * scale],
            "per_language": None,
            "notes": [],
        },
        "fertility": {
            "value": 1.3,
            "unit": "tokens/word",
            "aggregation": "ratio of totals over words",
            "ci": [1.25, 1.35],
            "per_language": None,
            "notes": ["thin sample: 17 documents"],
        },
        "premium": _premium(prem, flagged),
        "gini": {
            "value": 0.21 * scale,
            "unit": "Gini coefficient (0 = equal)",
            "aggregation": "across languages",
            "ci": [0.18, 0.25],
            "notes": [],
            "details": {"lorenz": [[0.0, 0.0], [0.25, 0.15], [0.5, 0.33], [0.75, 0.55], [1.0, 1.0]]},
        },
        "number_patterns": {
            "value": 0.0,
            "unit": "share of numbers",
            "aggregation": "probe set",
            "ci": None,
            "notes": ["FLAG: numbers are grouped left-to-right in threes"],
            "details": {
                "heatmap": {
                    "lengths": list(range(1, 13)),
                    "patterns": ["single", "whole", "r2l", "l2r", "l2r=r2l", "other"],
                    "shares": heat,
                },
                "dominant_pattern_4plus": "l2r",
            },
        },
        "place_value_f1": {"value": 0.25, "unit": "F1", "aggregation": "probe set", "ci": [0.2, 0.3]},
    }


@pytest.fixture
def full_results() -> dict:
    return {
        "contract": {
            "special_tokens": "not counted (encode without BOS/EOS)",
            "normalisation": "none (NFC input)",
            "bootstrap": {"resamples": 1000, "seed": 0},
        },
        "corpus": {"name": "demo", "sha256": "0123456789abcdef0123", "documents": 238},
        "tokenizers": [
            {
                "name": "alpha",
                "family": "byte-level-bpe",
                "vocab_size": 49152,
                "fingerprint": "a1b2c3d4e5f60718",
            },
            {
                "name": "beta<i>",
                "family": "tiktoken",
                "vocab_size": 100277,
                "fingerprint": "ffeeddccbbaa0099",
            },
        ],
        "results": {"alpha": _metrics(1.0), "beta<i>": _metrics(0.9, flagged=("jpn",))},
        "comparisons": [
            {
                "metric": "bytes_per_token",
                "a": "alpha",
                "b": "beta<i>",
                "difference": 0.41,
                "ci": [0.3, 0.52],
            },
            {"metric": "fertility", "a": "alpha", "b": "beta<i>", "difference": -0.01, "ci": [-0.04, 0.02]},
        ],
        "samples": [
            {
                "text": "Hello 世界",
                "lang": "eng",
                "tokens": {
                    "alpha": {"ids": [1, 2, 3, 4], "offsets": [[0, 5], [5, 6], [6, 8], [8, 12]]},
                    "beta<i>": {"ids": [9, 8], "offsets": [[0, 6], [6, 12]]},
                },
            },
            {
                "text": HOSTILE,
                "lang": "x<y",
                "tokens": {"alpha": {"ids": [5], "offsets": [[0, len(HOSTILE.encode())]]}},
            },
        ],
        "warnings": ["thin sample: only 17 lines per language </li><script>"],
        "notes": ["demo corpus"],
    }
