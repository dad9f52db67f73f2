"""The adjacency matrix M of Token Recycling: for every token, the top-k tokens that last followed it.

M is an integer table of shape (V, k). Every forward pass of decoding yields next-token logits for
each token it ran; the top-k of those logits overwrite that token's row ("recycling" candidates the
model already computed). A cold M starts from the prompt's prefill logits; a hot M is carried across
prompts and can be saved to and loaded from a safetensors file (no pickles).

With `order=2` M also keeps, per token PAIR (a, t) seen, the top-k that last followed t right after a;
a draft node whose (parent, token) pair has such a row takes its successors from it (more specific to
the context than t's row alone), and from t's row otherwise. `order=3` adds rows per token triple
(b, a, t), looked up first.

Every row also keeps the probabilities the model gave its successors when the row was written
(`probs`), so a draft can be grown where M is confident (`draft.build_draft(grow=N)`); rows never
written hold a small rank prior.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toksmith.errors import OptionError, ToksmithError
from toksmith.io import atomic_write_bytes

__all__ = ["AdjacencyMatrix", "DEFAULT_ORDER", "FORMAT"]

#: format tag written into every saved matrix's metadata
FORMAT = "toksmith-recycle-adjacency/1"
#: 2: keep token-pair rows too (on SmolLM2 / Spec-Bench they raise acceptance at no forward cost;
#: benchmarks/RESULTS.md "decoding, session 5")
DEFAULT_ORDER = 2


def _prior(k: int) -> np.ndarray:
    """The probabilities assumed for a row never written: small, falling with the rank."""
    return (0.1 / np.arange(1, k + 1)).astype(np.float32)


class AdjacencyMatrix:
    """M[V, k]: row t lists the k most likely successors of token t seen so far (best first).

    Args:
        vocab_size: rows (the model's output size).
        k: successors kept per token (Token Recycling uses 8).
        model: a name stored with the matrix so a saved file is not reused with another vocabulary.

    Rows of tokens never seen are 0..k-1 (a fixed, deterministic filler) and `seen` marks them.
    """

    def __init__(self, vocab_size: int, k: int = 8, *, model: str = "", order: int = DEFAULT_ORDER) -> None:
        if vocab_size < 1 or k < 1 or k > vocab_size:
            raise OptionError(f"adjacency matrix needs 1 <= k <= vocab size, got k={k}, vocab size {vocab_size}")
        if order not in (1, 2, 3):
            raise OptionError(f"adjacency order must be 1 (token), 2 (token pair) or 3 (triple), got {order}")
        self.k = int(k)
        self.model = model
        self.order = int(order)
        self.table = np.tile(np.arange(k, dtype=np.int64), (vocab_size, 1))
        self.seen = np.zeros(vocab_size, dtype=bool)
        #: the model's probability of each successor when its row was written
        self.probs = np.tile(_prior(k), (vocab_size, 1))
        #: order 2: pair key a * V + t -> the top-k that last followed t after a (and their probabilities)
        self.pairs: dict[int, np.ndarray] = {}
        self.pair_probs: dict[int, np.ndarray] = {}
        #: order 3: triple key (b * V + a) * V + t -> the top-k that last followed t after b, a
        self.triples: dict[int, np.ndarray] = {}
        self.triple_probs: dict[int, np.ndarray] = {}

    @property
    def vocab_size(self) -> int:
        return int(self.table.shape[0])

    def update(self, tokens: Any, topk: Any, prev: Any = None, probs: Any = None, prev2: Any = None) -> None:
        """Overwrite the rows of `tokens` (shape (n,)) with `topk` (shape (n, k), best first).

        When a token repeats within one call, its last occurrence wins (the order the model saw them).
        `prev` (order 2): the token before each of `tokens` (-1: none), keying the pair rows.
        `probs` (shape (n, k)): the model's probabilities of `topk` (None: the rank prior).
        `prev2` (order 3): the token before each `prev` (-1: none), keying the triple rows.
        """
        toks = np.asarray(tokens, dtype=np.int64).reshape(-1)
        rows = np.asarray(topk, dtype=np.int64).reshape(len(toks), -1)[:, : self.k]
        ps = (np.tile(_prior(self.k), (len(toks), 1)) if probs is None
              else np.asarray(probs, dtype=np.float32).reshape(len(toks), -1)[:, : self.k])
        # numpy leaves the winner of repeated indices unspecified: keep each token's last row explicitly
        _, first_from_end = np.unique(toks[::-1], return_index=True)
        keep = len(toks) - 1 - first_from_end
        self.table[toks[keep]] = rows[keep]
        self.probs[toks[keep]] = ps[keep]
        self.seen[toks] = True
        if self.order >= 2 and prev is not None:
            before = np.asarray(prev, dtype=np.int64).reshape(-1)
            _write_rows(self.pairs, self.pair_probs, before * self.vocab_size + toks, before >= 0, rows, ps)
            if self.order == 3 and prev2 is not None:
                b2 = np.asarray(prev2, dtype=np.int64).reshape(-1)
                _write_rows(self.triples, self.triple_probs, (b2 * self.vocab_size + before) * self.vocab_size + toks,
                            (b2 >= 0) & (before >= 0), rows, ps)

    def successors(self, token: int, prev: int = -1, prev2: int = -1) -> np.ndarray:
        """The successors of `token` (after `prev2`, `prev` when order 3 has that triple's row, else after
        `prev` when order 2 or 3 has that pair's row)."""
        return self.successors_probs(token, prev, prev2)[0]

    def successors_probs(self, token: int, prev: int = -1, prev2: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """`successors(token, prev, prev2)` and the probabilities the model gave them when the row was written."""
        if prev >= 0:
            if prev2 >= 0 and self.order == 3 and self.triples:
                key = (prev2 * self.vocab_size + prev) * self.vocab_size + token
                row = self.triples.get(key)
                if row is not None:
                    return row, self.triple_probs[key]
            if self.order >= 2 and self.pairs:
                key = prev * self.vocab_size + token
                row = self.pairs.get(key)
                if row is not None:
                    return row, self.pair_probs[key]
        return self.table[int(token)], self.probs[int(token)]

    def copy(self) -> AdjacencyMatrix:
        out = AdjacencyMatrix.__new__(AdjacencyMatrix)
        out.k, out.model, out.order = self.k, self.model, self.order
        out.table, out.seen, out.probs = self.table.copy(), self.seen.copy(), self.probs.copy()
        out.pairs = dict(self.pairs)  # rows are never written in place, so sharing them is safe
        out.pair_probs = dict(self.pair_probs)
        out.triples, out.triple_probs = dict(self.triples), dict(self.triple_probs)
        return out

    def save(self, path: str | Path) -> Path:
        """Write M to a safetensors file (atomically), with its format tag, model name and k."""
        from safetensors.numpy import save

        meta = {"format": FORMAT, "model": self.model, "k": str(self.k), "vocab_size": str(self.vocab_size),
                "order": str(self.order)}
        arrays = {"table": self.table, "seen": self.seen.astype(np.uint8), "probs": self.probs}
        for name, rows, probs in (("pair", self.pairs, self.pair_probs), ("triple", self.triples, self.triple_probs)):
            if self.order >= (2 if name == "pair" else 3):
                keys = list(rows)
                arrays[f"{name}_keys"] = np.asarray(keys, dtype=np.int64)
                arrays[f"{name}_rows"] = (np.stack([rows[q] for q in keys]) if keys
                                          else np.zeros((0, self.k), dtype=np.int64))
                arrays[f"{name}_probs"] = (np.stack([probs[q] for q in keys]).astype(np.float32) if keys
                                           else np.zeros((0, self.k), dtype=np.float32))
        data = save(arrays, metadata=meta)
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
        out.order = int(meta.get("order", "1"))
        out.table, out.seen = table, arrays["seen"].astype(bool)
        # files written before probabilities were kept: the rank prior
        out.probs = (arrays["probs"].astype(np.float32) if "probs" in arrays
                     else np.tile(_prior(out.k), (table.shape[0], 1)))
        out.pairs, out.pair_probs, out.triples, out.triple_probs = {}, {}, {}, {}
        for name in ("pair", "triple"):
            if f"{name}_keys" in arrays:
                rows = arrays[f"{name}_rows"].astype(np.int64)
                keys = arrays[f"{name}_keys"].tolist()
                probs = (arrays[f"{name}_probs"].astype(np.float32) if f"{name}_probs" in arrays
                         else np.tile(_prior(out.k), (len(keys), 1)))
                setattr(out, f"{name}s", {int(key): rows[i] for i, key in enumerate(keys)})
                setattr(out, f"{name}_probs", {int(key): probs[i] for i, key in enumerate(keys)})
        return out


def _write_rows(rows: dict[int, np.ndarray], probs: dict[int, np.ndarray], keys: np.ndarray, valid: np.ndarray,
                succ: np.ndarray, ps: np.ndarray) -> None:
    """Set rows[key] and probs[key] for the valid keys, in order (a repeated key's last row wins)."""
    keys, succ, ps = keys[valid].tolist(), succ[valid], ps[valid]
    rows.update(zip(keys, succ, strict=True))
    probs.update(zip(keys, ps, strict=True))


def _metadata(raw: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors blob (its JSON header)."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8: 8 + n])
    return dict(header.get("__metadata__") or {})
