"""Prompts that end mid-word or mid-token: naive tokenization vs token healing vs exact byte-level, with CIs.

Held-out text: the last --text-bytes (50,000) bytes of ../shared/data/english/inaugural.txt. --cuts
distinct positions are drawn at random (seed --seed) at any byte that is not inside a UTF-8 character
(so inside words too); the prompt is the --prefix bytes before the cut, the target the next --target
bytes. Each method gives next-byte distributions over the 256 bytes (end-of-text left out for all
three: the 257-outcome distributions are renormalised over the bytes) and we sum -log2 P(target):
  (i)   naive: condition on encode(prompt); the first new token may be anything that can start text
        (`ByteLM.start_after_tokens(ids)`, advanced byte by byte);
  (ii)  token healing (as transformers' `token_healing`): drop the prompt's last token, then require the
        first new token to start with that token's text (`start_after_tokens(ids[:-1], first_token_prefix=...)`);
  (iii) exact: ByteLM's byte-level conditional on the byte prompt, summing over every canonical tokenization
        that continues it: the batched `ByteLM.score(target, prompt=prompt)`. On the first --verify cuts
        it is also computed byte by byte (`ByteLM.start(prompt)`, the reference the batched path is tested
        against) and the largest difference per byte (nats) is reported.
All three score the continuation with the same byte-level machinery after their first token.

Reported per subset (all cuts; cut inside a word = the bytes on both sides of the cut are ASCII letters;
the others): bits per byte of the targets for each method (ratio of sums) and paired-bootstrap 95%
intervals over cuts (toksmith.evaluate.bootstrap, fixed seed, the same resamples for both sides) for
exact minus naive and exact minus healing. Writes benchmarks/out/prompt_boundary.json (no timings:
deterministic; progress and timings go to stdout).

    nice -n 15 .venv/bin/python benchmarks/prompt_boundary.py --models smollm2 --cuts 200 --verify 5 --verify-float64 5
    .venv/bin/python benchmarks/prompt_boundary.py --cuts 4 --verify 4        # smoke test
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
LN2 = math.log(2)


def _bits_256(lp: np.ndarray, target: bytes) -> np.ndarray:
    """(len(target),) -log2 P(byte) with each row of 257 log-probabilities renormalised over the 256 bytes."""
    b = lp[:, :256]
    m = b.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(b - m).sum(axis=1))
    return -(b[np.arange(len(target)), np.frombuffer(target, dtype=np.uint8)] - lse) / LN2


def _state_bits(st, target: bytes) -> np.ndarray:
    """Per-byte bits of `target` advancing a `ByteState` byte by byte (256-way normalisation).

    A byte the method gives probability 0 (every token path dies: e.g. healing backs off "\\n\\n" and
    requires the first token to start with it, but "\\n\\n" + "Few" is not canonical) gets infinite bits,
    and so does the rest of the target (`advance` cannot go on past it).
    """
    rows = []
    for k, b in enumerate(target):
        un = st.distribution().log_unnormalised
        rows.append(un)
        if un[b] == -math.inf:
            return np.concatenate([_bits_256(np.stack(rows[:-1]), target[:k]) if k else np.zeros(0),
                                   np.full(len(target) - k, np.inf)])
        st.advance(b)
    return _bits_256(np.stack(rows), target)


def _verify(blm, name: str, dtype: str, c: int, prompt: bytes, target: bytes, exact: np.ndarray) -> dict:
    """The exact method byte by byte (`ByteLM.start(prompt)`) against the batched bits `exact`."""
    ref = _state_bits(blm.start(prompt), target)
    return {"model": name, "dtype": dtype, "cut": c,
            "max_abs_diff_nats_per_byte": float(np.abs(ref - exact).max() * LN2),
            "exact_bits_batched": float(exact.sum()), "exact_bits_byte_by_byte": float(ref.sum())}


def cut_positions(text: bytes, n: int, prefix: int, target: int, seed: int) -> list[int]:
    """n distinct cut positions, neither the cut nor the prompt's start inside a UTF-8 character."""
    rng = random.Random(seed)
    cuts: list[int] = []
    seen: set[int] = set()
    while len(cuts) < n:
        c = rng.randrange(prefix + 1, len(text) - target)
        if c in seen or 0x80 <= text[c] < 0xC0 or 0x80 <= text[c - prefix] < 0xC0:
            continue
        seen.add(c)
        cuts.append(c)
    return cuts


