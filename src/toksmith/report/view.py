"""The report view: the per-language, Gini and numbers tables of eval results, shaped for the HTML report.

`report_view` builds the `"report"` section of the results JSON (schema in
`toksmith.evaluate.results`) from the metric results of every tokenizer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toksmith.evaluate.metric import MetricResult

__all__ = ["report_view"]


def report_view(
    names: list[str], results: dict[str, dict[str, MetricResult]], languages: list[str]
) -> dict[str, Any]:
    """`{"languages", "per_language", "gini", "numbers_heatmap"}` for the tokenizers `names`."""
    report: dict[str, Any] = {"languages": languages, "per_language": {}, "gini": {}, "numbers_heatmap": {}}
    for n in names:
        r = results[n]
        prem = r.get("premium")
        if prem is not None and prem.per_language:
            report["per_language"][n] = {
                lang: {
                    "premium": e["value"],
                    "premium_ci": e["ci"],
                    "bytes_per_token": e["bytes_per_token"],
                    "bytes_per_token_ci": e["bytes_per_token_ci"],
                    "chars_per_token": e["chars_per_token"],
                    "chars_per_token_ci": e["chars_per_token_ci"],
                    "flagged": e["flagged"],
                    "rank": e.get("rank"),
                }
                for lang, e in prem.per_language.items()
            }
        g = r.get("gini")
        if g is not None:
            report["gini"][n] = {"value": g.value, "ci": g.ci, "lorenz": g.details.get("lorenz", [])}
        npat = r.get("number_patterns")
        if npat is not None:
            report["numbers_heatmap"][n] = npat.details["heatmap"]
    return report
