"""How many draft nodes a step should verify: the most expected tokens per second, from measured step costs.

Where a tree's forward costs about what a one-token step does (a GPU), verifying every drafted node pays.
On a CPU each node adds to the step (benchmarks/verify_cost.py), so a node pays only where its chance of
acceptance beats what it adds. Each step the drafter grows a tree larger than any step should verify; this
keeps the prefix of its nodes, best first by estimated acceptance (`DraftTree.scores`: a grown node's path
probability in M, a chain node's match score), that maximizes

    (1 + TRUST * sum of the kept nodes' scores) / seconds of a step of that size,

the expected tokens a step emits over what it costs (an accepted node is one token more; by linearity the
expected count is the sum of the nodes' acceptance chances, whatever the tree's shape). The seconds per
node count are measured while decoding runs (`StepCosts`), so the choice follows the machine, the model and
the context's length. It changes which nodes are verified, never the tokens emitted; since it follows the
clock, the steps taken (and so MAT) can differ between runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from statistics import median
from typing import Any
from weakref import WeakKeyDictionary

from toksmith.decoding.draft import DraftTree

__all__ = ["MAX_NODES", "TRUST", "StepCosts", "best_size", "cut_draft", "step_costs"]

#: How far a score is trusted as a chance of acceptance. M's stored probabilities are softmax values of
#: another context and overstate it: on SmolLM2 with a hot M, nodes scored 0.9-1.0 were accepted 51% of the
#: time, 0.4-0.5: 15%, 0.2-0.3: 5%. In a replay of 13 dev prompts (the 6th Spec-Bench question of each
#: category: a 16-node grown tree under a suffix chain each step, cut afterwards to every size) 0.25 and 0.3
#: were best, within 0.3% of each other, under the step costs of sessions 12 and 13; 0.2-0.5 within 4%
#: (benchmarks/RESULTS.md, "decoding on a CPU, session 13").
TRUST = 0.3
#: Most nodes a cut draft keeps on a CPU: the few-row forms (`toksmith.lm.skinny`) cover up to 8 tokens, and
#: past them a step costs more at once (benchmarks/verify_cost.py, session 13: 10 nodes 1.6x what 8 cost).
MAX_NODES = 8


class StepCosts:
    """Seconds a decoding step has taken per draft size (the median of the last `window` steps of that size).

    The first step of each size is not counted: it carries one-time work (kernels for a new shape, the
    few-row forms' measurement), and one such reading would keep that size from being picked again. A size
    not yet counted is estimated optimistically, so that it gets tried: below the smallest size counted,
    that size's cost scaled down in proportion; otherwise the cost of the largest size counted below it.
    The medians are made non-decreasing in the size first (a step never costs less for verifying more), so
    one noisy low reading cannot make larger sizes look cheap.
    """

    def __init__(self, window: int = 8) -> None:
        self.window = int(window)
        self.seen: dict[int, deque[float]] = {}
        self.tried: set[int] = set()

    def add(self, size: int, seconds: float) -> None:
        size = int(size)
        if size not in self.tried:
            self.tried.add(size)
            return
        self.seen.setdefault(size, deque(maxlen=self.window)).append(float(seconds))

    def estimate(self, max_size: int) -> list[float]:
        """Estimated seconds of a step of 1 .. max_size nodes (index 0 is size 1); all 1.0 before any count."""
        if not self.seen:
            return [1.0] * max_size
        known: dict[int, float] = {}
        top = 0.0
        for n in sorted(self.seen):  # non-decreasing in the size
            top = known[n] = max(top, median(self.seen[n]))
        sizes = sorted(known)
        out = []
        for n in range(1, max_size + 1):
            below = [s for s in sizes if s <= n]
            out.append(known[below[-1]] if below else known[sizes[0]] * n / sizes[0])
        return out


_COSTS: WeakKeyDictionary[Any, dict[Hashable, StepCosts]] = WeakKeyDictionary()


def step_costs(model: Any, key: Hashable) -> StepCosts:
    """The step costs measured so far in this process for `model` decoded the `key` way (method, forms):
    later calls start from them instead of trying every size again (as fastest_forms measures once)."""
    return _COSTS.setdefault(model, {}).setdefault(key, StepCosts())


def ranked_nodes(tree: DraftTree) -> list[int]:
    """The root, then the other nodes best first by score (ties: the earlier node), each after its parent.

    A grown node scores at most its parent and a chain node less than the one above it, so sorting keeps
    parents first; a node whose parent would come later is dropped (it could not be verified without it).
    """
    order = sorted(range(1, len(tree)), key=lambda i: (-tree.scores[i], i))
    kept = [0]
    placed = {0}
    for i in order:
        if tree.parents[i] in placed:
            kept.append(i)
            placed.add(i)
    return kept


def best_size(scores: Sequence[float], costs: Sequence[float], trust: float = TRUST) -> int:
    """The n in 1 .. len(costs) maximizing (1 + trust * sum(scores[:n - 1])) / costs[n - 1].

    `scores`: the non-root nodes' scores in the order they would be kept; `costs[i]`: seconds of a step of
    i + 1 nodes. Ties go to the smaller n. Sizes past the tree (len(scores) + 1) are not considered.
    """
    top = min(len(costs), len(scores) + 1)
    best, best_n, expected = -1.0, 1, 1.0
    for n in range(1, top + 1):
        if n > 1:
            expected += trust * float(scores[n - 2])
        rate = expected / costs[n - 1]
        if rate > best:
            best, best_n = rate, n
    return best_n


def cut_draft(tree: DraftTree, costs: StepCosts, max_nodes: int = MAX_NODES, trust: float = TRUST) -> DraftTree:
    """`tree` cut to the size `best_size` picks from `costs` (at most `max_nodes` nodes, the root included)."""
    order = ranked_nodes(tree)
    n = best_size([tree.scores[i] for i in order[1:]], costs.estimate(max(1, max_nodes)), trust)
    return tree.subtree(order[:n])