def summarise(rows: list[dict], target: int, resamples: int, seed: int) -> list[dict]:
    from toksmith.evaluate.bootstrap import Ratio, bootstrap_ratios, percentile_ci

    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        every = [r for r in rows if r["model"] == name]
        rs = [r for r in every if all(math.isfinite(r[f"{k}_bits"]) for k in ("naive", "healing", "exact"))]
        zero = {k: sum(not math.isfinite(r[f"{k}_bits"]) for r in every) for k in ("naive", "healing", "exact")}
        for subset, sel in (("all", rs), ("cut inside a word", [r for r in rs if r["mid_word"]]),
                            ("cut not inside a word", [r for r in rs if not r["mid_word"]])):
            if not sel:
                continue
            den = np.full(len(sel), float(target))
            group = (name, subset)
            ratios = [Ratio.of(group, np.array([r[f"{k}_bits"] for r in sel]), den)
                      for k in ("naive", "healing", "exact")]
            naive, heal, exact = bootstrap_ratios(ratios, resamples=resamples, seed=seed)
            names = ("naive", "healing", "exact")
            s = {"model": name, "subset": subset, "prompts": len(sel),
                 "cuts_left_out_with_probability_0": zero if subset == "all" else None,
                 **{f"{k}_bits_per_byte": r.point() for k, r in zip(names, ratios, strict=True)}}
            for tag, ref, rep in (("naive", ratios[0], naive), ("healing", ratios[1], heal)):
                diff = exact - rep
                s[f"exact_minus_{tag}"] = {"point": ratios[2].point() - ref.point(), "ci95": percentile_ci(diff),
                                           "share_of_resamples_below_0": float((diff < 0).mean())}
            # per cut, against the better baseline; tie = within 0.01 bits (float32 rounding is ~1e-5 bits)
            best = [r["exact_bits"] - min(r["naive_bits"], r["healing_bits"]) for r in sel]
            s["exact_vs_better_baseline"] = {"better": sum(d < -0.01 for d in best),
                                             "tie": sum(abs(d) <= 0.01 for d in best),
                                             "worse": sum(d > 0.01 for d in best)}
            out.append(s)
    return out


