"""Static draft-tree templates: which successor ranks of M to expand at each depth.

A template is a list of rank paths (the "choices" of Medusa and Token Recycling): the path (0, 2)
means "the best successor of the root's token, then the third-best successor of that". Every prefix
of a path is itself in the template, so the template is a tree; it is filled with real tokens by
looking the ranks up in the adjacency matrix M at every step.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from toksmith.errors import OptionError, ToksmithError

__all__ = ["TEMPLATES", "Template", "load_template", "template_from_counts", "template_from_gains",
           "template_from_widths"]


class Template:
    """A tree of rank paths in breadth-first order; node i > 0 has `parents[i]` and `ranks[i]`.

    Node 0 is the root (the last committed token). Parents always precede children.
    """

    def __init__(self, paths: Iterable[Sequence[int]]) -> None:
        uniq = sorted({tuple(int(r) for r in p) for p in paths if len(p)}, key=lambda p: (len(p), p))
        index: dict[tuple[int, ...], int] = {(): 0}
        self.parents: list[int] = [-1]
        self.ranks: list[int] = [-1]
        self.depths: list[int] = [0]
        for p in uniq:
            if min(p) < 0:
                raise OptionError(f"draft-tree path {p} has a negative rank")
            if p[:-1] not in index:
                raise OptionError(f"draft-tree path {p} lacks its parent {p[:-1]} (every prefix must be listed)")
            index[p] = len(self.parents)
            self.parents.append(index[p[:-1]])
            self.ranks.append(p[-1])
            self.depths.append(len(p))
        self.paths = uniq

    def __len__(self) -> int:
        """Draft nodes (the root excluded)."""
        return len(self.parents) - 1

    @property
    def depth(self) -> int:
        return max(self.depths)

    @property
    def max_rank(self) -> int:
        return max(self.ranks) + 1 if len(self) else 0

    def widths(self) -> tuple[int, ...]:
        """Nodes per depth 1..depth."""
        return tuple(sum(1 for d in self.depths if d == k) for k in range(1, self.depth + 1))

    def __repr__(self) -> str:
        return f"Template({len(self)} nodes, widths {self.widths()})"


def template_from_widths(widths: Sequence[int], k: int = 8) -> Template:
    """A template with `widths[d]` nodes at depth d+1, chosen best-first under a rank prior.

    A path's score is the sum of log(1 / (rank + 1)) over its ranks (rank 0 is likeliest); each depth
    takes its best-scoring children of the nodes chosen one depth above. Ties go to the smaller path
    (lexicographically), so the template is deterministic.

    >>> template_from_widths([2, 1]).paths
    [(0,), (1,), (0, 0)]
    """
    if not widths or any(w < 1 for w in widths):
        raise OptionError(f"tree widths must be positive integers, got {list(widths)}")
    chosen: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    paths: list[tuple[int, ...]] = []
    for w in widths:
        cand = [(s - math.log(r + 1), p + (r,)) for s, p in chosen for r in range(k)]
        best = heapq.nsmallest(w, cand, key=lambda c: (-c[0], c[1]))
        if len(best) < w:
            raise OptionError(f"tree width {w} exceeds what {len(chosen)} parents x {k} successors allow")
        chosen = best
        paths.extend(p for _, p in best)
    return Template(paths)


def template_from_counts(counts: Mapping[Sequence[int], float], nodes: int) -> Template:
    """The `nodes` rank paths accepted most often: a static tree spent where acceptance is measured high.

    `counts[path]` = how many decoding steps accepted the draft node at that rank path (measured, e.g.,
    with `generate(..., on_step=...)` and a large recycle template on calibration prompts). Since a node
    is accepted only with its parent, a path never counts more than its prefix, so the top `nodes` paths
    (ties: shorter, then smaller path first) form a tree; with this template the expected accepted
    tokens per step on the calibration prompts (the sum of the chosen nodes' rates) is the largest any
    `nodes`-node subset of the measured tree gives. Paths whose parent is not chosen are skipped.
    """
    if nodes < 1:
        raise OptionError(f"a template needs at least 1 node, got {nodes}")
    ranked = sorted(((float(c), tuple(int(r) for r in p)) for p, c in counts.items() if len(p) and c > 0),
                    key=lambda cp: (-cp[0], len(cp[1]), cp[1]))
    chosen: set[tuple[int, ...]] = set()
    for _, p in ranked:
        if len(chosen) == nodes:
            break
        if len(p) == 1 or p[:-1] in chosen:
            chosen.add(p)
    if not chosen:
        raise OptionError("no accepted rank path was counted; calibrate on more prompts")
    return Template(chosen)


def template_from_gains(gains: Mapping[Sequence[int], float], nodes: int) -> Template:
    """The tree of at most `nodes` rank paths (every prefix included) whose gains sum highest; exact.

    `gains[path]` >= 0 is what the node adds when it is in the tree; unlike acceptance counts it may
    exceed its parent's (in `hybrid` a node gains only where it reaches deeper than the suffix chain's
    accepted run, so a depth-2 node can gain where its depth-1 parent never does). The best subtree is
    then found by a tree knapsack over the paths given and their prefixes (a prefix not given gains 0)
    rather than by taking the top paths. Paths of equal total gain are settled by a tiny rank prior
    (1e-6 / prod(rank + 1) per node), so unused slots go to low ranks, deterministically. The tree
    has exactly `nodes` nodes when the paths given allow it.
    """
    if nodes < 1:
        raise OptionError(f"a template needs at least 1 node, got {nodes}")
    weight: dict[tuple[int, ...], float] = {(): 0.0}
    for p, g in gains.items():
        q = tuple(int(r) for r in p)
        if float(g) < 0 or min(q, default=0) < 0:
            raise OptionError(f"gain {g} of path {q}: gains and ranks must be >= 0")
        for d in range(1, len(q) + 1):
            weight.setdefault(q[:d], 0.0)
        weight[q] = float(g) if q else 0.0
    for q in weight:
        if q:
            weight[q] += 1e-6 / math.prod(r + 1 for r in q)
    kids: dict[tuple[int, ...], list[tuple[int, ...]]] = {q: [] for q in weight}
    for q in sorted(weight):
        if q:
            kids[q[:-1]].append(q)
    cap = nodes + 1  # the root () is counted in the knapsack and dropped at the end
    # best[q][j]: (total weight, paths) of the best subtree rooted at q with exactly j nodes (q included)
    best: dict[tuple[int, ...], list] = {}
    for q in sorted(weight, key=lambda x: (-len(x), x)):  # children before parents
        row: list = [None, (weight[q], (q,))]
        for c in kids[q]:
            sub = best.pop(c)
            merged = list(row) + [None] * min(cap + 1 - len(row), len(sub) - 1)
            for a in range(1, len(row)):
                if row[a] is None:
                    continue
                for b in range(1, min(len(sub), cap + 1 - a)):
                    if sub[b] is None:
                        continue
                    v = row[a][0] + sub[b][0]
                    if merged[a + b] is None or v > merged[a + b][0]:
                        merged[a + b] = (v, row[a][1] + sub[b][1])
            row = merged
        best[q] = row
    root = best[()]
    chosen = root[min(cap, len(root) - 1)][1]
    if len(chosen) < 2:
        raise OptionError("no rank path to choose from; calibrate on more prompts")
    return Template(p for p in chosen if p)


def load_template(path: str | Path) -> Template:
    """A template from a JSON file {"paths": [[0], [1], [0, 0], ...]} (as the benchmark's calibration writes)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        paths = [[int(r) for r in q] for q in data["paths"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ToksmithError(f"{p}: not a draft-tree template file ({e})") from e
    return Template(paths)


#: Named templates. "cpu" was chosen by measurement on this project's 2-core CPU (benchmarks/decoding.py,
#: benchmarks/RESULTS.md "decoding on a CPU, session 9": with few-row forwards a 2-node tree costs what a
#: one-token step does, and M's top successor alone ran faster than 3, 2,1 (4 nodes) or the old 2,1,1);
#: "tr80" has Token Recycling's level sizes
#: (8/21/25/15/8/3, 80 nodes) filled by the rank prior above (TR's hand-tuned rank paths are not reproduced).
TEMPLATES: dict[str, tuple[int, ...]] = {
    "cpu": (1,),
    "tr80": (8, 21, 25, 15, 8, 3),
}
