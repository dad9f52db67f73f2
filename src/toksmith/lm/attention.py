"""Attention under a mask on a CPU: SDPA's own grouped-query attention instead of K and V copied per head.

Tree forwards (the verifier's drafts, the exact bridge's token trees) always pass a 4-D mask. Under a mask
transformers' SDPA attention copies K and V once per query head (`repeat_kv`) before attending, because
CUDA's fast kernels take no mask with grouped heads (transformers' `use_gqa_in_sdpa`). A CPU's SDPA takes
both, with the same sums: identical outputs (tests/decoding/test_verify.py), and a tree step's attention
2.5-3.5x cheaper (SmolLM2, 8 nodes: 76 against 189 us a layer at 200 tokens of context, 265 against 657 at
800; a verification step 4-8% cheaper at 126 tokens, 11-15% at 504; benchmarks/RESULTS.md, session 13).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["FORCE_GQA", "grouped_under_mask", "masked_gqa"]

#: transformers' switch for SDPA's grouped-query attention (`enable_gqa`) under an attention mask
FORCE_GQA = "TRANSFORMERS_SDPA_FORCE_GQA"
_LOCK = threading.Lock()
_state: dict[str, Any] = {"depth": 0, "old": None}  # open masked_gqa blocks, and the value before the first


def grouped_under_mask(lm: Any) -> bool:
    """Whether `masked_gqa` applies to `lm`: a CPU model on transformers' SDPA attention."""
    import torch

    cfg = lm.model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    attn = getattr(text_cfg, "_attn_implementation", None) or getattr(cfg, "_attn_implementation", None)
    return torch.device(lm.device).type == "cpu" and attn == "sdpa"


@contextmanager
def masked_gqa(on: bool = True) -> Iterator[None]:
    """Within (where `on`; else nothing changes): transformers' SDPA attention groups the query heads over
    the shared K/V heads even under a mask. Sets transformers' own switch (FORCE_GQA) while any block is
    open (counted, so blocks of several threads may overlap and end in any order) and restores it after the
    last; it is the process's environment, so other forwards in that window see it too (on a GPU, masked
    grouped heads take a slower kernel)."""
    if not on:
        yield
        return
    with _LOCK:
        if _state["depth"] == 0:
            _state["old"] = os.environ.get(FORCE_GQA)
            os.environ[FORCE_GQA] = "1"
        _state["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                if _state["old"] is None:
                    os.environ.pop(FORCE_GQA, None)
                else:
                    os.environ[FORCE_GQA] = _state["old"]
