"""ByteLM cost: forward passes per byte and bytes per second, next to token-level scoring (the peer).

Held-out English: the last --bytes bytes of ../shared/data/english/inaugural.txt (cut to a character
boundary). For each model: ByteLM over every byte (exact next-byte distributions, end-of-text
included), then plain token-level scoring of the same text (one forward). Also reports BPB both ways
and the mass on non-canonical continuations (1 - normaliser per step).
Writes benchmarks/out/bytelm_speed.json.

    flock /tmp/toksmith-cpu.lock .venv/bin/python benchmarks/bytelm_speed.py --models smollm2 gemma3 --bytes 100 \
        --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"


def held_out_english(n: int) -> bytes:
    data = (DATA / "english" / "inaugural.txt").read_bytes()[-4 * n:]
    text = data.decode("utf-8", "ignore")
    text = text[text.index(" ") + 1:]
    return text.encode("utf-8")[-n:].decode("utf-8", "ignore").encode("utf-8")


def main() -> None:
    import torch

    from toksmith.bridge import ByteLM, score_bytes
    from toksmith.bridge.generate import generate_bytes
    from toksmith.io import atomic_write_text
    from toksmith.lm import load_lm, score_text

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["smollm2", "gemma3"])
    ap.add_argument("--bytes", type=int, default=100)
    ap.add_argument("--tail-mass", type=float, default=1e-6)
    ap.add_argument("--device", default=None)
    ap.add_argument("--gen-bytes", type=int, default=24, help="greedy generation length after the text's start")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (1 avoids oversubscription on a "
                    "shared machine)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = held_out_english(args.bytes)
    rows = []
    for name in args.models:
        lm = load_lm(name, device=args.device)
        blm = ByteLM(lm, tail_mass=args.tail_mass)
        blm.canon.start_mask()  # one-off per tokenizer, reported separately
        canon_s = [0.0]
        inner = blm.mask_for

        def timed_mask(*a, _inner=inner, _acc=canon_s):
            t = time.perf_counter()
            out = _inner(*a)
            _acc[0] += time.perf_counter() - t
            return out
        blm.mask_for = timed_mask
        t0 = time.perf_counter()
        sc = score_bytes(blm, text, with_end=True)
        byte_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        bits, ntok = score_text(lm, text.decode("utf-8"), window=1024, stride=512)
        if lm.device.startswith("cuda"):
            torch.cuda.synchronize()
        tok_s = time.perf_counter() - t0
        norms = sc.normalisers
        prompt = text[: len(text) // 2].decode("utf-8", "ignore").encode("utf-8")
        t0 = time.perf_counter()
        gen = generate_bytes(blm, prompt, max_bytes=args.gen_bytes, stop_at_end=False)
        gen_s = time.perf_counter() - t0
        rows.append({
            "model": name, "device": lm.device, "bytes": len(text), "tokens": ntok, "tail_mass": args.tail_mass,
            "bytelm_seconds": byte_s, "bytelm_bytes_per_second": len(text) / byte_s,
            "forwards_per_byte": sc.forwards / len(text), "bytelm_bpb": sc.bits_per_byte,
            "canonicality_ms_per_byte": canon_s[0] * 1e3 / len(text),
            "generated": gen.decode("utf-8", "replace"), "generation_bytes_per_second": len(gen) / gen_s,
            "token_level_seconds": tok_s, "token_level_bytes_per_second": len(text) / tok_s,
            "token_level_bpb": bits / len(text), "slowdown_vs_token_level": byte_s / tok_s,
            "noncanonical_mass_mean": 1 - sum(norms) / len(norms), "noncanonical_mass_max": 1 - min(norms),
            "sum_minus_log_normaliser_bits_per_byte": -sum(map(math.log, norms)) / math.log(2) / len(text),
        })
    out = {"text": text.decode("utf-8"), "machine": platform.node(), "cpu_threads": torch.get_num_threads(),
           "results": rows}
    (HERE / "out").mkdir(exist_ok=True)
    atomic_write_text(HERE / "out" / "bytelm_speed.json", json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{'model':10} {'device':6} {'bytes':>5} {'fwd/B':>6} {'ByteLM B/s':>10} {'token B/s':>10} "
          f"{'slowdown':>8} {'canon ms/B':>10} {'gen B/s':>7} {'BPB byte':>8} {'BPB tok':>8} "
          f"{'noncanon mean':>13} {'max':>8}")
    for r in rows:
        print(f"{r['model']:10} {r['device']:6} {r['bytes']:5d} {r['forwards_per_byte']:6.3f} "
              f"{r['bytelm_bytes_per_second']:10.3f} {r['token_level_bytes_per_second']:10.1f} "
              f"{r['slowdown_vs_token_level']:7.0f}x {r['canonicality_ms_per_byte']:10.2f} "
              f"{r['generation_bytes_per_second']:7.2f} "
              f"{r['bytelm_bpb']:8.4f} {r['token_level_bpb']:8.4f} "
              f"{r['noncanonical_mass_mean']:13.2e} {r['noncanonical_mass_max']:8.2e}")


if __name__ == "__main__":
    main()
