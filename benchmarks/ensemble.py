"""Ensembles across tokenizers, measured: SmolLM2, Gemma 3 and their tuned mixture and product, with CIs.

Texts (cut at UTF-8 character boundaries):
  - eng: the last --eng-bytes (50,000) bytes of ../shared/data/english/inaugural.txt (held out);
  - deu, fra: the first --other-bytes (15,000) bytes of ../shared/data/genesis/german.txt and french.txt.

Each member scores each text ONCE at byte level (`ByteLM.score(text, keep_distributions=True)`: the
batched exact path, windows of `defaults.WINDOW` tokens sliding by `defaults.STRIDE`, every byte with
its full sliding-window context; per byte the normalised next-byte distribution over 257 outcomes) and
once at token level (`lm.score_text`, the function `toksmith score` calls; each token's bits are spread
evenly over its bytes). Ensembles combine the members' distributions byte by byte with
`bridge.ensemble.combine_logprobs`: mixture sum_i w_i P_i, product prod_i P_i^w_i renormalised; w is
the weight of the first member.

Statistics: each text is cut into chunks of --chunk bytes (only for statistics: the log-probabilities
come from the one scoring pass above). Chunks alternate dev (even) / test (odd), so both splits cover
the whole text. On dev, w is tuned over the grid 0, --grid-step, ..., 1 for each mode (lowest dev BPB,
ties to the smaller w); the *best member* is the member with the lower byte-level BPB on dev. Reported on
test: BPB of every member (byte and token level) and of each tuned ensemble, and a paired bootstrap 95%
interval over test chunks (toksmith.evaluate.bootstrap: `--resamples` resamples, fixed seed, the same
resamples for both sides) of "tuned ensemble minus best member" (byte level; and minus the better
token-level member). BPB = bits / bytes, ratio of sums over the chunks; end-of-text is not scored.

Writes benchmarks/out/ensemble.json (deterministic: no timings; those go to stdout).
`--cache DIR` keeps each member's scores (npz, no pickles) so a run can be split in stages, e.g. SmolLM2
first without the Gemma lock, then Gemma 3 under it:

    nice -n 15 .venv/bin/python benchmarks/ensemble.py --only smollm2 --cache /tmp/bench8/cache
    flock /tmp/toksmith-gemma.lock nice -n 15 .venv/bin/python benchmarks/ensemble.py --cache /tmp/bench8/cache

Smoke test: `.venv/bin/python benchmarks/ensemble.py --bytes 1500 --chunk 250`.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import math
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
LN2 = math.log(2)


def _cut(data: bytes, *, tail: bool) -> bytes:
    """Drop the partial UTF-8 character at the start (tail) or at the end (head) of a byte slice."""
    return data.decode("utf-8", "ignore").encode("utf-8") if not tail else data[next(
        i for i in range(len(data)) if not 0x80 <= data[i] < 0xC0):]


def texts(eng_bytes: int, other_bytes: int) -> dict[str, tuple[str, bytes]]:
    """label -> (source description, bytes)."""
    eng = _cut((DATA / "english" / "inaugural.txt").read_bytes()[-eng_bytes:], tail=True)
    out = {"eng": (f"inaugural.txt, last {len(eng):,} bytes (held out)", eng)}
    for label, name in (("deu", "german.txt"), ("fra", "french.txt")):
        data = _cut((DATA / "genesis" / name).read_bytes()[:other_bytes], tail=False)
        out[label] = (f"genesis/{name}, first {len(data):,} bytes", data)
    return out


def _key(model: str, data: bytes, tail_mass: float | None) -> str:
    from toksmith import defaults

    h = hashlib.sha256(data)
    h.update(f"|{model}|{tail_mass}|{defaults.WINDOW}|{defaults.STRIDE}|v1".encode())
    return h.hexdigest()[:24]


def _load(cache: Path | None, key: str) -> dict[str, np.ndarray] | None:
    if cache is None or not (cache / f"{key}.npz").exists():
        return None
    with np.load(cache / f"{key}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _store(cache: Path | None, key: str, arrays: dict[str, np.ndarray]) -> None:
    from toksmith.io import atomic_write_bytes, ensure_dir

    if cache is None:
        return
    ensure_dir(cache)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(cache / f"{key}.npz", buf.getvalue())


def score_member(name: str, items: dict[str, tuple[str, bytes]], tail_mass: float | None,
                 cache: Path | None) -> dict[str, dict[str, np.ndarray]]:
    """label -> {"dist": (n, 257) byte-level log-probs, "token_bits": (n,) token-level bits spread per byte}."""
    from toksmith.bridge import ByteLM
    from toksmith.lm import load_lm, score_text

    out: dict[str, dict[str, np.ndarray]] = {}
    todo = {}
    for label, (_, data) in items.items():
        got = _load(cache, _key(name, data, tail_mass))
        if got is not None:
            out[label] = got
            print(f"{name:8} {label}: from cache", flush=True)
        else:
            todo[label] = data
    if not todo:
        return out
    t0 = time.perf_counter()
    lm = load_lm(name)
    print(f"{name:8} loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    blm = ByteLM(lm) if tail_mass is None else ByteLM(lm, tail_mass=tail_mass)
    for label, data in todo.items():
        t0 = time.perf_counter()
        done = [0]

        def report(k: int, _n: int = len(data), _t0: float = t0, _label: str = label, done: list = done) -> None:
            done[0] += k
            print(f"  {name} {_label}: {done[0]:,}/{_n:,} bytes, {time.perf_counter() - _t0:.0f} s", flush=True)

        sc = blm.score(data, keep_distributions=True, progress=report)
        dist = np.asarray(sc.distributions, dtype=np.float64)
        got = dist[np.arange(len(data)), np.frombuffer(data, dtype=np.uint8)]
        if dist.shape != (len(data), 257) or np.abs(got - np.asarray(sc.logprobs)).max() > 1e-9:
            raise RuntimeError(f"{name} {label}: distributions disagree with the per-byte log-probabilities")
        tb = time.perf_counter()
        bits: list[float] = []
        text = data.decode("utf-8")
        _, ntok = score_text(lm, text, token_bits=bits)
        ids = lm.tokenizer.encode(text)
        lens = np.array([len(lm.tokenizer.vocab.tokens[i]) for i in ids], dtype=np.int64)
        if len(bits) != ntok or len(ids) != ntok or int(lens.sum()) != len(data) or \
                b"".join(lm.tokenizer.vocab.tokens[i] for i in ids) != data:
            raise RuntimeError(f"{name} {label}: tokens do not spell the text byte for byte")
        per_byte = np.repeat(np.asarray(bits, dtype=np.float64) / lens, lens)
        tt = time.perf_counter()
        print(f"{name:8} {label}: {len(data):,} bytes, byte level {tb - t0:.1f} s "
              f"({len(data) / (tb - t0):.1f} bytes/s, BPB {-got.sum() / LN2 / len(data):.4f}), "
              f"token level {tt - tb:.1f} s ({ntok:,} tokens, BPB {per_byte.sum() / len(data):.4f})", flush=True)
        out[label] = {"dist": dist, "token_bits": per_byte, "normalisers": np.asarray(sc.normalisers[:len(data)])}
        _store(cache, _key(name, data, tail_mass), out[label])
    del blm, lm
    gc.collect()
    return out


def ensemble_bits(da: np.ndarray, db: np.ndarray, data: bytes, w: float, mode: str,
                  rows: int = 4096) -> np.ndarray:
    """(n,) bits of each byte under the ensemble of two members' (n, 257) distributions, w on the first."""
    from toksmith.bridge.ensemble import combine_logprobs

    x = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(len(data))
    wv = np.array([w, 1.0 - w])
    for s in range(0, len(data), rows):
        e = min(s + rows, len(data))
        lp = combine_logprobs(np.stack([da[s:e], db[s:e]]), wv, mode)
        out[s:e] = -lp[np.arange(e - s), x[s:e]] / LN2
    return out


