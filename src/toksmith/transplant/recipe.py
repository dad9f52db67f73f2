"""Recipes: each new token's row as a weighted sum of old rows plus a share of the mean row.

Every initialisation method except `random` produces one `Recipe`, found once and then applied to each
matrix separately (input embeddings, output embeddings, the output bias), so the input and output rows
of a new token are built from their own matrices with the same weights. A row is
`sum_j weights[i, j] * M[ids[i, j]] + mean_weight[i] * mean(M over old text tokens)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toksmith.lm.loading import require_torch

__all__ = ["Recipe", "apply_recipe", "fvt_recipe", "mean_recipe", "random_rows"]

#: rows per chunk when gathering (bounds memory at chunk x pieces x width floats)
CHUNK = 2048


@dataclass
class Recipe:
    """Weights of old rows for n new tokens.

    Attributes:
        ids: (n, K) int64 old ids (padding entries have weight 0).
        weights: (n, K) float32.
        mean_weight: (n,) float32, the share of the mean old row.
    """

    ids: Any
    weights: Any
    mean_weight: Any

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])


def apply_recipe(recipe: Recipe, matrix: Any, mean_row: Any) -> Any:
    """(n, d) rows of `matrix` (V_old, d) combined by `recipe`; `mean_row` (d,) is the mean old row."""
    torch = require_torch("transplant")
    out = torch.empty(recipe.size, matrix.shape[1], dtype=matrix.dtype)
    m = matrix.detach()
    for lo in range(0, recipe.size, CHUNK):
        hi = min(recipe.size, lo + CHUNK)
        rows = m[recipe.ids[lo:hi]]  # (c, K, d)
        w = recipe.weights[lo:hi].to(m.dtype)
        out[lo:hi] = torch.einsum("ckd,ck->cd", rows, w) + recipe.mean_weight[lo:hi, None].to(m.dtype) * mean_row
    return out


def _pad(lists: Sequence[Sequence[int]], weights: Sequence[Sequence[float]]) -> tuple[Any, Any]:
    torch = require_torch("transplant")
    k = max((len(x) for x in lists), default=1) or 1
    ids = torch.zeros(len(lists), k, dtype=torch.int64)
    w = torch.zeros(len(lists), k, dtype=torch.float32)
    for i, (ls, ws) in enumerate(zip(lists, weights, strict=True)):
        if ls:
            ids[i, : len(ls)] = torch.tensor(ls, dtype=torch.int64)
            w[i, : len(ws)] = torch.tensor(ws, dtype=torch.float32)
    return ids, w


def fvt_recipe(pieces: Sequence[Sequence[int] | None], token_bytes: Sequence[bytes] | None = None, *,
               weighting: str = "mean") -> Recipe:
    """Fast Vocabulary Transfer: the mean of the old pieces of each new token.

    `weighting="length"` weights each piece by its byte length (needs `token_bytes`, the old vocabulary's
    bytes per id). Tokens without pieces (specials, unspellable bytes) take the mean row.
    """
    torch = require_torch("transplant")
    lists: list[list[int]] = []
    ws: list[list[float]] = []
    for p in pieces:
        if not p:
            lists.append([])
            ws.append([])
            continue
        if weighting == "length" and token_bytes is not None:
            raw = [float(max(1, len(token_bytes[t]))) for t in p]
        else:
            raw = [1.0] * len(p)
        s = sum(raw)
        lists.append(list(p))
        ws.append([r / s for r in raw])
    ids, w = _pad(lists, ws)
    mean_w = torch.tensor([0.0 if p else 1.0 for p in pieces], dtype=torch.float32)
    return Recipe(ids, w, mean_w)


def mean_recipe(n: int) -> Recipe:
    """Every new token takes the mean old row (the `mean` baseline)."""
    torch = require_torch("transplant")
    return Recipe(torch.zeros(n, 1, dtype=torch.int64), torch.zeros(n, 1), torch.ones(n))


def random_rows(n: int, matrix: Any, text_ids: Any, *, seed: int) -> Any:
    """(n, d) rows drawn from N(mean, std) of the old text rows, per dimension (the `random` baseline)."""
    torch = require_torch("transplant")
    m = matrix.detach()[text_ids]
    mu, sd = m.mean(0), m.std(0)
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, m.shape[1], generator=g, dtype=torch.float32).to(m.dtype) * sd + mu).to(matrix.dtype)
