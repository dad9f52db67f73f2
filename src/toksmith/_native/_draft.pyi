"""Type stub of the compiled growth of dynamic draft trees (`draft.cpp`; built by setup.py)."""

import numpy as np

class Matrix:
    """A view of an AdjacencyMatrix's rows: the dense table and probabilities, and its pair / triple rows."""

    def __init__(
        self,
        table: np.ndarray,
        probs: np.ndarray,
        order: int,
        pairs: dict[int, np.ndarray],
        pair_probs: dict[int, np.ndarray],
        triples: dict[int, np.ndarray],
        triple_probs: dict[int, np.ndarray],
    ) -> None: ...

def grow(
    tokens: list[int],
    parents: list[int],
    sources: list[int],
    scores: list[float],
    seed_nodes: list[int],
    seed_scores: list[float],
    budget: int,
    prev: int,
    prev2: int,
    recycle_source: int,
    m: Matrix,
) -> tuple[list[int], list[int], list[int], list[float]]:
    """Grow `budget` new nodes best first under the seeds; the whole tree's (tokens, parents, sources, scores)."""
