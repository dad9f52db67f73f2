"""Measure tokenizers: compression, fertility, premiums, entropy, vocabulary, morphology, numbers,
consistency and speed, over one shared encoding pass, with paired bootstrap intervals."""

from toksmith.evaluate.api import evaluate as evaluate
from toksmith.evaluate.catalog import METRICS as METRICS
from toksmith.evaluate.catalog import select_metrics as select_metrics
from toksmith.evaluate.metric import Metric as Metric
from toksmith.evaluate.metric import MetricResult as MetricResult
from toksmith.evaluate.results import EvalResults as EvalResults

__all__ = ["METRICS", "EvalResults", "Metric", "MetricResult", "evaluate", "select_metrics"]
