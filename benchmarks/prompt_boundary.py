"""Prompts that end mid-word or mid-token: naive tokenization vs token healing vs exact byte-level.

Held-out text: the last 6 kB of ../shared/data/english/inaugural.txt. --cuts positions are drawn at
random (seed 0) at any byte that is not inside a UTF-8 character (so inside words too); the prompt is the
--prefix bytes before the cut, the target the next 32 bytes. Each method gives normalised next-byte
distributions over the 256 bytes (end-of-text left out for all three) and we sum log2 P(target):
  (i)   naive: condition on encode(prompt); the first new token may be anything that can start text;
  (ii)  token healing (as transformers' `token_healing`): drop the prompt's last token, then require
        the first new token to start with that token's text;
  (iii) exact: ByteLM's byte-level conditional, summing over every canonical tokenization that
        continues the prompt.
All three score the continuation with the same byte-level machinery after their first token.
Writes benchmarks/out/prompt_boundary.json.

    PYTHONPATH=src python benchmarks/prompt_boundary.py --models smollm2 --cuts 6
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"


def _score(st, target: bytes) -> float:
    total = 0.0
    for b in target:
        un = st.distribution().log_unnormalised[:256]
        m = un.max()
        total += (un[b] - (m + math.log(np.exp(un - m).sum()))) / math.log(2)
        st.advance(b)
    return total


def main() -> None:
    from toksmith.bridge import ByteLM
    from toksmith.io import atomic_write_text
    from toksmith.lm import load_lm

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["smollm2"])
    ap.add_argument("--cuts", type=int, default=6)
    ap.add_argument("--prefix", type=int, default=48)
    ap.add_argument("--target", type=int, default=32)
    ap.add_argument("--tail-mass", type=float, default=1e-4)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    text = (DATA / "english" / "inaugural.txt").read_bytes()[-6000:]
    rng = random.Random(0)
    cuts = []
    while len(cuts) < args.cuts:
        c = rng.randrange(args.prefix + 1, len(text) - args.target)
        if not (0x80 <= text[c] < 0xC0) and not (0x80 <= text[c - args.prefix] < 0xC0):
            cuts.append(c)
    rows = []
    for name in args.models:
        lm = load_lm(name, device=args.device)
        blm = ByteLM(lm, tail_mass=args.tail_mass)
        tok = lm.tokenizer
        for c in cuts:
            prompt, target = text[c - args.prefix:c], text[c:c + args.target]
            ids = tok.encode(prompt.decode("utf-8"))
            naive = _score(blm.start_after_tokens(ids), target)
            heal = _score(blm.start_after_tokens(ids[:-1], first_token_prefix=tok.vocab.tokens[ids[-1]]), target)
            exact = _score(blm.start(prompt), target)
            mid_word = bool(prompt[-1:].isalpha() and target[:1].isalpha())
            rows.append({"model": name, "cut": c, "prompt_end": prompt[-12:].decode("utf-8", "replace"),
                         "target": target.decode("utf-8", "replace"), "mid_word": mid_word,
                         "naive_bits": float(-naive), "healing_bits": float(-heal), "exact_bits": float(-exact)})
            print(f"{name} cut {c:5d} {prompt[-12:]!r:>18} | {target[:16]!r:22} naive {-naive:7.2f} "
                  f"healing {-heal:7.2f} exact {-exact:7.2f} bits", flush=True)
    summary = []
    for name in args.models:
        rs = [r for r in rows if r["model"] == name]
        for subset, sel in (("all", rs), ("mid-word", [r for r in rs if r["mid_word"]])):
            if not sel:
                continue
            n = len(sel) * args.target
            summary.append({"model": name, "subset": subset, "prompts": len(sel),
                            **{f"{k}_bits_per_byte": sum(r[f"{k}_bits"] for r in sel) / n
                               for k in ("naive", "healing", "exact")},
                            "exact_best_count": sum(
                                r["exact_bits"] <= min(r["naive_bits"], r["healing_bits"]) + 1e-9 for r in sel)})
    out = {"cuts": cuts, "prefix_bytes": args.prefix, "target_bytes": args.target, "tail_mass": args.tail_mass,
           "rows": rows, "summary": summary}
    (HERE / "out").mkdir(exist_ok=True)
    atomic_write_text(HERE / "out" / "prompt_boundary.json", json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"\n{'model':9} {'subset':9} {'prompts':>7} {'naive':>8} {'healing':>8} {'exact':>8}  (bits/byte of the "
          f"next {args.target} bytes)   exact best in")
    for s in summary:
        print(f"{s['model']:9} {s['subset']:9} {s['prompts']:7d} {s['naive_bits_per_byte']:8.4f} "
              f"{s['healing_bits_per_byte']:8.4f} {s['exact_bits_per_byte']:8.4f}   {s['exact_best_count']}/"
              f"{s['prompts']}")


if __name__ == "__main__":
    main()