def _bpb(bits: np.ndarray, sel: np.ndarray) -> float:
    return float(bits[sel].sum() / sel.sum())


def analyse(label: str, source: str, data: bytes, members: dict[str, dict[str, np.ndarray]], *, chunk: int,
            grid: list[float], resamples: int, seed: int) -> dict:
    """Every number of one text (see the module docstring)."""
    from toksmith.evaluate.bootstrap import Ratio, bootstrap_ratios, percentile_ci

    n = len(data)
    x = np.frombuffer(data, dtype=np.uint8)
    cid = np.arange(n) // chunk
    nch = int(cid[-1]) + 1
    dev = cid % 2 == 0
    test = ~dev
    test_chunks = np.arange(1, nch, 2)
    bytes_per_chunk = np.bincount(cid, minlength=nch).astype(np.float64)

    def per_chunk(bits: np.ndarray) -> np.ndarray:
        return np.bincount(cid, weights=bits, minlength=nch)[test_chunks]

    a, b = list(members)
    byte_bits = {m: -members[m]["dist"][np.arange(n), x] / LN2 for m in (a, b)}
    tok_bits = {m: members[m]["token_bits"] for m in (a, b)}
    row: dict = {"text": label, "source": source, "bytes": n, "chunk_bytes": chunk, "chunks": nch,
                 "dev_chunks": int((np.arange(nch) % 2 == 0).sum()), "test_chunks": len(test_chunks),
                 "split": "alternating chunks: even = dev, odd = test", "members": {}}
    for m in (a, b):
        row["members"][m] = {
            "byte_level": {"test": _bpb(byte_bits[m], test), "dev": _bpb(byte_bits[m], dev),
                           "whole": float(byte_bits[m].mean())},
            "token_level": {"test": _bpb(tok_bits[m], test), "dev": _bpb(tok_bits[m], dev),
                            "whole": float(tok_bits[m].mean())},
            "mean_normaliser": float(np.mean(members[m]["normalisers"])),
        }
    best = min((a, b), key=lambda m: row["members"][m]["byte_level"]["dev"])
    best_tok = min((a, b), key=lambda m: row["members"][m]["token_level"]["dev"])
    row["best_member_on_dev"] = {"byte_level": best, "token_level": best_tok}
    ratios = [Ratio.of(label, per_chunk(byte_bits[best]), bytes_per_chunk[test_chunks]),
              Ratio.of(label, per_chunk(tok_bits[best_tok]), bytes_per_chunk[test_chunks])]
    row["ensembles"] = {}
    ens_chunks = {}
    for mode in ("mixture", "product"):
        curve = []
        for w in grid:
            bits = ensemble_bits(members[a]["dist"], members[b]["dist"], data, w, mode)
            curve.append((w, _bpb(bits, dev), _bpb(bits, test), bits))
        k = min(range(len(curve)), key=lambda i: (curve[i][1], i))
        w, dv, ts, bits = curve[k]
        ens_chunks[mode] = per_chunk(bits)
        ratios.append(Ratio.of(label, ens_chunks[mode], bytes_per_chunk[test_chunks]))
        row["ensembles"][mode] = {"weight_of_" + a: w, "dev": dv, "test": ts, "whole": float(bits.mean()),
                                  "grid": [{"w": c[0], "dev": c[1], "test": c[2]} for c in curve]}
    reps = bootstrap_ratios(ratios, resamples=resamples, seed=seed)
    for j, mode in enumerate(("mixture", "product")):
        e = row["ensembles"][mode]
        for tag, ref, r in (("minus_best_member_byte_level", best, reps[0]),
                            ("minus_best_member_token_level", best_tok, reps[1])):
            lvl = "byte_level" if tag.endswith("byte_level") else "token_level"
            diff = reps[2 + j] - r
            e[tag] = {"member": ref, "point": e["test"] - row["members"][ref][lvl]["test"],
                      "ci95": percentile_ci(diff), "share_of_resamples_below_0": float((diff < 0).mean())}
    return row


