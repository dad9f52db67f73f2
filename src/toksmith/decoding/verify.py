"""Tree-attention verification over one KV cache, and compaction of the accepted path's KV rows.

The cache holds the committed tokens except the last one (the root). A draft tree runs as one
sequence: each node sees the whole cache (within a sliding window where the layer has one) plus its
ancestors and itself (a 4-D mask, `toksmith.bridge.tree.tree_attention_mask`), at explicit position
ids = cache length + depth. Greedy acceptance walks from the root, taking the argmax at each node and
descending while a child carries it.

The rejected nodes' KV rows stay in the cache as dead rows, masked out of every later forward, until
more than `max_dead` have gathered; then one compaction moves the live rows down in place and cuts the
rest (`max_dead` 0: after every step). A compaction costs a few tensor operations per layer and tensor
(on SmolLM2 about 150), which on a GPU, where a small model's step is bound by kernel launches, add to
the step; a dead row costs memory traffic and attention in every later forward, which on a CPU is the
dearer of the two (benchmarks/RESULTS.md, "decoding, session 11").

Numerics: the argmax is torch's (first index of the maximum) over the same float32 logits that plain
greedy decoding takes it over. A forward over n tokens may round differently (by ~1e-6 relative) from
one over a single token, because matrix kernels block by shape (and on a CPU the linear layers of a
few-token forward may take another form, `toksmith.lm.skinny`); a top-2 gap that small can flip.
`Verifier.min_margin` tracks the smallest top-1/top-2 gap among emitted tokens, so a divergence from
plain greedy can be attributed to such a near-tie.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from toksmith.bridge.tree import tree_attention_mask
from toksmith.decoding.draft import DraftTree
from toksmith.errors import OptionError
from toksmith.lm.attention import grouped_under_mask, masked_gqa
from toksmith.lm.loading import LM, cache_arg, require_torch
from toksmith.lm.skinny import FewRows

__all__ = ["MAX_DEAD", "Verifier"]

#: rejected draft rows the cache may hold (masked) before one compaction (0: compact after every step);
#: see the module docstring. toksmith.decoding.GPU_DEFAULTS raises it on a GPU.
MAX_DEAD = 0


class Verifier:
    """Runs prefill and tree-verification forwards of `lm` over one DynamicCache.

    Args:
        lm: the model (any transformers causal LM `load_lm` gives; llama and Gemma 3 tested).
        topk: successors per node to return for the adjacency matrix (0: none).
        few_rows: the form of CPU linear layers in forwards of up to 8 nodes (`toksmith.lm.skinny.FORMS`):
            None (default) as TOKSMITH_FEW_ROWS says, else "auto": the fastest measured on this machine
            (where a few rows then cost about what one does); "compiled", "product" (W @ x^T) or "off"
            (PyTorch's linear) at every count.
        max_dead: rejected draft rows kept (masked) in the cache before the live rows are compacted
            (0: compact after every step that rejected a node).
        gqa: on a CPU, run masked (tree) forwards with SDPA's grouped-query attention (`masked_gqa`) rather
            than K and V copied per query head; the same outputs, cheaper.
    """

    def __init__(self, lm: LM, *, topk: int = 0, few_rows: str | None = None, max_dead: int = MAX_DEAD,
                 gqa: bool = True) -> None:
        self.torch = require_torch("speculative decoding")
        from transformers.cache_utils import DynamicCache

        self.lm = lm
        self.topk = topk
        self.cache = DynamicCache()
        self.cached = 0  # committed tokens whose KV rows are in the cache (its live rows)
        self.max_dead = int(max_dead)
        if self.max_dead < 0:
            raise OptionError(f"max_dead must be at least 0, got {max_dead}")
        #: per cache row: its position, and whether it is live (a committed token's) or dead (rejected)
        self.row_pos = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self.forwards = 0
        self.positions = 0
        self.min_margin = float("inf")
        #: seconds spent per part of verification: "forward" (model, head, argmax, top-k), "walk"
        #: (greedy acceptance and the margin check), "compact" (KV rows of the accepted path), "prepare"
        self.seconds: dict[str, float] = defaultdict(float)
        cfg = lm.model.config
        text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        self.softcap = getattr(text_cfg, "final_logit_softcapping", None)
        self.decoder = lm.model.get_decoder() if hasattr(lm.model, "get_decoder") else lm.model.model
        self.head = lm.model.get_output_embeddings()
        self.rows = FewRows(lm.model, form=few_rows)
        self.gqa = bool(gqa) and grouped_under_mask(lm)

    def _logits(self, hidden: Any) -> Any:
        """Output logits of hidden states (same head and soft-capping as the model's forward)."""
        logits = self.head(hidden)
        if self.softcap:
            logits = self.torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def _note_margin(self, logits: Any) -> None:
        """Keep the smallest top-1 minus top-2 logit of these rows (for near-tie diagnosis)."""
        top2 = self.torch.topk(logits.float(), 2, dim=-1).values
        self.min_margin = min(self.min_margin, float((top2[:, 0] - top2[:, 1]).min()))

    def _argmax(self, logits: Any) -> np.ndarray:
        """Greedy choice per row, and the smallest top-2 gap seen (`_note_margin`)."""
        self._note_margin(logits)
        return self.torch.argmax(logits, dim=-1).cpu().numpy()

    def _topk(self, logits: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Top-k successors of each row, their probabilities (softmax of the same logits) and each row's
        top-1 minus top-2 logit (the near-tie margin, read off the same top-k; None when k < 2)."""
        torch = self.torch
        top = torch.topk(logits, self.topk, dim=-1)
        vals = top.values.float()
        probs = torch.exp(vals - torch.logsumexp(logits.float(), dim=-1, keepdim=True))
        gaps = (vals[:, 0] - vals[:, 1]).cpu().numpy() if self.topk >= 2 else None
        return top.indices.cpu().numpy(), probs.cpu().numpy(), gaps

    def prefill(self, ids: Sequence[int], *, chunk: int = 256) -> tuple[int, np.ndarray | None, Any]:
        """Run the prompt; returns (first generated token, prompt tokens, (top-k successors, probabilities) or None).

        The first token comes from the last position's logits alone (the shape plain greedy uses);
        the top-k of every position (for a cold adjacency matrix) is taken in chunks to bound memory.
        """
        torch = self.torch
        n = len(ids)
        if n < 1:
            raise OptionError("the prompt is empty (give at least one token)")
        if n >= self.lm.max_context:
            raise OptionError(f"the prompt has {n} tokens; the model's context is {self.lm.max_context}")
        x = torch.tensor([list(ids)], device=self.lm.device)
        with torch.inference_mode():
            out = self.decoder(input_ids=x, use_cache=True, **cache_arg(self.decoder, self.cache))
            hidden = out.last_hidden_state[0]
            first = int(self._argmax(self._logits(hidden[-1:]))[0])
            succ = None
            if self.topk:
                parts = [self._topk(self._logits(hidden[i: i + chunk])) for i in range(0, n, chunk)]
                succ = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        self.cached = n
        self.row_pos = np.arange(n, dtype=np.int64)
        self.live = np.ones(n, dtype=bool)
        self.forwards += 1
        self.positions += n
        return first, np.asarray(ids, dtype=np.int64), succ

    def verify(self, tree: DraftTree) -> tuple[list[int], list[int], Any]:
        """Run the tree in one forward; returns (accepted nodes, emitted tokens, (top-k, probs) per node or None).

        Accepted nodes start with the root; emitted tokens are the argmax after each accepted node (so
        one more than the accepted draft tokens). Afterwards the cache's live rows are the committed
        tokens up to the root and the accepted draft tokens; the last emitted token is the next root.
        """
        torch = self.torch
        clock = time.perf_counter
        t0 = clock()
        n = len(tree)
        c = self.cached
        rows = len(self.live)
        if c + tree_depth(tree) + 1 >= self.lm.max_context:
            raise OptionError(f"generation reached the model's context ({self.lm.max_context} tokens)")
        ids = torch.tensor([tree.tokens], device=self.lm.device)
        q_pos = c + np.asarray(tree.depths, dtype=np.int64)
        if n == 1 and rows == c:
            # no draft and no dead rows: the plain one-token step greedy decoding takes (the model's own
            # causal mask and positions from the cache length, which is c)
            kw: dict[str, Any] = {}
        else:
            k_pos = np.concatenate([self.row_pos, q_pos])
            allow = np.concatenate([np.broadcast_to(self.live, (n, rows)), tree.ancestors()], axis=1)
            kw = {"position_ids": torch.from_numpy(q_pos)[None].to(self.lm.device),
                  "attention_mask": tree_attention_mask(self.lm, allow, q_pos, k_pos)}
        t1 = clock()
        with torch.inference_mode(), self.rows(n), masked_gqa(bool(kw) and self.gqa):
            out = self.decoder(input_ids=ids, use_cache=True, **cache_arg(self.decoder, self.cache), **kw)
            logits = self._logits(out.last_hidden_state[0])
            best = torch.argmax(logits, dim=-1).cpu().numpy()
            top = self._topk(logits) if self.topk else None
        t2 = clock()
        self.forwards += 1
        self.positions += n
        path = [0]
        emitted = [int(best[0])]
        while True:
            child = tree.children[path[-1]].get(emitted[-1])
            if child is None:
                break
            path.append(child)
            emitted.append(int(best[child]))
        if top is not None and top[2] is not None:  # the margins came with M's top-k: no second pass
            self.min_margin = min(self.min_margin, float(top[2][path].min()))
        else:
            with torch.inference_mode():
                self._note_margin(logits[path])
        t3 = clock()
        accepted = np.zeros(n, dtype=bool)
        accepted[path] = True
        self.row_pos = np.concatenate([self.row_pos, q_pos])
        self.live = np.concatenate([self.live, accepted])
        self.cached = c + len(path)
        if len(self.live) - self.cached > self.max_dead:
            self._compact()
        t4 = clock()
        sec = self.seconds
        sec["prepare"] += t1 - t0
        sec["forward"] += t2 - t1
        sec["walk"] += t3 - t2
        sec["compact"] += t4 - t3
        return path, emitted, (top[0], top[1]) if top is not None else None

    def _compact(self) -> None:
        """Drop the dead rows: the live rows after the first dead one move down in place, the rest is cut."""
        first = int(np.argmin(self.live))
        if self.live[first]:
            return  # no dead row
        rest = first + np.flatnonzero(self.live[first:])
        m = len(rest)
        layers = self.cache.layers
        with self.torch.inference_mode():
            if m:
                src = self.torch.from_numpy(rest).to(self.lm.device)
                for layer in layers:
                    layer.keys[:, :, first: first + m] = layer.keys.index_select(2, src)
                    layer.values[:, :, first: first + m] = layer.values.index_select(2, src)
            for layer in layers:
                layer.keys = layer.keys[:, :, : first + m]
                layer.values = layer.values[:, :, : first + m]
        self.row_pos = self.row_pos[self.live]
        self.live = np.ones(len(self.row_pos), dtype=bool)


def tree_depth(tree: DraftTree) -> int:
    return max(tree.depths)
