"""Paired comparisons of tokenizers: every metric's difference a - b with a bootstrap interval.

The replicates of two tokenizers come from the same resamples of the same units
(`toksmith.evaluate.bootstrap`), so their difference is a paired bootstrap: the interval reflects how
the tokenizers differ, not which documents happened to be drawn.
"""

from __future__ import annotations

import itertools

import numpy as np

from toksmith.evaluate.bootstrap import MIN_UNITS, percentile_cis
from toksmith.evaluate.metric import Metric, MetricResult

__all__ = ["compare"]


def compare(
    names: list[str], results: dict[str, dict[str, MetricResult]], chosen: list[Metric]
) -> list[dict]:
    """Paired differences a - b with bootstrap intervals, for every metric (and language) both have."""
    out: list[dict] = []
    diffs: list[np.ndarray] = []
    for a, b in itertools.combinations(names, 2):
        for m in chosen:
            ra, rb = results[a].get(m.name), results[b].get(m.name)
            if ra is None or rb is None:
                continue
            for key, rep_a in ra.replicates.items():
                rep_b = rb.replicates.get(key)
                lang, fld = key
                if rep_b is None or fld != "value":
                    continue
                va = ra.value if lang is None else (ra.per_language or {}).get(lang, {}).get("value")
                vb = rb.value if lang is None else (rb.per_language or {}).get(lang, {}).get("value")
                if va is None or vb is None:
                    continue
                units = ra.units if lang is None else (ra.per_language or {}).get(lang, {}).get("units")
                diffs.append(rep_a - rep_b)
                out.append(
                    {
                        "metric": m.name,
                        "language": lang,
                        "a": a,
                        "b": b,
                        "difference": float(va) - float(vb),
                        "ci": None,
                        "significant": False,
                        "units": units,
                        "thin": units is not None and units < MIN_UNITS,
                    }
                )
    for c, ci in zip(out, percentile_cis(diffs), strict=True):
        c["ci"] = ci
        c["significant"] = bool(ci is not None and (ci[0] > 0 or ci[1] < 0))
    return out
