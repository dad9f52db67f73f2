"""A first check on an accelerator before any timing: the lossless and exact paths run there and agree.

Tiny random-weight models (tests/bridge/tiny.py: a Llama and a Gemma 3 with a 3-token sliding window)
are moved to --device. Checks: `toksmith.decoding.generate` with recycle, suffix and hybrid (static and
grown trees) emits exactly transformers' greedy ids on the device; `ByteLM.score` on the device gives
the same per-byte log-probabilities as on the CPU (float32 rounding apart). Prints one line per check
and exits 1 on any failure.

    python benchmarks/device_smoke.py --device cuda
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.bridge.tiny


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    import torch
    from tests.bridge.tiny import byte_level_bpe, sentencepiece_bpe, tiny_gemma3, tiny_llama

    from toksmith.bridge import ByteLM
    from toksmith.decoding import generate
    from toksmith.lm import lm_from_model

    failed = 0
    tmp = Path(tempfile.mkdtemp())
    for build, tok_fn in ((tiny_llama, byte_level_bpe), (tiny_gemma3, sentencepiece_bpe)):
        tok = tok_fn(tmp)
        cpu = build(tok)
        dev = lm_from_model(cpu.model.to(args.device), tok, name=cpu.name)
        prompt = [dev.bos_id] + tok.encode("ab ab aab ba abba ab ab")
        x = torch.tensor([prompt], device=args.device)
        with torch.inference_mode():
            ref = dev.model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=40,
                                     min_new_tokens=40, pad_token_id=dev.eos_id)[0, len(prompt):].tolist()
        # rejected draft rows as the device's default keeps them, compacted after every step (max_dead 0), and
        # kept (masked) up to 1,024
        for method, tree, branch, dead in (("recycle", "tr80", None, None), ("suffix", None, None, None),
                                           ("hybrid", "tr80", None, None), ("hybrid", "dyn32", "dyn", None),
                                           ("hybrid", "dyn32", "dyn", 0), ("hybrid", "dyn32", "dyn", 1024)):
            out = generate(dev, prompt, max_new_tokens=40, method=method, tree=tree, branch=branch, adaptive=False,
                           eos_ids=[-1], max_dead=dead).ids
            ok = out == ref
            failed += not ok
            print(f"{dev.name} {args.device} {method} {tree} {branch} max_dead={dead}: "
                  f"{'identical' if ok else 'DIFFERS'} ({len(out)} tokens)", flush=True)
        text = "ab ab aab ba abba é ab".encode()
        on_dev = ByteLM(dev).score(text, with_end=True).logprobs
        dev.model.to("cpu")
        on_cpu = ByteLM(lm_from_model(dev.model, tok, name=cpu.name)).score(text, with_end=True).logprobs
        diff = max(abs(a - b) for a, b in zip(on_dev, on_cpu, strict=True))
        ok = diff < 1e-4
        failed += not ok
        print(f"{dev.name} ByteLM.score {args.device} vs cpu: max |logprob diff| {diff:.1e} "
              f"({'ok' if ok else 'TOO LARGE'})", flush=True)
    print("all checks passed" if not failed else f"{failed} checks FAILED")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
