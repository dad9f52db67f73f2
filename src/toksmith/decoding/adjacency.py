"""The adjacency matrix M of Token Recycling: for every token, the top-k tokens that last followed it.

M is an integer table of shape (V, k). Every forward pass of decoding yields next-token logits for
each token it ran; the top-k of those logits overwrite that token's row ("recycling" candidates the
model already computed). A cold M starts from the prompt's prefill logits; a hot M is carried across
prompts and can be saved to and loaded from a safetensors file (no pickles).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toksmith.errors import OptionError, ToksmithError
from toksmith.io import atomic_write_bytes

__all__ = ["AdjacencyMatrix", "FORMAT"]

#: format tag written into every saved matrix's metadata
FORMAT = "toksmith-recycle-adjacency/1"


class AdjacencyMatrix:
    """M[V, k]: row t lists the k most likely successors of token t seen so far (best first).

    Args:
        vocab_size: rows (the model's output size).
        k: successors kept per token (Token Recycling uses 8).
        model: a name stored with the matrix so a saved file is not reused with another vocabulary.

    Rows of tokens never seen are 0..k-1 (a fixed, deterministic filler) and `seen` marks them.
    """

    def __init__(self, vocab_size: int, k: int = 8, *, model: str = "") -> None:
        if vocab_size < 1 or k < 1 or k > vocab_size:
            raise OptionError(f"adjacency matrix needs 1 <= k <= vocab size, got k={k}, vocab size {vocab_size}")
        self.k = int(k)
        self.model = model
        self.table = np.tile(np.arange(k, dtype=np.int64), (vocab_size, 1))
        self.seen = np.zeros(vocab_size, dtype=bool)

    @property
    def vocab_size(self) -> int:
        return int(self.table.shape[0])

    def update(self, tokens: Any, topk: Any) -> None:
        """Overwrite the rows of `tokens` (shape (n,)) with `topk` (shape (n, k), best first).

        When a token repeats within one call, its last occurrence wins (the order the model saw them).
        """
        toks = np.asarray(tokens, dtype=np.int64).reshape(-1)
        rows = np.asarray(topk, dtype=np.int64).reshape(len(toks), -1)[:, : self.k]
        # numpy leaves the winner of repeated indices unspecified: keep each token's last row explicitly
        _, first_from_end = np.unique(toks[::-1], return_index=True)
        keep = len(toks) - 1 - first_from_end
        self.table[toks[keep]] = rows[keep]
        self.seen[toks] = True

    def successors(self, token: int) -> np.ndarray:
        return self.table[int(token)]

    def copy(self) -> AdjacencyMatrix:
        out = AdjacencyMatrix.__new__(AdjacencyMatrix)
        out.k, out.model = self.k, self.model
        out.table, out.seen = self.table.copy(), self.seen.copy()
        return out

    def save(self, path: str | Path) -> Path:
        """Write M to a safetensors file (atomically), with its format tag, model name and k."""
        from safetensors.numpy import save

        meta = {"format": FORMAT, "model": self.model, "k": str(self.k), "vocab_size": str(self.vocab_size)}
        data = save({"table": self.table, "seen": self.seen.astype(np.uint8)}, metadata=meta)
        return atomic_write_bytes(path, data)

    @classmethod
    def load(cls, path: str | Path, *, vocab_size: int | None = None, model: str | None = None) -> AdjacencyMatrix:
        """Read a matrix written by `save`; checks the format tag and, when given, vocab size and model."""
        from safetensors import SafetensorError
        from safetensors.numpy import load

        p = Path(path)
        try:
            raw = p.read_bytes()
            arrays = load(raw)
            meta = _metadata(raw)
        except (OSError, SafetensorError, ValueError) as e:
            raise ToksmithError(f"{p}: not a readable adjacency matrix ({e})") from e
        if meta.get("format") != FORMAT or "table" not in arrays or "seen" not in arrays:
            raise ToksmithError(f"{p}: not a toksmith adjacency matrix (format tag {meta.get('format')!r})")
        table = arrays["table"].astype(np.int64)
        if vocab_size is not None and table.shape[0] != vocab_size:
            raise ToksmithError(f"{p}: matrix has {table.shape[0]} rows but the model has {vocab_size} tokens")
        if model is not None and meta.get("model") and meta["model"] != model:
            raise ToksmithError(f"{p}: matrix was built for model '{meta['model']}', not '{model}'")
        out = cls.__new__(cls)
        out.k, out.model = int(table.shape[1]), meta.get("model", "")
        out.table, out.seen = table, arrays["seen"].astype(bool)
        return out


def _metadata(raw: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors blob (its JSON header)."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8: 8 + n])
    return dict(header.get("__metadata__") or {})
