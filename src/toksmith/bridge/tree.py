"""A token tree over one shared KV cache: many continuations evaluated in one forward pass.

Every node is a token with a parent; its keys and values sit once in a flat cache. A batch of new
nodes (children of any existing nodes, or of each other) runs as one sequence whose 4D attention mask
lets each node see exactly its ancestors and itself (tree attention), at position = its depth.
Models with sliding-window layers (Gemma 3) get a second mask with the window applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from toksmith.errors import ToksmithError
from toksmith.lm.attention import grouped_under_mask, masked_gqa
from toksmith.lm.loading import LM, cache_arg, require_torch
from toksmith.lm.skinny import FewRows

__all__ = ["TokenTree", "tree_attention_mask"]


def tree_attention_mask(lm: LM, allow: np.ndarray, q_pos: np.ndarray, k_pos: np.ndarray) -> Any:
    """The `attention_mask` argument for a forward whose new tokens see exactly the keys `allow` marks.

    Args:
        allow: (n_new, n_keys) bool, True where new token i may attend to key j (its ancestors and itself).
        q_pos: (n_new,) positions of the new tokens; k_pos: (n_keys,) positions of all keys (cache + new).
    Returns a (1, 1, n_new, n_keys) bool tensor, or for models with sliding-window layers (Gemma 3) a
    dict with the full mask and the windowed one (key visible iff q_pos - k_pos < window, as transformers).
    """
    torch = require_torch("tree attention")
    mask = torch.from_numpy(np.ascontiguousarray(allow))[None, None].to(lm.device)
    if not lm.sliding_window:
        return mask
    win = np.asarray(k_pos)[None, :] > (np.asarray(q_pos)[:, None] - lm.sliding_window)
    return {"full_attention": mask,
            "sliding_attention": torch.from_numpy(np.ascontiguousarray(allow & win))[None, None].to(lm.device)}


class TokenTree:
    """Nodes (token, parent, depth) with their KV rows in one cache; node 0 is the BOS root."""

    def __init__(self, lm: LM) -> None:
        self.torch = require_torch("byte-level probabilities")
        self.lm = lm
        self.tokens: list[int] = []
        self.parents: list[int] = []
        self.depths: list[int] = []
        self.cache: Any = None
        self.forwards = 0
        self.positions = 0
        self.rows = FewRows(lm.model)  # a few nodes a forward (generation): the weights read on every core
        self.gqa = grouped_under_mask(lm)  # the tree mask's attention on grouped K/V heads (toksmith.lm.attention)
        root_logp = self.extend([(-1, lm.bos_id)])
        self.root_logp = root_logp[0]

    def __len__(self) -> int:
        return len(self.tokens)

    def path(self, node: int) -> list[int]:
        """Token ids from the root's child down to `node` (the root's BOS excluded)."""
        out = []
        while node > 0:
            out.append(self.tokens[node])
            node = self.parents[node]
        return out[::-1]

    def _ancestors(self, node: int) -> list[int]:
        out = []
        while node >= 0:
            out.append(node)
            node = self.parents[node]
        return out

    def extend(self, items: Sequence[tuple[int, int]], *, last_only: bool = False,
               probs: bool = False) -> Any:
        """Add children (parent node, token) in one forward; returns their next-token log-probs.

        Returns shape (len(items), V) log-probabilities (the model's softmax of each new node), in the
        model's float precision: float32 for a float32 model (sums over them run in float64 downstream),
        float64 for a float64 one (the exactness tests).
        A parent may be a node added earlier in the same call (give its future id: len(self) + k).
        `last_only`: only the last item's row, shape (1, V); the output layer skips the others (a chain of
        fixed context tokens needs only its end). `probs`: (log-probabilities, probabilities), the second
        from the same pass (batched scoring sums both).
        """
        torch = self.torch
        base = len(self.tokens)
        for parent, tok in items:
            self.tokens.append(int(tok))
            self.parents.append(int(parent))
            self.depths.append(0 if parent < 0 else self.depths[parent] + 1)
        n_new = len(items)
        total = base + n_new
        allow = np.zeros((n_new, total), dtype=bool)
        outside: dict[int, list[int]] = {}
        for i, (parent, _) in enumerate(items):
            if parent >= base:  # a node of this batch: its row, already built
                allow[i] = allow[parent - base]
            elif parent >= 0:
                anc = outside.get(parent)
                if anc is None:
                    anc = outside[parent] = self._ancestors(parent)
                allow[i, anc] = True
            allow[i, base + i] = True
        depth = np.asarray(self.depths, dtype=np.int64)
        if int(depth[base:].max()) >= self.lm.max_context:
            raise ToksmithError(f"text is longer than the model's context ({self.lm.max_context} tokens)")
        dev = self.lm.device
        attn = tree_attention_mask(self.lm, allow, depth[base:], depth)
        ids = torch.tensor([self.tokens[base:]], device=dev)
        pos = torch.from_numpy(depth[base:])[None].to(dev)
        if self.cache is None:
            from transformers.cache_utils import DynamicCache

            self.cache = DynamicCache()
        with torch.inference_mode(), self.rows(n_new), masked_gqa(self.gqa):
            keep = {"logits_to_keep": 1} if last_only else {}
            out = self.lm.model(input_ids=ids, position_ids=pos, attention_mask=attn, use_cache=True,
                                **cache_arg(self.lm.model, self.cache), **keep)
            logits = out.logits[0]
            logp = torch.log_softmax(logits if logits.dtype == torch.float64 else logits.float(), dim=-1).cpu().numpy()
        self.forwards += 1
        self.positions += n_new
        v = self.lm.tokenizer.vocab.size
        if logp.dtype == np.float64:
            return (logp[:, :v], np.exp(logp[:, :v])) if probs else logp[:, :v]
        # float32 log-softmax adds its exponentials in float32: over Gemma 3's 262k entries they sum to 1
        # only within ~6e-5. Renormalise with a float64 sum (~1e-7), over every row the model has
        p = np.exp(logp)
        s = p.sum(axis=1, dtype=np.float64)
        logp -= np.log(s).astype(np.float32)[:, None]
        if not probs:
            return logp[:, :v]
        p *= (1.0 / s).astype(np.float32)[:, None]
        return logp[:, :v], p[:, :v]

    def compact(self, keep: Sequence[int]) -> dict[int, int]:
        """Drop every node that is not in `keep` or an ancestor of one; returns old id -> new id."""
        torch = self.torch
        alive: set[int] = set()
        for k in keep:
            for a in self._ancestors(k):
                if a in alive:
                    break
                alive.add(a)
        order = sorted(alive)
        remap = {old: new for new, old in enumerate(order)}
        if len(order) == len(self.tokens):
            return remap
        idx = torch.tensor(order, device=self.lm.device)
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(2, idx)
            layer.values = layer.values.index_select(2, idx)
        self.tokens = [self.tokens[o] for o in order]
        self.parents = [remap[self.parents[o]] if self.parents[o] >= 0 else -1 for o in order]
        self.depths = [self.depths[o] for o in order]
        return remap
