"""`Metric` and `MetricResult`, and the registry every metric module adds itself to.

A metric is a small object: a name, a unit, an aggregation, what it needs (`text`: any corpus,
`parallel`: a parallel corpus, `morphscore` / `sigmorphon2022`: a data folder, `vocab`: nothing but the
tokenizer) and `compute(ctx) -> MetricResult`. `ctx` carries the shared encodings, so metrics never
encode the corpus themselves. Each metric can be run and inspected alone:

>>> from toksmith.evaluate.registry import METRICS
>>> METRICS["bytes_per_token"].unit
'bytes/token'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toksmith.evaluate.bootstrap import MIN_UNITS, Ratio
from toksmith.evaluate.encoded import Encoded
from toksmith.tokenizers.base import Tokenizer

__all__ = [
    "METRICS",
    "FAMILIES",
    "EvalContext",
    "Metric",
    "MetricResult",
    "register",
    "select_metrics",
    "ratio_result",
]


@dataclass
class EvalContext:
    """What a metric may read: the tokenizer, its shared encodings, and settings."""

    tokenizer: Tokenizer
    text: Encoded | None  # the main corpus (or the parallel corpus pooled when no main corpus is given)
    parallel: Encoded | None
    pivot: str = "eng"
    data_dir: Path | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # per tokenizer, shared between metrics
    results: dict[str, MetricResult] = field(default_factory=dict)  # computed so far, this tokenizer


@dataclass
class MetricResult:
    """One number (or table) for one tokenizer, with its unit, aggregation, interval and notes.

    `ratios` maps (language or None, field) to the `Ratio` that the bootstrap resamples; (None, "value")
    gives `ci`, (lang, "value") the per-language `ci`, other fields add `<field>_ci` entries.
    """

    name: str
    value: float | None
    unit: str
    aggregation: str
    ci: list[float] | None = None
    per_language: dict[str, dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    units: int | None = None
    ratios: dict[tuple[str | None, str], Ratio] = field(default_factory=dict, repr=False)
    replicates: dict[tuple[str | None, str], np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _clean(self.value),
            "unit": self.unit,
            "aggregation": self.aggregation,
            "ci": self.ci,
            "units": self.units,
            "per_language": _clean(self.per_language),
            "notes": list(self.notes),
            "details": _clean(self.details),
        }


def _clean(x: Any) -> Any:
    """JSON-safe: numpy scalars to Python, nan/inf to None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass(frozen=True)
class Metric:
    """A named measurement: `compute(ctx)` returns its `MetricResult` from the shared encodings."""

    name: str
    family: str
    unit: str
    aggregation: str
    needs: str
    compute: Callable[[EvalContext], MetricResult]
    description: str = ""
    #: runs after the bootstrap, with this tokenizer's results (e.g. Gini from premium replicates)
    after_bootstrap: Callable[[MetricResult, dict[str, MetricResult]], None] | None = None

    def result(self, value: float | None, **kw: Any) -> MetricResult:
        return MetricResult(self.name, value, self.unit, self.aggregation, **kw)


METRICS: dict[str, Metric] = {}
FAMILIES: dict[str, list[str]] = {}


def register(
    name: str,
    *,
    family: str,
    unit: str,
    aggregation: str,
    needs: str = "text",
    description: str = "",
    after_bootstrap: Callable[[MetricResult, dict[str, MetricResult]], None] | None = None,
) -> Callable[[Callable[[EvalContext], MetricResult]], Callable[[EvalContext], MetricResult]]:
    """Decorator adding a compute function to the registry under `name`."""

    def deco(fn: Callable[[EvalContext], MetricResult]) -> Callable[[EvalContext], MetricResult]:
        METRICS[name] = Metric(
            name,
            family,
            unit,
            aggregation,
            needs,
            fn,
            description or (fn.__doc__ or "").strip(),
            after_bootstrap,
        )
        FAMILIES.setdefault(family, []).append(name)
        return fn

    return deco


def select_metrics(names: Iterable[str] | None) -> list[Metric]:
    """Metrics named directly or through their family (`compression`, `numbers`, ...); None = all."""
    _load_all()
    if names is None:
        return list(METRICS.values())
    out: dict[str, Metric] = {}
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n in FAMILIES:  # a family wins over its namesake metric ("fertility")
            for m in FAMILIES[n]:
                out[m] = METRICS[m]
        elif n in METRICS:
            out[n] = METRICS[n]
        else:
            from toksmith.errors import ToksmithError

            known = ", ".join(sorted(FAMILIES)) + "; " + ", ".join(sorted(METRICS))
            raise ToksmithError(f"unknown metric '{n}'; known families and metrics: {known}")
    return [m for m in METRICS.values() if m.name in out]


def _load_all() -> None:
    from toksmith.evaluate import (  # noqa: F401  (each module registers its metrics)
        compression,
        consistency,
        entropy,
        fertility,
        morphology,
        numbers,
        parallel,
        speed,
        vocabulary,
    )


def ratio_result(
    metric_name: str,
    enc: Encoded,
    num: np.ndarray,
    den: np.ndarray,
    *,
    group: Hashable,
    scale: float = 1.0,
    per_language: bool = True,
    notes: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> MetricResult:
    """A result whose value is scale * sum(num) / sum(den) over documents, with per-language entries."""
    _load_all()
    metric = METRICS[metric_name]
    r = Ratio.of(group, num, den, scale)
    res = metric.result(r.point(), units=len(num), notes=list(notes or []), details=dict(details or {}))
    res.ratios[(None, "value")] = r
    c = enc.corpus
    if per_language and len(c.lang_names) > 1:
        res.per_language = {}
        for li, lang in enumerate(c.lang_names):
            idx = np.flatnonzero(c.doc_lang == li)
            rl = Ratio.of((group, lang), np.asarray(num)[idx], np.asarray(den)[idx], scale)
            res.per_language[lang] = {"value": rl.point(), "ci": None, "units": len(idx)}
            res.ratios[(lang, "value")] = rl
    if len(num) < MIN_UNITS:
        res.notes.append(f"thin sample: {len(num)} units (< {MIN_UNITS}); the interval is unreliable")
    return res
