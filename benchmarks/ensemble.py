"""Ensembles across tokenizers: BPB of SmolLM2, Gemma 3, and their mixture and product, byte level.

Texts: held-out English (the last --bytes bytes of ../shared/data/english/inaugural.txt) and the first
--bytes bytes of Article 1 onwards in two UDHR languages (deu, fra). Each member's exact next-byte
distributions (ByteLM) are computed once per text; the ensembles combine them byte by byte
(mixture: weighted sum; product: weighted geometric mean, renormalised over the 257 outcomes), for
the weights in --weights (weight of the first model). BPB counts the text's bytes (end-of-text left out).
Writes benchmarks/out/ensemble.json.

    PYTHONPATH=src python benchmarks/ensemble.py --bytes 100
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"


def _texts(n: int) -> dict[str, bytes]:
    def cut(data: bytes) -> bytes:
        return data[:n].decode("utf-8", "ignore").encode("utf-8")

    eng = (DATA / "english" / "inaugural.txt").read_bytes()[-4 * n:].decode("utf-8", "ignore")
    eng = eng[eng.index(" ") + 1:].encode("utf-8")[-n:]
    out = {"eng (inaugural, held out)": eng.decode("utf-8", "ignore").encode("utf-8")}
    for lang in ("deu_1996", "fra"):
        path = DATA / "udhr" / f"{lang}.txt"
        if not path.exists():
            path = DATA / "udhr" / f"{lang.split('_')[0]}.txt"
        t = path.read_text(encoding="utf-8")
        out[f"{path.stem} (UDHR)"] = cut(" ".join(t.split()).encode("utf-8"))
    return out


def main() -> None:
    from toksmith.bridge import ByteEnsemble, ByteLM
    from toksmith.bridge.bytelm import ByteDistribution
    from toksmith.io import atomic_write_text
    from toksmith.lm import load_lm, score_text

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs=2, default=["smollm2", "gemma3"])
    ap.add_argument("--bytes", type=int, default=100)
    ap.add_argument("--weights", type=float, nargs="+", default=[0.5, 0.3])
    ap.add_argument("--tail-mass", type=float, default=1e-4)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    texts = _texts(args.bytes)
    dists: dict[str, dict[str, np.ndarray]] = {}
    token_bpb: dict[str, dict[str, float]] = {}
    for name in args.models:
        lm = load_lm(name, device=args.device)
        blm = ByteLM(lm, tail_mass=args.tail_mass)
        for label, data in texts.items():
            st = blm.start()
            rows = []
            for b in data:
                rows.append(st.distribution().logprobs)
                st.advance(b)
            dists.setdefault(name, {})[label] = np.stack(rows)
            bits, _ = score_text(lm, data.decode("utf-8"))
            token_bpb.setdefault(name, {})[label] = bits / len(data)
            print(f"{name:8} {label:28} done", flush=True)
    results = []

    def bpb(lp: np.ndarray, data: bytes) -> float:
        return -float(sum(lp[i, b] for i, b in enumerate(data))) / math.log(2) / len(data)

    a, b = args.models
    for label, data in texts.items():
        row = {"text": label, "bytes": len(data)}
        for name in args.models:
            row[f"{name} byte-level"] = bpb(dists[name][label], data)
            row[f"{name} token-level"] = token_bpb[name][label]
        for w in args.weights:
            for mode in ("mixture", "product"):
                ens = ByteEnsemble([None, None], weights=[w, 1 - w], mode=mode)  # type: ignore[list-item]
                comb = np.stack([ens.combine([ByteDistribution(dists[a][label][i], dists[a][label][i], 0.0, 1.0),
                                              ByteDistribution(dists[b][label][i], dists[b][label][i], 0.0, 1.0)])
                                 for i in range(len(data))])
                row[f"{mode} w={w:g}"] = bpb(comb, data)
        results.append(row)
    out = {"models": args.models, "tail_mass": args.tail_mass, "weights_of_first": args.weights,
           "results": results}
    (HERE / "out").mkdir(exist_ok=True)
    atomic_write_text(HERE / "out" / "ensemble.json", json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    cols = [k for k in results[0] if k not in ("text", "bytes")]
    print("\nbits per byte")
    print(f"{'text':28} " + " ".join(f"{c:>18}" for c in cols))
    for r in results:
        print(f"{r['text']:28} " + " ".join(f"{r[c]:18.4f}" for c in cols))


if __name__ == "__main__":
    main()
