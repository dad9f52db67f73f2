"""The metric types: `Metric`, `MetricResult`, `EvalContext` and `Probe`.

A metric is a small object: a name, a unit, an aggregation, what it needs (`text`: any corpus,
`parallel`: a parallel corpus, `morphscore` / `sigmorphon2022`: a data folder, `vocab`: nothing but the
tokenizer), the optional statistics it reads from the streamed pass (`stats`: `words`, `word_sample`,
`digits`, `round_trip`; see `toksmith.evaluate.stream`) and `compute(metric, ctx) -> MetricResult`.
`ctx` carries the pass's per-document statistics, so metrics never encode the corpus themselves; every
result is built by `Metric.result` (or `Metric.ratio`), so its name, unit and aggregation are the
metric's own.

Metrics that encode strings of their own (morphology words, number probes, stability variants)
declare a `Probe`: the runner encodes the probes of a tokenizer together, in one `encode_batch` call,
the corpus-independent ones in a background thread while the corpus is encoded.

This module only defines the types; `toksmith.evaluate.catalog` imports every metric module and lists
them (`METRICS`). Each metric can be run and inspected alone:

>>> from toksmith.evaluate import METRICS
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

from toksmith import defaults
from toksmith.errors import CorpusError
from toksmith.evaluate.bootstrap import MIN_UNITS, Ratio
from toksmith.evaluate.encoded import Encoded, encode_groups
from toksmith.tokenizers.base import Tokenizer

if TYPE_CHECKING:
    from toksmith.evaluate.stream import TokenStats

__all__ = [
    "EvalContext",
    "Metric",
    "MetricResult",
    "Probe",
    "clean",
    "metric",
    "probe_result",
    "run_probes",
]


@dataclass
class EvalContext:
    """What a metric may read: the tokenizer, its statistics from the streamed pass, and settings."""

    tokenizer: Tokenizer
    text: TokenStats | None  # the main corpus (or the parallel corpus pooled when no main corpus is given)
    parallel: TokenStats | None
    pivot: str = defaults.PIVOT
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
            "value": clean(self.value),
            "unit": self.unit,
            "aggregation": self.aggregation,
            "ci": self.ci,
            "units": self.units,
            "per_language": clean(self.per_language),
            "notes": list(self.notes),
            "details": clean(self.details),
        }


def clean(x: Any) -> Any:
    """JSON-safe: numpy scalars to Python, nan/inf to None."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


#: optional statistics of the pass -> the `TokenStats` fields they fill
_STAT_FIELDS = {"words": ("word_tokens", "word_continued"), "round_trip": ("round_trip_ok",)}


