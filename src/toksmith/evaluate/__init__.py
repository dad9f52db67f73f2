"""Measure tokenizers: compression, fertility, premiums, entropy, vocabulary, morphology, numbers,
consistency and speed, over one shared encoding pass, with paired bootstrap intervals."""

from toksmith.evaluate.api import EvalResults as EvalResults
from toksmith.evaluate.api import evaluate as evaluate
from toksmith.evaluate.registry import METRICS as METRICS
from toksmith.evaluate.registry import Metric as Metric
from toksmith.evaluate.registry import MetricResult as MetricResult
from toksmith.evaluate.registry import select_metrics as select_metrics

__all__ = ["METRICS", "EvalResults", "Metric", "MetricResult", "evaluate", "select_metrics"]
