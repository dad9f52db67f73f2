"""Tokenizer transplant: toksmith vs mergekit's tokensurgeon, same inputs, same held-out text, same run.

Pairs:
  (a) base Gemma 3 (270M) given SmolLM2's tokenizer, donor SmolLM2;
  (b) base SmolLM2 given a tokenizer toksmith trains here (byte-level BPE on ../shared/data/english minus
      the held-out part), no donor: mergekit cannot run (it needs a donor model);
  (c) base SmolLM2 given Gemma 3's 262k tokenizer, donor Gemma 3 (toksmith rows only; omp as generalised
      OMP, 8 anchors per pass, since plain OMP over ~215k new tokens takes k full correlation passes).
Held-out text: the last 12,000 bytes of ../shared/data/english/inaugural.txt (the BPE of pair (b) is
trained on state_union.txt + movie_reviews.txt only). Bits per byte with toksmith's one scorer
(`toksmith.lm.score_bits_per_byte`, window 1024, stride 512) for every row.

mergekit 0.1.5 runs in its own venv (benchmarks/out/mergekit-venv, created here with pip) as a subprocess;
it needs both models as Hugging Face directories, so the packaged GGUF models are converted first
(dequantised float32 weights, the same ones toksmith loads). Both tools run as subprocesses on the same
HF directories under /usr/bin/time (wall seconds and peak RSS include loading and saving the models).
Each row runs once (mergekit omp k=64 alone takes minutes on 2 cores); run the script under
`flock /tmp/toksmith-cpu.lock`.

    flock /tmp/toksmith-cpu.lock .venv/bin/python benchmarks/transplant.py [--pairs a,b,c] [--skip-mergekit] [--only L]

`copy+fvt` is the default `copy` method (new token t's row mean + (1 - 0.15 t / V) (FVT - mean), the default
output decay); `copy+fvt (decay 0)` is the same with plain FVT rows, `fvt` plain FVT without the copy step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out" / "transplant"
VENV = REPO / "benchmarks" / "out" / "mergekit-venv"
DATA = REPO.parent / "shared" / "data" / "english"
TOKSMITH = REPO / ".venv" / "bin" / "toksmith"
HELD_OUT_BYTES = 12_000
GOMP_STEP = 8  # the extra toksmith row: omp at the largest k adding 8 anchors per correlation pass
ONLY: list[str] = []  # --only: run just the rows whose label contains one of these (a supplementary run)
HUB_TOKENIZER_CLASS = {"gemma3": "GemmaTokenizerFast", "smollm2": "GPT2TokenizerFast"}


def ensure_mergekit() -> Path:
    exe = VENV / "bin" / "mergekit-tokensurgeon"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "torch==2.13.0", "mergekit==0.1.5"], check=True)
    return exe


def held_out() -> Path:
    raw = (DATA / "inaugural.txt").read_bytes()[-HELD_OUT_BYTES:]
    text = raw.decode("utf-8", "ignore")
    p = OUT / "heldout_en.txt"
    p.write_text(text, encoding="utf-8")
    return p


def to_hf_dir(spec: str, dest: Path) -> Path:
    """Write a packaged GGUF model as a transformers directory (from_config without quantization_config)."""
    if (dest / "config.json").exists():
        return dest
    import torch
    from transformers import AutoModelForCausalLM

    from toksmith.lm import load_lm
    from toksmith.transplant.save import tokenizer_files

    lm = load_lm(spec)
    cfg = lm.model.config
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    fresh = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    fresh.load_state_dict(lm.model.state_dict())
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fresh.save_pretrained(str(tmp), safe_serialization=True)
    for name, text in tokenizer_files(lm.tokenizer).items():
        if name == "tokenizer_config.json":
            # The class the model's own Hub repo declares, so mergekit recognises the family's word-start
            # marker (it assumes 'Ġ' for a plain PreTrainedTokenizerFast, which would be unfair to it).
            cfg = json.loads(text)
            cfg["tokenizer_class"] = HUB_TOKENIZER_CLASS[spec]
            text = json.dumps(cfg, ensure_ascii=False, indent=2) + "\n"
        (tmp / name).write_text(text, encoding="utf-8")
    os.replace(tmp, dest)
    return dest


def timed(cmd: list[str], label: str) -> dict:
    """Run cmd under /usr/bin/time; wall seconds and peak RSS (MB)."""
    tfile = OUT / f"time-{label}.txt"
    log = OUT / f"log-{label}.txt"
    t0 = time.perf_counter()
    with open(log, "w") as f:
        rc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(tfile)] + cmd, stdout=f,
                            stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t0
    peak = None
    if tfile.exists():
        parts = tfile.read_text().split()
        if len(parts) >= 2 and parts[-1].isdigit():
            peak = int(parts[-1]) / 1024
    return {"rc": rc, "wall_s": wall, "peak_rss_mb": peak, "log": str(log)}


def score(path: str, text: Path) -> float:
    from toksmith.lm import load_lm, score_bits_per_byte

    lm = load_lm(path)
    bpb = score_bits_per_byte([lm], [text])[0].bits_per_byte
    del lm
    return bpb


def pair_a(text: Path, skip_mergekit: bool, ks: list[int]) -> list[dict]:
    hf = OUT / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    base = to_hf_dir("gemma3", hf / "gemma3")
    donor = to_hf_dir("smollm2", hf / "smollm2")
    rows: list[dict] = [{"pair": "a", "tool": "original", "method": "gemma3 on its own tokenizer", "dir": str(base)}]
    if not skip_mergekit:
        exe = ensure_mergekit()
        for method, k in [("omp", k) for k in ks] + [("subword", None), ("common_interpolation", None)]:
            label = f"a-mergekit-{method}" + (f"-k{k}" if k else "")
            if ONLY and not any(o in label for o in ONLY):
                continue
            out = OUT / label
            shutil.rmtree(out, ignore_errors=True)
            cmd = [str(exe), str(base), str(donor), str(out), "-a", method, "--quiet"] + (["-k", str(k)] if k else [])
            rows.append({"pair": "a", "tool": "mergekit 0.1.5", "method": method, "k": k, "dir": str(out),
                         **timed(cmd, label)})
    runs = [("copy", []), ("copy", ["--output-decay", "0"])]
    runs += [("omp", ["--k", str(k), "--per-step", "1"]) for k in ks]
    runs += [("omp", ["--k", str(max(ks)), "--per-step", str(GOMP_STEP)]), ("hybrid", []), ("fvt", []), ("random", [])]
    rows += _toksmith_rows("a", base, donor, donor, runs)
    return rows


def pair_b(text: Path) -> list[dict]:
    from toksmith.corpus import read_corpus
    from toksmith.train import train_bpe

    hf = OUT / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    base = to_hf_dir("smollm2", hf / "smollm2")
    tok_dir = OUT / "bpe32k-english"
    if not (tok_dir / "tokenizer.json").exists():
        tb = train_bpe(read_corpus([DATA / "state_union.txt", DATA / "movie_reviews.txt"]), vocab_size=32768)
        tb.save(tok_dir)
    rows: list[dict] = [{"pair": "b", "tool": "original", "method": "smollm2 on its own tokenizer", "dir": str(base)}]
    rows += _toksmith_rows("b", base, tok_dir, None, [("copy", []), ("copy", ["--output-decay", "0"]), ("fvt", []),
                                                     ("hybrid", []), ("random", []), ("mean", [])])
    return rows


def _toksmith_rows(pair: str, base: Path, tok: Path | str, donor: Path | None,
                   runs: list[tuple[str, list[str]]]) -> list[dict]:
    rows = []
    for method, extra in runs:
        tag = "-".join(x.lstrip("-") for x in extra)
        label = f"{pair}-toksmith-{method}" + (f"-{tag}" if tag else "")
        if ONLY and not any(o in label for o in ONLY):
            continue
        out = OUT / label
        cmd = [str(TOKSMITH), "transplant", str(base), "--tokenizer", str(tok), "--method", method, "--out",
               str(out), "--force", "--quiet"] + extra + (["--donor", str(donor)] if method == "omp" else [])
        name = "copy+fvt" if method == "copy" else method
        if "--output-decay" in extra:
            name += f" (decay {extra[extra.index('--output-decay') + 1]})"
        if "--per-step" in extra and extra[extra.index("--per-step") + 1] != "1":
            name += f" ({extra[extra.index('--per-step') + 1]} anchors/pass)"
        k = int(extra[extra.index("--k") + 1]) if "--k" in extra else None
        rows.append({"pair": pair, "tool": "toksmith", "method": name, "k": k, "dir": str(out), **timed(cmd, label)})
    return rows


def pair_c(text: Path) -> list[dict]:
    hf = OUT / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    base = to_hf_dir("smollm2", hf / "smollm2")
    donor = to_hf_dir("gemma3", hf / "gemma3")
    rows: list[dict] = [{"pair": "c", "tool": "original", "method": "smollm2 on its own tokenizer", "dir": str(base)}]
    return rows + _toksmith_rows("c", base, donor, donor, [
        ("copy", []), ("copy", ["--output-decay", "0"]), ("fvt", []),
        ("omp", ["--k", "8", "--per-step", str(GOMP_STEP)]), ("random", [])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="a,b,c")
    ap.add_argument("--ks", default="8,64", help="k values for omp (both tools)")
    ap.add_argument("--skip-mergekit", action="store_true")
    ap.add_argument("--only", default="", help="comma list: run only rows whose label contains one (plus originals)")
    args = ap.parse_args()
    ONLY.extend(x for x in args.only.split(",") if x)
    OUT.mkdir(parents=True, exist_ok=True)
    text = held_out()
    ks = [int(x) for x in args.ks.split(",")]
    rows: list[dict] = []
    if "a" in args.pairs:
        rows += pair_a(text, args.skip_mergekit, ks)
    if "b" in args.pairs:
        rows += pair_b(text)
    if "c" in args.pairs:
        rows += pair_c(text)
    for r in rows:
        if r.get("rc", 0) == 0:
            r["bits_per_byte"] = score(r["dir"], text)
        else:
            r["bits_per_byte"] = None
        print(json.dumps({k: r.get(k) for k in ("pair", "tool", "method", "k", "bits_per_byte", "wall_s",
                                                "peak_rss_mb", "rc")}), flush=True)
    for pair in sorted({r["pair"] for r in rows}):
        print(f"\npair ({pair}), held-out {text.stat().st_size:,} bytes, window 1024 stride 512")
        print("| tool | method | k | BPB | wall s | peak RSS MB |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in (r for r in rows if r["pair"] == pair):
            bpb = f"{r['bits_per_byte']:.4f}" if r["bits_per_byte"] is not None else f"failed (rc {r.get('rc')})"
            wall = f"{r['wall_s']:.1f}" if r.get("wall_s") else ""
            peak = f"{r['peak_rss_mb']:,.0f}" if r.get("peak_rss_mb") else ""
            print(f"| {r['tool']} | {r['method']} | {r.get('k') or ''} | {bpb} | {wall} | {peak} |")
        by = {(r["tool"], r["method"], r.get("k")): r for r in rows if r["pair"] == pair}
        for k in ks:
            m, t = by.get(("mergekit 0.1.5", "omp", k)), by.get(("toksmith", "omp", k))
            if m and t and m.get("wall_s") and t.get("wall_s"):
                print(f"omp k={k}: mergekit / toksmith wall time = {m['wall_s'] / t['wall_s']:.2f}x")
    name = "transplant" + ("-only" if ONLY else "") + ".json"
    (REPO / "benchmarks" / "out" / name).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
