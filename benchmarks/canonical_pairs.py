"""The structural pair test against the encoder-based definition on >= 1,000,000 real pairs per tokenizer,
and its cost against the encoder-based masks it replaces (same run). For tokenizers with a pre-tokenizer,
also the test with a left context (a token that continues its pre-token, at real sites of code and prose)
against the encoder run on the real context: --context-sites x --context-right more pairs.

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
from toksmith.bridge.pair_check import compare_pairs, compare_pairs_in_context
from toksmith.bridge.pairs import bpe_pairs
from toksmith.bridge.pretok_pairs import PretokenPairs


def _context_texts() -> list[str]:
    """Real code (this package's sources), indented text (English UDHR) and prose (inaugural.txt), in pieces."""
    root = Path(__file__).resolve().parents[1]
    data = root.parent / "shared" / "data"
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "src" / "toksmith").rglob("*.py"))]
    for path in (data / "udhr" / "eng.txt", data / "english" / "inaugural.txt"):
        if path.exists():
            texts.append(path.read_text(encoding="utf-8")[-60_000:])
    return [t[i:i + 2000] for t in texts for i in range(0, len(t), 2000)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", default="smollm2,gemma3,cl100k")
    ap.add_argument("--left", type=int, default=2000)
    ap.add_argument("--right", type=int, default=500)
    ap.add_argument("--peer-masks", type=int, default=3, help="encoder-based full masks timed as the peer")
    ap.add_argument("--context-sites", type=int, default=2000)
    ap.add_argument("--context-right", type=int, default=500)
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
        ctx = {"sites": 0, "pairs": 0, "canonical": 0, "disagree": 0, "examples": []}
        t0 = time.perf_counter()
        if pp.has_pretokenizer and args.context_sites:
            ctx = compare_pairs_in_context(Canonicality(tok), _context_texts(), n_right=args.context_right,
                                           max_sites=args.context_sites, seed=0)
        ctx_s = time.perf_counter() - t0
        row = {"context_sites": ctx["sites"], "context_pairs": ctx["pairs"], "context_canonical": ctx["canonical"],
               "context_disagree": ctx["disagree"], "context_examples": ctx["examples"], "context_s": ctx_s,
               "tokenizer": name, "vocab": tok.vocab.size, "pairs": got["pairs"], "canonical": got["canonical"],
               "disagree": got["disagree"], "examples": got["examples"], "setup_s": setup, "check_s": check,
               "mask_ms_first": statistics.median(fast_ms), "mask_ms_warm": warm,
               "encoder_mask_ms": statistics.median(slow_ms),
               "speedup": statistics.median(slow_ms) / statistics.median(fast_ms)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'tokenizer':10} {'pairs':>9} {'disagree':>8} {'ctx pairs':>9} {'ctx disagree':>12} {'mask ms':>8} "
          f"{'warm ms':>8} {'encoder ms':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['tokenizer']:10} {r['pairs']:>9,} {r['disagree']:>8} {r['context_pairs']:>9,} "
              f"{r['context_disagree']:>12} {r['mask_ms_first']:>8.2f} "
              f"{r['mask_ms_warm']:>8.2f} {r['encoder_mask_ms']:>10.0f} {r['speedup']:>6.0f}x")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