def main() -> None:
    from toksmith.bridge import ByteLM
    from toksmith.evaluate.bootstrap import RESAMPLES, SEED
    from toksmith.io import atomic_write_text, ensure_dir
    from toksmith.lm import load_lm

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["smollm2"])
    ap.add_argument("--cuts", type=int, default=200)
    ap.add_argument("--prefix", type=int, default=48)
    ap.add_argument("--target", type=int, default=32)
    ap.add_argument("--text-bytes", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0, help="seed of the cut positions")
    ap.add_argument("--verify", type=int, default=5, help="cuts whose exact score is also computed byte by byte")
    ap.add_argument("--verify-float64", type=int, default=0,
                    help="cuts checked again (batched vs byte by byte) with the model in float64, after the run")
    ap.add_argument("--resume", type=Path, default=None,
                    help="a JSON this script wrote with the same options: its cuts are kept, not rescored")
    ap.add_argument("--tail-mass", type=float, default=1e-4)
    ap.add_argument("--resamples", type=int, default=RESAMPLES)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on this shared 2-core CPU, 2 threads waited on each other: 4-10x slower)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "prompt_boundary.json")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    text = (DATA / "english" / "inaugural.txt").read_bytes()[-args.text_bytes:]
    cuts = cut_positions(text, args.cuts, args.prefix, args.target, args.seed)
    rows: list[dict] = []
    verify: list[dict] = []
    if args.resume is not None:
        old = json.loads(args.resume.read_text(encoding="utf-8"))
        if (old["cuts"], old["prefix_bytes"], old["target_bytes"], old["tail_mass"]) != (
                cuts, args.prefix, args.target, args.tail_mass):
            raise SystemExit(f"{args.resume}: written with other cuts or options")
        verify = old["verify_exact_batched_vs_byte_by_byte"]
        rows = [{k: (math.inf if k.endswith("_bits") and v is None else v) for k, v in r.items()} for r in old["rows"]]

    def write() -> list[dict]:
        """The JSON of the cuts done so far (rewritten every 10 cuts, so a stopped run leaves its part)."""
        summary = summarise(rows, args.target, args.resamples, SEED)
        out = {"text": f"inaugural.txt, last {len(text):,} bytes", "cuts": cuts, "cut_seed": args.seed,
               "cuts_done": len(rows), "prefix_bytes": args.prefix, "target_bytes": args.target,
               "tail_mass": args.tail_mass, "unit": "bits per target byte, 256-way (end-of-text left out)",
               "bootstrap": {"resamples": args.resamples, "seed": SEED, "level": 0.95, "unit": "cuts, paired"},
               "verify_exact_batched_vs_byte_by_byte": verify, "summary": summary,
               "rows": [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()}
                        for r in rows]}  # null bits: the method gave the target probability 0
        ensure_dir(args.out.parent)
        atomic_write_text(args.out, json.dumps(out, indent=1, ensure_ascii=False) + "\n")
        return summary

    for name in args.models:
        if not args.verify_float64 and all(any(r["model"] == name and r["cut"] == c for r in rows) for c in cuts):
            continue  # every cut resumed: nothing to load
        lm = load_lm(name, device=args.device)
        blm = ByteLM(lm, tail_mass=args.tail_mass)
        tok = lm.tokenizer
        t_start = time.perf_counter()
        times = {"naive": 0.0, "healing": 0.0, "exact": 0.0}
        for k, c in enumerate(cuts):
            if any(r["model"] == name and r["cut"] == c for r in rows):
                continue
            prompt, target = text[c - args.prefix:c], text[c:c + args.target]
            ids = tok.encode(prompt.decode("utf-8"))
            t0 = time.perf_counter()
            naive = _state_bits(blm.start_after_tokens(ids), target)
            t1 = time.perf_counter()
            heal = _state_bits(blm.start_after_tokens(ids[:-1], first_token_prefix=tok.vocab.tokens[ids[-1]]),
                               target)
            t2 = time.perf_counter()
            sc = blm.score(target, prompt=prompt, keep_distributions=True, with_end=False)
            exact = _bits_256(np.asarray(sc.distributions), target)
            t3 = time.perf_counter()
            times["naive"] += t1 - t0
            times["healing"] += t2 - t1
            times["exact"] += t3 - t2
            if k < args.verify:
                verify.append(_verify(blm, name, "float32", c, prompt, target, exact))
            mid_word = bool(prompt[-1:].isalpha() and target[:1].isalpha())
            rows.append({"model": name, "cut": c, "prompt_end": prompt[-12:].decode("utf-8", "replace"),
                         "target": target.decode("utf-8", "replace"), "mid_word": mid_word,
                         "naive_bits": float(naive.sum()), "healing_bits": float(heal.sum()),
                         "exact_bits": float(exact.sum())})
            print(f"{name} {k + 1:3d}/{len(cuts)} cut {c:6d} {prompt[-12:]!r:>18} | {target[:16]!r:22} naive "
                  f"{naive.sum():7.2f} healing {heal.sum():7.2f} exact {exact.sum():7.2f} bits "
                  f"({time.perf_counter() - t_start:.0f} s)", flush=True)
            if (k + 1) % 10 == 0:
                write()
        print(f"{name}: seconds naive {times['naive']:.1f}, healing {times['healing']:.1f}, "
              f"exact (batched) {times['exact']:.1f}", flush=True)
        if args.verify_float64:
            # the same check in float64: differences left are float rounding of differently batched forwards
            lm.model.double()
            blm = ByteLM(lm, tail_mass=args.tail_mass)
            for c in cuts[: args.verify_float64]:
                prompt, target = text[c - args.prefix:c], text[c:c + args.target]
                sc = blm.score(target, prompt=prompt, keep_distributions=True)
                verify.append(_verify(blm, name, "float64", c, prompt, target,
                                      _bits_256(np.asarray(sc.distributions), target)))
        del blm, lm
    summary = write()
    if verify:
        for dt in dict.fromkeys(v["dtype"] for v in verify):
            vs = [v for v in verify if v["dtype"] == dt]
            print(f"\nexact, batched vs byte by byte, {dt}, {len(vs)} cuts: max |difference| "
                  f"{max(v['max_abs_diff_nats_per_byte'] for v in vs):.2e} nats per byte")
    print(f"\nbits per byte of the next {args.target} bytes; 95% CI paired bootstrap over cuts")
    print(f"{'model':8} {'subset':22} {'cuts':>4} {'naive':>7} {'healing':>7} {'exact':>7}  "
          f"{'exact-naive [95% CI]':>28}  {'exact-healing [95% CI]':>28}  exact vs better baseline: "
          "better/tie/worse")
    for s in summary:
        cis = []
        for tag in ("naive", "healing"):
            d = s[f"exact_minus_{tag}"]
            ci = d["ci95"] or [math.nan, math.nan]
            cis.append(f"{d['point']:+.4f} [{ci[0]:+.4f}, {ci[1]:+.4f}]")
        print(f"{s['model']:8} {s['subset']:22} {s['prompts']:4d} {s['naive_bits_per_byte']:7.4f} "
              f"{s['healing_bits_per_byte']:7.4f} {s['exact_bits_per_byte']:7.4f}  {cis[0]:>28}  {cis[1]:>28}  "
              "{better}/{tie}/{worse}".format(**s["exact_vs_better_baseline"]))
    for s in summary:
        if s["subset"] == "all" and any(s["cuts_left_out_with_probability_0"].values()):
            print(f"{s['model']}: cuts left out because a method gave the target probability 0: "
                  f"{s['cuts_left_out_with_probability_0']}")


if __name__ == "__main__":
    main()
