"""Encode throughput, measured on the shared pass itself.

The corpus is encoded in batches of `CHUNK_DOCS` documents with `encode_batch`, after one warm-up
batch; every batch is a timed repeat, so measuring speed costs no extra encoding. Value: total UTF-8
bytes / total seconds of the timed batches, in MB/s (10^6 bytes). The interval resamples batches.
The adapter's encode_batch includes converting ids to Python lists.
"""

from __future__ import annotations

import os

import numpy as np

from toksmith.evaluate.bootstrap import Ratio
from toksmith.evaluate.metric import EvalContext, Metric, MetricResult, metric

__all__ = ["encode_throughput"]


@metric(
    "encode_throughput",
    family="speed",
    unit="MB/s",
    aggregation="total bytes / total seconds over timed encode_batch calls",
)
def encode_throughput(m: Metric, ctx: EvalContext) -> MetricResult:
    """Bytes of text encoded per second by the tokenizer's encode_batch."""
    enc = m.text(ctx)
    nb = np.array([b for b, _ in enc.chunk_times], dtype=np.float64)
    sec = np.array([s for _, s in enc.chunk_times], dtype=np.float64)
    r = Ratio.of(("chunks", len(nb)), nb, sec, scale=1e-6)
    per = nb / np.maximum(sec, 1e-12) / 1e6
    res = m.resampled(r, units=len(nb))
    res.details = {
        "repeats": len(nb),
        "warmup_s": enc.warmup_s,
        "total_s": float(sec.sum()),
        "batch_mb_s": {"median": float(np.median(per)), "min": float(per.min()), "max": float(per.max())}
        if len(per)
        else None,
        "cpu_count": os.cpu_count(),
        "rayon_threads": os.environ.get("RAYON_NUM_THREADS"),
    }
    res.notes.append("measured while the machine may be shared; compare tokenizers within one run")
    if len(nb) < 5:
        res.notes.append(f"only {len(nb)} timed batches: a small corpus makes this number noisy")
    return res
