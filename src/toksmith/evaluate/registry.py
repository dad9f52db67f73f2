"""`Metric` and `MetricResult`, and the registry every metric module adds itself to.

A metric is a small object: a name, a unit, an aggregation, what it needs (`text`: any corpus,
`parallel`: a parallel corpus, `morphscore` / `sigmorphon2022`: a data folder, `vocab`: nothing but the
tokenizer), the optional statistics it reads from the streamed pass (`stats`: `words`, `word_sample`,
`digits`, `round_trip`; see `toksmith.evaluate.stream`) and `compute(ctx) -> MetricResult`. `ctx`
carries the pass's per-document statistics, so metrics never encode the corpus themselves.

Metrics that encode strings of their own (morphology words, number probes, stability variants)
declare a `Probe`: the runner encodes the probes of a tokenizer together, in one `encode_batch` call,
the corpus-independent ones in a background thread while the corpus is encoded. Vocabulary-only work
(`prepare`) runs in that thread too. Each metric can be run and inspected alone:

>>> from toksmith.evaluate.registry import METRICS
>>> METRICS["bytes_per_token"].unit
'bytes/token'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from toksmith.evaluate.bootstrap import MIN_UNITS, Ratio
from toksmith.evaluate.encoded import Encoded, encode_groups
from toksmith.tokenizers.base import Tokenizer

if TYPE_CHECKING:
    from toksmith.evaluate.stream import TokenStats

__all__ = [
    "METRICS",
    "FAMILIES",
    "PROBES",
    "EvalContext",
    "Metric",
    "MetricResult",
    "Probe",
    "probe_result",
    "register",
    "register_probe",
    "run_probes",
    "select_metrics",
    "ratio_result",
]


@dataclass
class EvalContext:
    """What a metric may read: the tokenizer, its statistics from the streamed pass, and settings."""

    tokenizer: Tokenizer
    text: TokenStats | None  # the main corpus (or the parallel corpus pooled when no main corpus is given)
    parallel: TokenStats | None
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
    #: optional statistics of the streamed pass it reads (`toksmith.evaluate.stream.OPTIONAL_STATS`)
    stats: tuple[str, ...] = ()
    #: vocabulary-only work worth doing ahead, in the background, while the corpus is encoded
    prepare: Callable[[Tokenizer], None] | None = None
    module: str = ""

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
    stats: tuple[str, ...] = (),
    prepare: Callable[[Tokenizer], None] | None = None,
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
            stats,
            prepare,
            fn.__module__.rsplit(".", 1)[-1],
        )
        FAMILIES.setdefault(family, []).append(name)
        return fn

    return deco


def select_metrics(names: Iterable[str] | None) -> list[Metric]:
    """Metrics named directly or through their family (`compression`, `numbers`, ...); None = all."""
    _load_all()
    if names is None:
        return _ordered(METRICS.values())
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
    return _ordered(m for m in METRICS.values() if m.name in out)


#: the order of metrics in results and tables: by module, then as each module defines them
_MODULES = (
    "compression",
    "consistency",
    "entropy",
    "fertility",
    "morphology",
    "numbers",
    "parallel",
    "speed",
    "vocabulary",
)


def _ordered(metrics: Iterable[Metric]) -> list[Metric]:
    rank = {m: i for i, m in enumerate(_MODULES)}
    return sorted(metrics, key=lambda m: rank.get(m.module, len(rank)))


@dataclass(frozen=True)
class Probe:
    """Strings a metric family encodes apart from the corpus, and what it keeps of their encoding.

    `texts(ctx)` gives the strings (None: nothing to probe, e.g. no data folder); the runner encodes
    the strings of all of a tokenizer's probes in one `encode_batch` call and stores
    `finish(ctx, encoding or None)` in `ctx.cache[key]`. `after_corpus` probes read the corpus's
    statistics (its word sample) and run after the pass; the others run while the corpus is encoded.
    """

    key: str
    texts: Callable[[EvalContext], list[str] | None]
    finish: Callable[[EvalContext, Encoded | None], Any]
    after_corpus: bool = False
    #: the bootstrap groups (and unit counts) the metrics will resample for a finished result, so that
    #: their resample weights can be built ahead
    groups: Callable[[Any], list[tuple[Hashable, int]]] | None = None


PROBES: dict[str, Probe] = {}
#: metric name -> keys of the probes it reads
PROBES_OF: dict[str, tuple[str, ...]] = {}


def register_probe(probe: Probe, metrics: Iterable[str]) -> Probe:
    """Add `probe` to the registry as read by `metrics`."""
    PROBES[probe.key] = probe
    for m in metrics:
        PROBES_OF[m] = (*PROBES_OF.get(m, ()), probe.key)
    return probe


def run_probes(
    ctx: EvalContext, keys: Iterable[str], extra: list[str] | None = None
) -> Encoded | None:
    """Encode the probes `keys` not yet in `ctx.cache` (and `extra` texts) in ONE encode_batch call.

    Returns the encoding of `extra` (None when not given)."""
    todo = [PROBES[k] for k in dict.fromkeys(keys) if k not in ctx.cache]
    texts = [p.texts(ctx) for p in todo]
    groups = [t or [] for t in texts] + ([extra] if extra is not None else [])
    encs = encode_groups(ctx.tokenizer, groups) if any(groups) else [None] * len(groups)
    for p, t, e in zip(todo, texts, encs, strict=False):
        ctx.cache[p.key] = p.finish(ctx, e if t is not None else None)
    return encs[-1] if extra is not None else None


def probe_result(ctx: EvalContext, key: str) -> Any:
    """The finished probe `key` for this context's tokenizer (encoded now if the runner has not)."""
    if key not in ctx.cache:
        run_probes(ctx, [key])
    return ctx.cache[key]


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
    enc: TokenStats,
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