@dataclass(frozen=True)
class Metric:
    """A named measurement: `compute(metric, ctx)` returns its `MetricResult` from the shared encodings.

    Calling the metric (`METRICS["fertility"](ctx)`) runs it alone on a context.
    """

    name: str
    family: str
    unit: str
    aggregation: str
    needs: str
    compute: Callable[[Metric, EvalContext], MetricResult]
    description: str = ""
    #: runs after the bootstrap, with this tokenizer's results (e.g. Gini from premium replicates)
    after_bootstrap: Callable[[MetricResult, dict[str, MetricResult]], None] | None = None
    #: optional statistics of the streamed pass it reads (`toksmith.evaluate.stream.OPTIONAL_STATS`)
    stats: tuple[str, ...] = ()
    #: vocabulary-only work worth doing ahead, in the background, while the corpus is encoded
    prepare: Callable[[Tokenizer], None] | None = None
    module: str = ""

    def __call__(self, ctx: EvalContext) -> MetricResult:
        return self.compute(self, ctx)

    def result(self, value: float | None, **kw: Any) -> MetricResult:
        """A result of this metric (its name, unit and aggregation) with `value` and the fields in `kw`."""
        return MetricResult(self.name, value, self.unit, self.aggregation, **kw)

    def skipped(self, why: str) -> MetricResult:
        """A result without a value whose note says why it was skipped."""
        return self.result(None, notes=[f"skipped: {why}"])

    def text(self, ctx: EvalContext) -> TokenStats:
        """The corpus statistics this metric reads, with the optional statistics it declared.

        Raises `CorpusError` when the context has no corpus (the metric was run without one) or the
        pass did not gather a statistic the metric needs.
        """
        enc = ctx.text
        if enc is None:
            raise CorpusError(
                f"metric '{self.name}' needs a corpus, and none was given: pass corpus= or parallel= to evaluate()"
            )
        for s in self.stats:
            for f in _STAT_FIELDS.get(s, ()):
                if getattr(enc, f) is None:
                    raise CorpusError(
                        f"metric '{self.name}' needs the '{s}' statistics of the streamed pass, which were not gathered"
                    )
        if "words" in self.stats and enc.corpus.doc_words is None:
            raise CorpusError(f"metric '{self.name}' needs the word counts of the streamed pass")
        return enc

    def ratio(
        self,
        enc: TokenStats,
        num: np.ndarray,
        den: np.ndarray,
        *,
        scale: float = 1.0,
        per_language: bool = True,
        notes: list[str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> MetricResult:
        """A result whose value is scale * sum(num) / sum(den) over the documents of `enc`, per language too.

        Documents are resampled in the group named after the corpus (`enc.corpus.name`).
        """
        group: Hashable = enc.corpus.name
        r = Ratio.of(group, num, den, scale)
        res = self.result(r.point(), units=len(num), notes=list(notes or []), details=dict(details or {}))
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

    def resampled(self, r: Ratio, **kw: Any) -> MetricResult:
        """A result whose value is the point estimate of `r`, bootstrapped as a whole (no languages)."""
        res = self.result(r.point(), **kw)
        res.ratios[(None, "value")] = r
        return res


def metric(
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
) -> Callable[[Callable[[Metric, EvalContext], MetricResult]], Metric]:
    """Decorator turning `compute(metric, ctx)` into a `Metric` (listed by `toksmith.evaluate.catalog`)."""

    def deco(fn: Callable[[Metric, EvalContext], MetricResult]) -> Metric:
        return Metric(
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

    return deco


@dataclass(frozen=True)
class Probe:
    """Strings a metric family encodes apart from the corpus, and what it keeps of their encoding.

    `texts(ctx)` gives the strings (None: nothing to probe, e.g. no data folder); the runner encodes
    the strings of all of a tokenizer's probes in one `encode_batch` call and stores
    `finish(ctx, encoding or None)` in `ctx.cache[key]`. `after_corpus` probes read the corpus's
    statistics (its word sample) and run after the pass; the others run while the corpus is encoded.
    `metrics` names the metrics that read it.
    """

    key: str
    texts: Callable[[EvalContext], list[str] | None]
    finish: Callable[[EvalContext, Encoded | None], Any]
    metrics: tuple[str, ...] = ()
    after_corpus: bool = False
    #: the bootstrap groups (and unit counts) the metrics will resample for a finished result, so that
    #: their resample weights can be built ahead
    groups: Callable[[Any], list[tuple[Hashable, int]]] | None = None


def run_probes(ctx: EvalContext, probes: Iterable[Probe], extra: list[str] | None = None) -> Encoded | None:
    """Encode the `probes` not yet in `ctx.cache` (and `extra` texts) in ONE encode_batch call.

    Returns the encoding of `extra` (None when not given). Probes that do not read the corpus encode
    fixed strings, so their encoding is kept in the on-disk cache (`encoded.encode_flat`)."""
    todo = [p for p in {p.key: p for p in probes}.values() if p.key not in ctx.cache]
    texts = [p.texts(ctx) for p in todo]
    groups = [t or [] for t in texts] + ([extra] if extra is not None else [])
    fixed = extra is None and not any(p.after_corpus for p in todo)
    encs = encode_groups(ctx.tokenizer, groups, cache=fixed) if any(groups) else [None] * len(groups)
    for p, t, e in zip(todo, texts, encs, strict=False):
        ctx.cache[p.key] = p.finish(ctx, e if t is not None else None)
    return encs[-1] if extra is not None else None


def probe_result(ctx: EvalContext, probe: Probe) -> Any:
    """The finished `probe` for this context's tokenizer (encoded now if the runner has not)."""
    if probe.key not in ctx.cache:
        run_probes(ctx, [probe])
    return ctx.cache[probe.key]
