"""Hybrid initialisation: a local estimate from the token's own pieces plus a global one from neighbours.

Local: the old-tokenizer pieces of the new token, weighted by byte length (TokenAdapt's local part).
Global: the k anchor tokens nearest to the local estimate by cosine in the *base model's own* input
embedding space (mean-centred), weighted by softmax(similarity / temperature). No external embedding
model is needed. The row is (1 - weight) * local + weight * global. Tokens without pieces keep the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toksmith.lm.loading import require_torch
from toksmith.transplant.recipe import CHUNK, Recipe, apply_recipe, fvt_recipe

__all__ = ["HYBRID_DEFAULTS", "hybrid_recipe"]

#: TokenAdapt's published mix (k=3, T=0.3, w=0.3)
HYBRID_DEFAULTS = {"neighbours": 3, "temperature": 0.3, "weight": 0.3}


def hybrid_recipe(pieces: Sequence[Sequence[int] | None], token_bytes: Sequence[bytes], matrix: Any,
                  anchor_ids: Any, mean_row: Any, *, neighbours: int = 3, temperature: float = 0.3,
                  weight: float = 0.3) -> Recipe:
    """Recipe mixing length-weighted pieces with their nearest anchors in `matrix` (base input rows)."""
    torch = require_torch("transplant")
    local = fvt_recipe(pieces, token_bytes, weighting="length")
    if neighbours <= 0 or weight <= 0 or len(anchor_ids) == 0:
        return local
    k = min(neighbours, len(anchor_ids))
    est = apply_recipe(local, matrix, mean_row).float() - mean_row.float()
    anchors = matrix.detach()[anchor_ids].float() - mean_row.float()
    an = anchors / anchors.norm(dim=1, keepdim=True).clamp_min(1e-8)
    q = est / est.norm(dim=1, keepdim=True).clamp_min(1e-8)
    top_v = torch.empty(local.size, k)
    top_i = torch.empty(local.size, k, dtype=torch.int64)
    for lo in range(0, local.size, CHUNK):
        v, i = (q[lo:lo + CHUNK] @ an.T).topk(k, dim=1)
        top_v[lo:lo + CHUNK], top_i[lo:lo + CHUNK] = v, i
    gw = torch.softmax(top_v / temperature, dim=1)
    has = (local.mean_weight == 0).float()[:, None]
    w = weight * has
    ids = torch.cat([local.ids, anchor_ids[top_i]], dim=1)
    weights = torch.cat([(1 - w) * local.weights, w * gw], dim=1)
    return Recipe(ids, weights, local.mean_weight)
