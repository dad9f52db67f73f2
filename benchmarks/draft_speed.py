"""How long growing a dynamic draft tree takes: the compiled loop against its Python reference.

On a GPU a small model's decoding step is bound by kernel launches, so the host's work between forwards
(growing the next tree from M among it) adds to every step. This times `toksmith.decoding.build_draft`
with `grow=N` from a hot M over real (token, previous token) contexts, once with the compiled loop
(`toksmith._native._draft`) and once with `draft._grow_reference`, in alternation, medians of --repeats;
both must grow the same trees. Writes benchmarks/out/draft_speed{--tag}.json.

    python benchmarks/draft_speed.py --hot-m benchmarks/out/decoding_hot_m_h7.safetensors --nodes 128 256
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hot-m", required=True, help="an adjacency matrix saved by decoding.py --calibrate (order 2)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--roots", type=int, default=400, help="contexts: the first pair rows of M")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    from toksmith.decoding import AdjacencyMatrix, build_draft, draft
    from toksmith.io import atomic_write_text

    if draft.draft_ext is None:
        raise SystemExit("the compiled extension is not built (pip install -e . builds it)")
    m = AdjacencyMatrix.load(args.hot_m)
    m.order = max(m.order, 2)
    roots = [(key % m.vocab_size, key // m.vocab_size) for key in list(m.pairs)[: args.roots]]
    if not roots:
        raise SystemExit(f"{args.hot_m}: no pair rows to take contexts from")
    forms = {"compiled": draft._grow, "python": draft._grow_reference}
    table = []
    print(f"{len(roots)} contexts from {args.hot_m}; ms per tree, median of {args.repeats}")
    print(f"{'nodes':>6} {'compiled':>9} {'python':>9} {'ratio':>6}")
    for n in args.nodes:
        secs: dict[str, list[float]] = {k: [] for k in forms}
        trees: dict[str, list] = {}
        for _ in range(args.repeats):
            for name, grow in forms.items():
                saved, draft._grow = draft._grow, grow
                try:
                    t0 = time.perf_counter()
                    out = [build_draft(tok, template=None, adjacency=m, prev=prev, grow=n) for tok, prev in roots]
                    secs[name].append((time.perf_counter() - t0) / len(roots))
                finally:
                    draft._grow = saved
                trees[name] = out
        if trees["compiled"] != trees["python"]:
            raise SystemExit(f"{n} nodes: the compiled loop grew other trees than the reference")
        med = {k: 1e3 * statistics.median(v) for k, v in secs.items()}
        row = {"nodes": n, "ms_compiled": med["compiled"], "ms_python": med["python"],
               "ratio": med["python"] / med["compiled"], "mean_tree_nodes": statistics.mean(map(len, trees["python"]))}
        table.append(row)
        print(f"{n:6d} {med['compiled']:9.3f} {med['python']:9.3f} {row['ratio']:5.1f}x")
    out = HERE / "out" / f"draft_speed{args.tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"hot_m": args.hot_m, "roots": len(roots), "repeats": args.repeats,
                                       "table": table}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
