"""What verifying a draft tree of n nodes costs against a one-token greedy step, per device.

Token Recycling's premise is that a GPU verifies 80+ draft nodes for about the price of one token. This
measures it for our verifier (`toksmith.decoding.verify.Verifier`: tree-attention forward, argmax, the
top-k for M and the KV compaction) on a Spec-Bench prompt: after a prefill, one verification per node
count in rotation, --repeats times; medians. Trees are 8-ary (depth <= 3 at 80 nodes) with random
tokens (cost depends on the node count, not on the tokens). The table gives ms per forward and the ratio
to the one-token step; the tree defaults per device (toksmith.decoding.CPU_DEFAULTS, GPU_DEFAULTS) are chosen
from it with the speed each tree reaches (benchmarks/decoding.py). Writes benchmarks/out/verify_cost{tag}.json.

    python benchmarks/verify_cost.py --model smollm2 --device cuda --nodes 1 16 32 64 80 128 160 256
    python benchmarks/verify_cost.py --threads 2 --nodes 1 2 4 8 16 32 64 --few-rows all   # a CPU

--few-rows names the form of the CPU linear layers (toksmith.lm.skinny.FORMS), or several comma-separated
(all: compiled,product,off; both, as in older RESULTS entries: product,off), timed interleaved in one run:
one column pair each, and with "off" in the list a last column per form, the ratio to PyTorch's one-node step.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from spec_bench import load_model, load_questions, stratified
from toksmith.decoding.chat import chat_ids

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--device", default=None)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 8, 16, 32, 48, 64, 80, 96, 128, 160, 192, 256])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--topk", type=int, default=8, help="successors per node returned for M (0: none)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--few-rows", default="auto",
                    help="form(s) of the CPU linears in forwards of up to 8 nodes, comma-separated: auto (the "
                    "library's default: the fastest measured here), compiled, product, off; all: compiled,product,off")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    import torch

    from toksmith.decoding.draft import DraftTree
    from toksmith.decoding.verify import Verifier
    from toksmith.io import atomic_write_text
    from toksmith.lm.skinny import FORMS

    lm, _ = load_model(args.model, args.device, args.threads)
    q = stratified(load_questions(), 1, skip=9)[0]
    ids = chat_ids(lm, q["turns"][0])
    rng = random.Random(0)

    def tree(n: int) -> DraftTree:
        t = DraftTree(tokens=[ids[-1]])
        for i in range(1, n):
            t.add((i - 1) // 8, rng.randrange(lm.vocab_size), 1)
        return t

    aliases = {"all": "compiled,product,off", "both": "product,off"}  # both: the two forms of sessions 9-11
    modes = aliases.get(args.few_rows, args.few_rows).split(",")
    if not set(modes) <= set(FORMS):
        ap.error(f"--few-rows takes {', '.join(FORMS)} or all, got {args.few_rows}")
    vers = {}
    for mode in modes:
        vers[mode] = Verifier(lm, topk=args.topk, few_rows=mode)
        vers[mode].prefill(ids)
        for n in args.nodes:  # warm-up: kernels for every shape
            vers[mode].verify(tree(n))
    times = {(mode, n): [] for mode in modes for n in args.nodes}
    for _ in range(args.repeats):
        for n in args.nodes:
            for mode in modes:  # interleaved, so both columns see the same machine
                t = tree(n)
                t0 = time.perf_counter()
                vers[mode].verify(t)  # returns numpy arrays: the device has finished
                times[mode, n].append(time.perf_counter() - t0)
    device = f"{lm.device}, torch {torch.__version__}" + (
        f", {torch.cuda.get_device_name()}" if lm.device.startswith("cuda") else f", {torch.get_num_threads()} threads")
    print(f"{lm.name} on {device}; context {len(ids)} tokens + up to {vers[modes[0]].cached - len(ids)} accepted")
    off = "off" in modes and len(modes) > 1  # a column per form: the ratio to PyTorch's first node count
    print(f"{'nodes':>6}" + "".join(f" {'ms ' + m:>11} {'x n=' + str(args.nodes[0]):>8}"
                                    + (f" {'x off':>7}" if off else "") for m in modes))
    table = []
    for n in args.nodes:
        row = {"nodes": n}
        line = f"{n:6d}"
        for mode in modes:
            med = statistics.median(times[mode, n])
            base = statistics.median(times[mode, args.nodes[0]])
            sfx = "" if len(modes) == 1 else f"_{mode}"
            row |= {f"ms{sfx}": 1e3 * med, f"ratio{sfx}": med / base, f"ms_all{sfx}": [1e3 * x for x in times[mode, n]]}
            line += f" {1e3 * med:11.2f} {med / base:7.2f}x"
            if off:
                vs_off = med / statistics.median(times["off", args.nodes[0]])
                row[f"ratio_off{sfx}"] = vs_off
                line += f" {vs_off:6.2f}x"
        table.append(row)
        print(line)
    out = HERE / "out" / f"verify_cost{args.tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"model": args.model, "device": device, "topk": args.topk,
                                       "repeats": args.repeats, "prompt_tokens": len(ids), "few_rows": modes,
                                       "table": table}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
