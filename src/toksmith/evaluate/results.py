"""`EvalResults`: what `evaluate()` returns, and its JSON form.

Results JSON (`EvalResults.to_dict()`), schema "toksmith.eval/1":

```
{
  "schema": "toksmith.eval/1", "toksmith_version": str,
  "contract": {                       # the measurement contract
    "special_tokens": str,            # encode without BOS/EOS; special-token text encoded as text
    "normalisation": "none", "bytes": "UTF-8 of the text as read", "word_segmentation": str,
    "bootstrap": {"resamples": 1000, "seed": 0, "unit": "document (morphology: word)",
                  "interval": "95% percentile", "max_blocks": 2000},
    "min_units": 30, "pivot": "eng" | null},
  "tokenizers": [{"name", "fingerprint", "vocab_fingerprint", "family", "vocab_size",
                  "declared_vocab_size", "adds_space_prefix"}],
  "corpus": {"main": {"documents", "bytes", "chars", "languages", "fingerprint"} | null,
             "parallel": {... same ...} | null},
  "metrics": {name: {"family", "unit", "aggregation", "needs", "description"}},
  "results": {tokenizer: {metric: {
      "value": float | int | null, "unit": str, "aggregation": str, "ci": [lo, hi] | null,
      "units": int | null,                       # documents/words/numbers behind the value
      "per_language": {lang: {"value", "ci", "units", ...}} | null,
      "notes": [str], "details": {...}}}},      # details: metric-specific (see each module)
  "comparisons": [{"metric", "language": str | null, "a", "b", "difference" (a - b), "ci",
                   "significant": bool (0 outside ci), "units", "thin": bool}],
  "report": {                                    # convenience views for the HTML report
    "languages": [lang],                         # parallel corpus languages, sorted
    "per_language": {tokenizer: {lang: {"premium", "premium_ci", "bytes_per_token",
                     "bytes_per_token_ci", "chars_per_token", "chars_per_token_ci", "flagged", "rank"}}},
    "gini": {tokenizer: {"value", "ci", "lorenz": [[x, y], ...]}},
    "numbers_heatmap": {tokenizer: {"lengths": [1..12], "patterns": [...], "shares": [[...]]}}},
  "samples": [{"lang": str | null, "text": str, "tokens": {tokenizer: {
      "offsets": [[start, end], ...],            # UTF-8 byte offsets into text
      "pieces": [str, ...]}}}],                  # each token's bytes, decoded with backslashreplace
  "warnings": [str], "timing": {"encode_s",     # the streamed pass(es): reading, encoding, reduction
                                "metrics_s",    # probes and metrics after the pass
                                "bootstrap_s", "total_s"}
}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toksmith.evaluate.metric import Metric, MetricResult, clean

__all__ = ["SCHEMA", "EvalResults"]

SCHEMA = "toksmith.eval/1"


@dataclass
class EvalResults:
    """Results of `evaluate()`: per tokenizer per metric, comparisons, samples and the contract."""

    tokenizers: list[dict[str, Any]]
    metrics: list[Metric]
    results: dict[str, dict[str, MetricResult]]
    comparisons: list[dict[str, Any]]
    contract: dict[str, Any]
    corpus: dict[str, Any]
    samples: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The tokenizers' names, in order."""
        return [t["name"] for t in self.tokenizers]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready results (schema in this module's docstring)."""
        from toksmith import __version__
        from toksmith.report.view import report_view

        names = self.names
        return clean(
            {
                "schema": SCHEMA,
                "toksmith_version": __version__,
                "contract": self.contract,
                "tokenizers": self.tokenizers,
                "corpus": self.corpus,
                "metrics": {
                    m.name: {
                        "family": m.family,
                        "unit": m.unit,
                        "aggregation": m.aggregation,
                        "needs": m.needs,
                        "description": m.description,
                    }
                    for m in self.metrics
                },
                "results": {n: {k: v.to_dict() for k, v in self.results[n].items()} for n in names},
                "comparisons": self.comparisons,
                "report": report_view(names, self.results, self.languages),
                "samples": self.samples,
                "warnings": self.warnings,
                "timing": self.timing,
            }
        )

    def table(self) -> Any:
        """The terminal table (`toksmith.report.table.eval_table`): a metric per row, a tokenizer per column."""
        from toksmith.report.table import eval_table

        return eval_table(self)
