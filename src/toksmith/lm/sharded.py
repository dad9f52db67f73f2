"""Token-level bits per byte with the files and their sliding windows spread over Ray workers.

The driver loads only the tokenizer, encodes each file and plans its windows exactly as
`lm.scoring.score_text` walks them (a window of `window` tokens moves by `stride`; each token is
scored once). Consecutive windows are grouped into tasks; a task carries only the token ids its
windows read, so a worker's memory follows its task, not the corpus. Each worker loads the model
once per process (one GPU per task when the cluster has GPUs) and returns every window's summed
log-probability; the driver adds them in window order, as `score_text` does, so the result equals the
local one up to the last bits of floating point (different thread counts may reorder a reduction).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from toksmith import defaults
from toksmith.errors import OptionError
from toksmith.lm.scoring import FileScore, window_logprobs, window_plan

__all__ = ["score_files_sharded", "window_plan"]

#: model spec, device, dtype -> LM, per worker process
_LMS: dict[tuple[str, str | None, str, str | None], Any] = {}


def _score_task(task: tuple[dict[str, Any], int, int, list[int], list[tuple[int, int, int, bool]]]
                ) -> tuple[int, int, list[float], float, str, list[str]]:
    """Ray task: (file, task index, summed natural log-probabilities per window, seconds, device, notes)."""
    from toksmith.lm.loading import load_lm

    recipe, file_idx, task_idx, ids, windows = task
    key = (recipe["spec"], recipe["device"], recipe["dtype"], recipe["revision"])
    lm = _LMS.get(key)
    if lm is None:
        _LMS.clear()  # one model per worker process at a time
        lm = _LMS[key] = load_lm(recipe["spec"], device=recipe["device"], dtype=recipe["dtype"],
                                 revision=recipe["revision"])
    t0 = time.perf_counter()
    sums = [float(window_logprobs(lm, ids[lo:hi], first, restart=restart).sum())
            for lo, hi, first, restart in windows]
    return file_idx, task_idx, sums, time.perf_counter() - t0, lm.device, list(lm.notes)


def _tasks(recipe: dict[str, Any], seqs: list[list[int]], plans: list[list[tuple[int, int, int]]], per_task: int
           ) -> Iterator[tuple[dict[str, Any], int, int, list[int], list[tuple[int, int, int, bool]]]]:
    for f, (seq, plan) in enumerate(zip(seqs, plans, strict=True)):
        for t, k in enumerate(range(0, len(plan), per_task)):
            group = plan[k:k + per_task]
            base = group[0][0]
            yield recipe, f, t, seq[base:group[-1][1]], [(lo - base, hi - base, first, lo > 0)
                                                         for lo, hi, first in group]


def score_files_sharded(
    spec: str, texts: dict[str, str], *, window: int = defaults.WINDOW, stride: int = defaults.STRIDE,
    device: str | None = None, dtype: str = defaults.DTYPE, revision: str | None = None, engine: str = "ray",
    windows_per_task: int = 8, progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[FileScore], str, list[str]]:
    """`score_files` for one model spec with the windows spread over Ray (or run here, `engine="local"`).

    Returns (file scores, the workers' device, conditioning notes). `seconds` of a file is the sum of
    its tasks' compute time on the workers.
    """
    from toksmith.engine import map_reduce, ray_init
    from toksmith.lm.loading import load_lm_tokenizer

    if windows_per_task < 1:
        raise OptionError(f"windows per task must be at least 1, not {windows_per_task}")
    name, tok, bos, notes = load_lm_tokenizer(spec, revision=revision)
    sources = list(texts)
    seqs = [[bos] + tok.encode(texts[s]) for s in sources]
    recipe = {"spec": spec, "device": device, "dtype": dtype, "revision": revision}
    plans = [window_plan(len(seq), window, stride) for seq in seqs]
    gpus = 0.0
    if engine == "ray":
        ray = ray_init()
        gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
    results: dict[tuple[int, int], tuple[list[float], float]] = {}
    seen: dict[str, Any] = {"device": device or "cpu", "notes": notes}

    def keep(acc: dict, r: tuple[int, int, list[float], float, str, list[str]]) -> dict:
        f, t, sums, secs, dev, _notes = r
        acc[(f, t)] = (sums, secs)
        seen["device"] = dev
        if progress is not None:
            plan = plans[f][t * windows_per_task:(t + 1) * windows_per_task]
            progress(name, sum(hi - lo - first for lo, hi, first in plan), len(seqs[f]) - 1)
        return acc

    map_reduce(_score_task, _tasks(recipe, seqs, plans, windows_per_task), keep, results, engine=engine,
               num_gpus=gpus)
    out = []
    for f, src in enumerate(sources):
        total, secs = 0.0, 0.0
        for t in sorted(k[1] for k in results if k[0] == f):
            sums, s = results[(f, t)]
            for x in sums:  # the order and arithmetic of score_text
                total -= x / math.log(2)
            secs += s
        out.append(FileScore(source=src, bytes=len(texts[src].encode("utf-8")), tokens=len(seqs[f]) - 1,
                             nll_bits=total, seconds=secs))
    return out, seen["device"], seen["notes"]