def main() -> None:
    from toksmith.evaluate.bootstrap import RESAMPLES, SEED
    from toksmith.io import atomic_write_text, ensure_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs=2, default=["smollm2", "gemma3"])
    ap.add_argument("--eng-bytes", type=int, default=50_000)
    ap.add_argument("--other-bytes", type=int, default=15_000)
    ap.add_argument("--bytes", type=int, default=None, help="set --eng-bytes and --other-bytes at once")
    ap.add_argument("--chunk", type=int, default=500, help="bytes per chunk (statistics only)")
    ap.add_argument("--grid-step", type=float, default=0.05)
    ap.add_argument("--resamples", type=int, default=RESAMPLES)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--tail-mass", type=float, default=None, help="ByteLM tail_mass (default: the library's)")
    ap.add_argument("--cache", type=Path, default=None, help="directory keeping each member's scores")
    ap.add_argument("--only", default=None, help="score (and cache) this member only, then stop")
    ap.add_argument("--texts", nargs="+", default=["eng", "deu", "fra"], help="which texts (eng, deu, fra)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on this shared 2-core CPU, 2 threads waited on each other: 4-10x slower)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "ensemble.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.bytes is not None:
        args.eng_bytes = args.other_bytes = args.bytes
    items = {k: v for k, v in texts(args.eng_bytes, args.other_bytes).items() if k in args.texts}
    steps = round(1 / args.grid_step)
    grid = [round(i / steps, 6) for i in range(steps + 1)]
    scores = {}
    for name in args.models:
        if args.only and name != args.only:
            continue
        scores[name] = score_member(name, items, args.tail_mass, args.cache)
    if args.only:
        return
    rows = [analyse(label, src, data, {m: scores[m][label] for m in args.models}, chunk=args.chunk, grid=grid,
                    resamples=args.resamples, seed=args.seed) for label, (src, data) in items.items()]
    out = {"models": args.models, "tail_mass": args.tail_mass if args.tail_mass is not None else "library default",
           "unit": "bits per UTF-8 byte, end-of-text not scored",
           "weights": f"weight w of {args.models[0]}, grid step {args.grid_step}, tuned on dev",
           "bootstrap": {"resamples": args.resamples, "seed": args.seed, "level": 0.95,
                         "unit": "test chunks, paired (same resamples for both sides)"},
           "texts": rows}
    ensure_dir(args.out.parent)
    atomic_write_text(args.out, json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    a, b = args.models
    print(f"\nbits per byte on the test split ({rows[0]['split']}); w = weight of {a}")
    print(f"{'text':5} {'bytes':>7} {'test ch':>7} {a + ' byte':>13} {a + ' tok':>12} {b + ' byte':>12} "
          f"{b + ' tok':>11} {'mixture':>8} {'w':>5} {'product':>8} {'w':>5}")
    for r in rows:
        ma, mb, e = r["members"][a], r["members"][b], r["ensembles"]
        print(f"{r['text']:5} {r['bytes']:7,} {r['test_chunks']:7} {ma['byte_level']['test']:13.4f} "
              f"{ma['token_level']['test']:12.4f} {mb['byte_level']['test']:12.4f} {mb['token_level']['test']:11.4f} "
              f"{e['mixture']['test']:8.4f} {e['mixture']['weight_of_' + a]:5.2f} "
              f"{e['product']['test']:8.4f} {e['product']['weight_of_' + a]:5.2f}")
    print("\nensemble minus best member on test (best = lower dev BPB), paired bootstrap 95% CI over test chunks")
    for r in rows:
        for mode, e in r["ensembles"].items():
            for tag in ("minus_best_member_byte_level", "minus_best_member_token_level"):
                d = e[tag]
                ci = d["ci95"] or [math.nan, math.nan]
                print(f"{r['text']:5} {mode:8} - {d['member']:8} ({tag.rsplit('_', 2)[-2]}-level) "
                      f"{d['point']:+.4f}  [{ci[0]:+.4f}, {ci[1]:+.4f}]")
    print("\nwhole text (all chunks):")
    for r in rows:
        ma, mb, e = r["members"][a], r["members"][b], r["ensembles"]
        print(f"{r['text']:5} {a} byte {ma['byte_level']['whole']:.4f} token {ma['token_level']['whole']:.4f} | "
              f"{b} byte {mb['byte_level']['whole']:.4f} token {mb['token_level']['whole']:.4f} | "
              f"mixture {e['mixture']['whole']:.4f} product {e['product']['whole']:.4f}")


if __name__ == "__main__":
    main()
