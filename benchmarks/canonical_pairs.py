"""The structural pair test against the encoder-based definition on >= 1,000,000 real pairs per tokenizer,
and its cost against the encoder-based masks it replaces (same run).

    flock /tmp/toksmith-cpu.lock .venv/bin/python benchmarks/canonical_pairs.py [--left 2000 --right 500]

Prints a table and writes benchmarks/out/canonical_pairs.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from toksmith import load_tokenizer
from toksmith.bridge.canonical import Canonicality
from toksmith.bridge.pair_check import compare_pairs
from toksmith.bridge.pairs import bpe_pairs
from toksmith.bridge.pretok_pairs import PretokenPairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", default="smollm2,gemma3,cl100k")
    ap.add_argument("--left", type=int, default=2000)
    ap.add_argument("--right", type=int, default=500)
    ap.add_argument("--peer-masks", type=int, default=3, help="encoder-based full masks timed as the peer")
    ap.add_argument("--out", default="canonical_pairs.json")
    args = ap.parse_args()
    rows = []
    for name in args.tokenizers.split(","):
        tok = load_tokenizer(name)
        t0 = time.perf_counter()
        bp = bpe_pairs(tok)
        pp = PretokenPairs(tok, bp)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = compare_pairs(pp, n_left=args.left, n_right=args.right, seed=0)
        check = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        sample = rng.choice(np.flatnonzero(pp.eligible), args.peer_masks).tolist()
        fast_ms, slow_ms = [], []
        _ = pp.bpe_def  # the merges, loaded once for the rare cases, outside the timings
        for a in sample:
            fresh = PretokenPairs(tok, bp)  # no cached categories: the cost of a first mask
            t0 = time.perf_counter()
            fresh.mask(a)
            fast_ms.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            pp.mask(a)
            warm = (time.perf_counter() - t0) * 1e3
            ref = Canonicality(tok, structural=False)
            ref.start_mask()
            t0 = time.perf_counter()
            ref.pair_mask(a, b"", np.flatnonzero(pp.eligible))
            slow_ms.append((time.perf_counter() - t0) * 1e3)
        row = {"tokenizer": name, "vocab": tok.vocab.size, "pairs": got["pairs"], "canonical": got["canonical"],
               "disagree": got["disagree"], "examples": got["examples"], "setup_s": setup, "check_s": check,
               "mask_ms_first": statistics.median(fast_ms), "mask_ms_warm": warm,
               "encoder_mask_ms": statistics.median(slow_ms),
               "speedup": statistics.median(slow_ms) / statistics.median(fast_ms)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'tokenizer':10} {'pairs':>9} {'disagree':>8} {'mask ms':>8} {'warm ms':>8} {'encoder ms':>10} "
          f"{'ratio':>7}")
    for r in rows:
        print(f"{r['tokenizer']:10} {r['pairs']:>9,} {r['disagree']:>8} {r['mask_ms_first']:>8.2f} "
              f"{r['mask_ms_warm']:>8.2f} {r['encoder_mask_ms']:>10.0f} {r['speedup']:>6.0f}x")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
