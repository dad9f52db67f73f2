"""ByteLM cost: exact byte-level scoring of a known text (`ByteLM.score`) against token-level scoring.

Held-out English: the last --bytes bytes of ../shared/data/english/inaugural.txt (cut to a character
boundary). For each model and text length, in one run: token-level scoring of the text (`score_text`,
the peer: one forward per window of the canonical tokens) and batched byte-level scoring of the same
text (`ByteLM.score`: every byte's exact next-byte distribution, end-of-text included), each repeated
--repeats times; the table shows medians and their ratio. Both use the same window and stride
(toksmith.defaults). Also: tree positions per byte against tokens per byte (the floor of the ratio),
time spent in canonicality masks, BPB both ways, the mass on non-canonical continuations, and greedy
byte-level generation (`generate_bytes`) on --gen-prompts prompts: speculative (the default: a drafted
token's nodes run ahead in one forward), one forward per byte, and the token-level greedy peer
(transformers `generate`) writing about as many bytes, with bytes/s of each. Every byte-level run starts with
cold pair masks (the canonicality cache is cleared). With --incremental-bytes N the old
byte-by-byte path (`ByteState`) is timed on the first N bytes too. Writes benchmarks/out/bytelm_speed.json.

    flock /tmp/toksmith-cpu.lock .venv/bin/python benchmarks/bytelm_speed.py --models smollm2 gemma3 \
        --bytes 1000 --threads 2
    flock /tmp/toksmith-cpu.lock .venv/bin/python benchmarks/bytelm_speed.py --models smollm2 --skip-scoring \
        --gen-prompts 3 --threads 2 --few-rows-off     # generation with and without the few-row linears

Forwards of up to 8 tree nodes run their linear layers in the form measured fastest on the machine
(`toksmith.lm.skinny`: the compiled kernel, W @ x^T or PyTorch's own); --few-rows-off times speculative
generation both ways in one run (the measured forms, and PyTorch's linear throughout).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def held_out_english(n: int) -> bytes:
    data = (DATA / "english" / "inaugural.txt").read_bytes()[-4 * n:]
    text = data.decode("utf-8", "ignore")
    text = text[text.index(" ") + 1:]
    return text.encode("utf-8")[-n:].decode("utf-8", "ignore").encode("utf-8")


def _median_time(fn, repeats: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def bench_model(name: str, args: argparse.Namespace) -> list[dict]:
    """Rows for one model: every text length, then greedy generation."""
    import torch

    from toksmith import defaults
    from toksmith.bridge import ByteLM, score_bytes
    from toksmith.lm import load_lm, score_text

    rows = []
    lm = load_lm(name, device=args.device)
    blm = ByteLM(lm, tail_mass=args.tail_mass)
    blm.canon.start_mask()  # one-off per tokenizer
    canon_s = [0.0]
    inner = blm.mask_for

    def timed_mask(*a, _inner=inner, _acc=canon_s, **kw):
        t = time.perf_counter()
        out = _inner(*a, **kw)
        _acc[0] += time.perf_counter() - t
        return out
    blm.mask_for = timed_mask
    sync = torch.cuda.synchronize if lm.device.startswith("cuda") else (lambda: None)
    for n in [] if args.skip_scoring else args.bytes:
        text = held_out_english(n)
        s = text.decode("utf-8")

        def token_level(_s=s):
            out = score_text(lm, _s, window=defaults.WINDOW, stride=defaults.STRIDE)
            sync()
            return out

        def byte_level(_t=text):
            canon_s[0] = 0.0
            blm.canon._pairs.clear()  # pair masks and encoder answers start cold in every run
            blm.canon._checked.clear()
            out = blm.score(_t, with_end=True)
            sync()
            return out

        byte_level()  # warm-up (the pre-tokenizer's regex categories per token class stay warm after it)
        token_level()
        tok_s, tok_all, (bits, ntok) = _median_time(token_level, args.repeats)
        byte_s, byte_all, sc = _median_time(byte_level, args.repeats)
        norms = sc.normalisers
        row = {
            "model": name, "device": lm.device, "kind": "scoring", "bytes": len(text), "tokens": ntok,
            "tail_mass": args.tail_mass,
            "window": defaults.WINDOW, "stride": defaults.STRIDE, "repeats": args.repeats,
            "token_level_seconds": tok_s, "token_level_seconds_all": tok_all,
            "byte_level_seconds": byte_s, "byte_level_seconds_all": byte_all,
            "byte_over_token": byte_s / tok_s, "byte_level_bytes_per_second": len(text) / byte_s,
            "token_level_bytes_per_second": len(text) / tok_s,
            "forwards": sc.forwards, "positions_per_byte": sc.positions / len(text),
            "tokens_per_byte": ntok / len(text),
            "canonicality_ms_per_byte": canon_s[0] * 1e3 / len(text),
            "byte_level_bpb": sc.bits_per_byte, "token_level_bpb": bits / len(text),
            "noncanonical_mass_mean": 1 - sum(norms) / len(norms), "noncanonical_mass_max": 1 - min(norms),
        }
        if args.incremental_bytes:
            part = text[: args.incremental_bytes].decode("utf-8", "ignore").encode("utf-8")
            t0 = time.perf_counter()
            inc = score_bytes(blm, part, with_end=True, incremental=True)
            inc_s = time.perf_counter() - t0
            fast = blm.score(part, with_end=True)
            row.update({"incremental_bytes": len(part), "incremental_seconds": inc_s,
                        "incremental_bytes_per_second": len(part) / inc_s,
                        "incremental_max_abs_logprob_diff": max(abs(a - b) for a, b in
                                                                zip(inc.logprobs, fast.logprobs, strict=True))})
        rows.append(row)
    rows += bench_generation(name, lm, blm, args)
    return rows


def generation_prompts(k: int) -> list[bytes]:
    """`k` 50-byte prompts of held-out English: the starts of the last paragraphs of inaugural.txt."""
    data = (DATA / "english" / "inaugural.txt").read_bytes()
    paras = [p for p in data.split(b"\n") if len(p) > 200][-k:] if k > 0 else []
    return [p[:50].decode("utf-8", "ignore").encode("utf-8") for p in paras]


def bench_generation(name: str, lm, blm, args: argparse.Namespace) -> list[dict]:
    """Greedy byte-level generation: speculative (the default) against one forward per byte, and the
    token-level greedy peer (`transformers` generate, KV cache) writing about as many bytes, per prompt."""
    import torch

    from toksmith.bridge.generate import generate_bytes
    from toksmith.lm.skinny import pytorch_linear

    rows = []
    for i, prompt in enumerate(generation_prompts(args.gen_prompts)):
        def run(spec: bool, _p=prompt):
            st: dict = {}
            out = generate_bytes(blm, _p, max_bytes=args.gen_bytes, stop_at_end=False, speculate=spec, stats=st)
            return out, st

        run(True)  # warm-up (pair masks of this prompt's tokens)
        fast_s, fast_all, (fast, fst) = _median_time(lambda: run(True), args.repeats)
        extra = {}
        if args.few_rows_off:  # the same speculative run with PyTorch's own linear path (toksmith.lm.skinny)
            with pytorch_linear():
                off_s, off_all, (off, _) = _median_time(lambda: run(True), args.repeats)
            extra = {"pytorch_linear_seconds": off_s, "pytorch_linear_seconds_all": off_all,
                     "pytorch_linear_bytes_per_second": len(off) / off_s, "pytorch_linear_identical": off == fast}
        plain_s, plain_all, (plain, pst) = _median_time(lambda: run(False), args.repeats)
        ids = [lm.bos_id] + lm.tokenizer.encode(prompt.decode("utf-8"))
        n_new = max(1, len(lm.tokenizer.encode(fast.decode("utf-8", "ignore"))))

        def token_level(_ids=ids, _n=n_new):
            with torch.inference_mode():
                out = lm.model.generate(torch.tensor([_ids], device=lm.device), max_new_tokens=_n, min_new_tokens=_n,
                                        do_sample=False, use_cache=True, pad_token_id=lm.eos_id)
            return out[0, len(_ids):].tolist()

        token_level()
        tok_s, tok_all, tok_ids = _median_time(token_level, args.repeats)
        tok_bytes = sum(len(lm.tokenizer.vocab.tokens[t]) for t in tok_ids)
        rows.append({
            "model": name, "device": lm.device, "kind": "generation", "prompt": prompt.decode("utf-8"),
            "generated": fast.decode("utf-8", "replace"), "bytes": len(fast), "identical": fast == plain,
            "speculative_seconds": fast_s, "speculative_seconds_all": fast_all,
            "speculative_bytes_per_second": len(fast) / fast_s,
            "speculative_forwards_per_byte": fst["forwards"] / len(fast),
            "plain_seconds": plain_s, "plain_seconds_all": plain_all,
            "plain_bytes_per_second": len(plain) / plain_s, "plain_forwards_per_byte": pst["forwards"] / len(plain),
            "token_level_tokens": len(tok_ids), "token_level_bytes": tok_bytes,
            "token_level_seconds": tok_s, "token_level_bytes_per_second": tok_bytes / tok_s,
            "prompt_index": i, "repeats": args.repeats, **extra,
        })
    return rows


def main() -> None:
    import torch

    from toksmith.io import atomic_write_text

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["smollm2", "gemma3"])
    ap.add_argument("--bytes", type=int, nargs="+", default=[1000], help="text lengths to score")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tail-mass", type=float, default=1e-6)
    ap.add_argument("--device", default=None)
    ap.add_argument("--gen-bytes", type=int, default=64, help="greedy generation length after each prompt")
    ap.add_argument("--gen-prompts", type=int, default=3, help="50-byte prompts of held-out English (0: none)")
    ap.add_argument("--skip-scoring", action="store_true", help="generation rows only")
    ap.add_argument("--incremental-bytes", type=int, default=0, help="also time the byte-by-byte path on the "
                    "first N bytes (slow: one forward per byte)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (fix it on a shared machine)")
    ap.add_argument("--few-rows-off", action="store_true", help="also time speculative generation with PyTorch's "
                    "own linear path (toksmith.lm.skinny.pytorch_linear), in the same run")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:  # one model in memory at a time
        rows += bench_model(name, args)
    out = {"machine": platform.node(), "cpu_threads": torch.get_num_threads(), "results": rows}
    (HERE / "out").mkdir(exist_ok=True)
    atomic_write_text(HERE / "out" / "bytelm_speed.json", json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    score = [r for r in rows if r["kind"] == "scoring"]
    gen = [r for r in rows if r["kind"] == "generation"]
    if score:
        print(f"{'model':8} {'device':6} {'bytes':>6} {'token s':>8} {'byte s':>8} {'ratio':>6} {'pos/B':>6} "
              f"{'tok/B':>6} {'canon ms/B':>10} {'BPB byte':>8} {'BPB tok':>8} {'noncanon':>9}")
    for r in score:
        print(f"{r['model']:8} {r['device']:6} {r['bytes']:6d} {r['token_level_seconds']:8.2f} "
              f"{r['byte_level_seconds']:8.2f} {r['byte_over_token']:5.1f}x {r['positions_per_byte']:6.3f} "
              f"{r['tokens_per_byte']:6.3f} {r['canonicality_ms_per_byte']:10.2f} "
              f"{r['byte_level_bpb']:8.4f} {r['token_level_bpb']:8.4f} {r['noncanonical_mass_mean']:9.2e}")
        if "incremental_seconds" in r:
            print(f"  byte-by-byte path on {r['incremental_bytes']} bytes: {r['incremental_bytes_per_second']:.2f} "
                  f"bytes/s, max |logprob diff| vs score {r['incremental_max_abs_logprob_diff']:.1e}")
    if gen:
        print(f"\ngreedy generation, {args.gen_bytes} bytes after each prompt (medians of {args.repeats})")
        print(f"{'model':8} {'prompt':>6} {'spec B/s':>8} {'fwd/B':>6} {'plain B/s':>9} {'fwd/B':>6} "
              f"{'spec/plain':>10} {'token B/s':>9} {'byte/token':>10} {'identical':>9}")
    for r in gen:
        print(f"{r['model']:8} {r['prompt_index']:6d} {r['speculative_bytes_per_second']:8.2f} "
              f"{r['speculative_forwards_per_byte']:6.3f} {r['plain_bytes_per_second']:9.2f} "
              f"{r['plain_forwards_per_byte']:6.3f} {r['plain_seconds'] / r['speculative_seconds']:9.2f}x "
              f"{r['token_level_bytes_per_second']:9.2f} "
              f"{r['speculative_bytes_per_second'] / r['token_level_bytes_per_second']:9.2f}x {str(r['identical']):>9}"
              + (f"  PyTorch linear: {r['pytorch_linear_bytes_per_second']:.2f} B/s "
                 f"(identical: {r['pytorch_linear_identical']})" if "pytorch_linear_seconds" in r else ""))
    for name in dict.fromkeys(r["model"] for r in gen):
        mine = [r for r in gen if r["model"] == name]
        med = statistics.median
        print(f"{name:8} {'median':>6} {med(r['speculative_bytes_per_second'] for r in mine):8.2f} "
              f"{med(r['speculative_forwards_per_byte'] for r in mine):6.3f} "
              f"{med(r['plain_bytes_per_second'] for r in mine):9.2f} {'':6} {'':10} "
              f"{med(r['token_level_bytes_per_second'] for r in mine):9.2f}")


if __name__ == "__main__":
    main()
