"""Orthogonal matching pursuit over shared anchor tokens, batched in torch.

For each new token that the donor model knows, OMP picks k anchor tokens (tokens both the base and the
donor know) whose *donor* embeddings best reconstruct the token's donor embedding, solves least squares
for their coefficients, and the recipe applies those coefficients to the same anchors' *base* rows.
All tokens of a batch advance together: the correlation step is one matrix product (B, d) x (d, N) per
iteration and the least-squares step a batched solve on an incrementally grown Gram matrix (B, s, s).
The correlation pass over all anchors dominates the cost (k passes of B x N x d); `per_step > 1` adds
several anchors per pass (generalised OMP). Vectors are mean-centred in both spaces (the coefficients
combine offsets from the mean row and the rest of the weight goes to the mean row), so the component
common to all embeddings is not spent on anchors (mergekit's OMP is not mean-centred).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toksmith.lm.loading import require_torch
from toksmith.transplant.recipe import Recipe

__all__ = ["DEFAULT_K", "omp_recipe"]

DEFAULT_K = 64
#: targets solved together (bounds memory at BATCH x anchors floats for the correlations)
BATCH = 512


def omp_recipe(targets: Any, anchors: Any, anchor_ids: Any, *, k: int = DEFAULT_K, center: bool = True,
               per_step: int = 1, progress: Callable[[int], None] | None = None) -> Recipe:
    """Recipe from OMP in the donor space.

    Args:
        targets: (B, d_donor) donor embeddings of the new tokens.
        anchors: (N, d_donor) donor embeddings of the anchor tokens.
        anchor_ids: (N,) int64 base-model ids of the same anchors (what the recipe points at).
        k: anchors per token (at most N).
        center: subtract the anchors' mean in the donor space (and use the base mean row in the base).
        per_step: anchors added per iteration; 1 is plain OMP, more is generalised OMP (gOMP: the
            per_step most correlated anchors join at once, k / per_step correlation passes instead of k).
        progress: called with the number of tokens finished after each batch.
    """
    torch = require_torch("transplant")
    n_anchor = int(anchors.shape[0])
    k = max(1, min(k, n_anchor))
    a = anchors.detach().float()
    t = targets.detach().float()
    mu = a.mean(0) if center else torch.zeros(a.shape[1])
    x = a - mu
    xn = x / x.norm(dim=1, keepdim=True).clamp_min(1e-8)
    ids_out = torch.zeros(t.shape[0], k, dtype=torch.int64)
    w_out = torch.zeros(t.shape[0], k, dtype=torch.float32)
    for lo in range(0, t.shape[0], BATCH):
        tb = t[lo:lo + BATCH] - mu
        b = tb.shape[0]
        r = tb.clone()
        sel = torch.zeros(b, k, dtype=torch.int64)
        gram = torch.zeros(b, k, k)
        rhs = torch.zeros(b, k)
        coef = torch.zeros(b, 0)
        rows = torch.arange(b)
        s = 0
        while s < k:
            q = min(per_step, k - s)
            corr = (r @ xn.T).abs_()
            if s:
                corr[rows[:, None], sel[:, :s]] = -1.0
            j = corr.topk(q, dim=1).indices if q > 1 else corr.argmax(1, keepdim=True)
            sel[:, s:s + q] = j
            new = x[j]  # (b, q, d)
            if s:
                g = torch.einsum("bsd,bqd->bsq", x[sel[:, :s]], new)
                gram[:, :s, s:s + q] = g
                gram[:, s:s + q, :s] = g.transpose(1, 2)
            gram[:, s:s + q, s:s + q] = torch.einsum("bqd,brd->bqr", new, new)
            rhs[:, s:s + q] = torch.einsum("bqd,bd->bq", new, tb)
            m = s + q
            ridge = 1e-6 * gram[:, :m, :m].diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-12)
            lhs = gram[:, :m, :m] + ridge[:, None, None] * torch.eye(m)
            coef = torch.linalg.solve(lhs, rhs[:, :m])
            r = tb - torch.einsum("bs,bsd->bd", coef, x[sel[:, :m]])
            s = m
        ids_out[lo:lo + b] = anchor_ids[sel]
        w_out[lo:lo + b] = coef
        if progress:
            progress(b)
    mean_w = (1.0 - w_out.sum(1)) if center else torch.zeros(t.shape[0])
    return Recipe(ids_out, w_out, mean_w)
