"""Orthogonal matching pursuit over shared anchor tokens, batched in torch.

For each new token that the donor model knows, OMP picks k anchor tokens (tokens both the base and the
donor know) whose *donor* embeddings best reconstruct the token's donor embedding, solves least squares
for their coefficients, and the recipe applies those coefficients to the same anchors' *base* rows.
Unlike mergekit's tokensurgeon, which runs one token at a time, all tokens of a batch advance together:
the correlation step is one matrix product (B, d) x (d, N) per iteration, and the least-squares step
is a batched solve on an incrementally grown Gram matrix (B, s, s). Vectors are mean-centred in both
spaces (the coefficients then combine offsets from the mean row, and the rest of the weight goes to the
mean row), so the common component of all embeddings is not spent on anchors.
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
               progress: Callable[[int], None] | None = None) -> Recipe:
    """Recipe from OMP in the donor space.

    Args:
        targets: (B, d_donor) donor embeddings of the new tokens.
        anchors: (N, d_donor) donor embeddings of the anchor tokens.
        anchor_ids: (N,) int64 base-model ids of the same anchors (what the recipe points at).
        k: anchors per token (at most N).
        center: subtract the anchors' mean in the donor space (and use the base mean row in the base).
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
        for s in range(k):
            corr = (r @ xn.T).abs_()
            if s:
                corr[rows[:, None], sel[:, :s]] = -1.0
            j = corr.argmax(1)
            sel[:, s] = j
            new = x[j]  # (b, d)
            if s:
                g = torch.einsum("bsd,bd->bs", x[sel[:, :s]], new)
                gram[:, s, :s] = g
                gram[:, :s, s] = g
            gram[:, s, s] = (new * new).sum(1)
            rhs[:, s] = (new * tb).sum(1)
            m = s + 1
            ridge = 1e-6 * gram[:, :m, :m].diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-12)
            lhs = gram[:, :m, :m] + ridge[:, None, None] * torch.eye(m)
            coef = torch.linalg.solve(lhs, rhs[:, :m])
            r = tb - torch.einsum("bs,bsd->bd", coef, x[sel[:, :m]])
        ids_out[lo:lo + b] = anchor_ids[sel]
        w_out[lo:lo + b] = coef
        if progress:
            progress(b)
    mean_w = (1.0 - w_out.sum(1)) if center else torch.zeros(t.shape[0])
    return Recipe(ids_out, w_out, mean_w)
