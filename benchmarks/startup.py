"""Start-up: how long a packaged tokenizer takes to load, cold and warm, against the uncached path.

    python benchmarks/startup.py [--repeats 3] [--tokenizers smollm2,gemma3,cl100k]

Every measurement is a fresh Python process (nothing cached in memory), so it includes what a user
waits for. Three states per tokenizer, each in its own TOKSMITH_CACHE directory:
- `off`: TOKSMITH_CACHE=off, every derived value recomputed (the peer: the code path before the cache);
- `cold`: an empty cache directory (derive, then store; the first run after install);
- `warm`: the same directory again (served from the cache).
Inside the child, `load_tokenizer` is timed with perf_counter (import of toksmith excluded); the child's
wall time and peak RSS (`ru_maxrss` from `os.wait4`) are measured around the whole process. Also the
end-to-end wall time of `toksmith inspect gemma3 "hi"` in each state. Medians of `--repeats` (cold
runs use a fresh directory each repeat). Writes benchmarks/out/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = (
    "import time, json, sys\n"
    "t0 = time.perf_counter()\n"
    "from toksmith.tokenizers import load_tokenizer\n"
    "t1 = time.perf_counter()\n"
    "tok = load_tokenizer(sys.argv[1])\n"
    "t2 = time.perf_counter()\n"
    "tok.encode('hi')\n"
    "print(json.dumps({'import_s': t1 - t0, 'load_s': t2 - t1, 'vocab': tok.vocab.size}))\n"
)


def run(cmd: list[str], cache: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a child process with TOKSMITH_CACHE=cache."""
    env = dict(os.environ, TOKSMITH_CACHE=cache, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out, err = p.stdout.read(), p.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out


def measure(label: str, cmd: list[str], repeats: int, parse: bool) -> dict[str, dict[str, float]]:
    """Medians per state (off, cold, warm) of one command."""
    out: dict[str, dict[str, float]] = {}
    for state in ("off", "cold", "warm"):
        rows = []
        warm_dir = tempfile.mkdtemp(prefix="toksmith-cache-") if state == "warm" else None
        if warm_dir is not None:
            run(cmd, warm_dir)  # fill it
        for _ in range(repeats):
            cache = "off" if state == "off" else (warm_dir or tempfile.mkdtemp(prefix="toksmith-cache-"))
            wall, rss, stdout = run(cmd, cache)
            row = {"process_s": wall, "peak_rss_mb": rss}
            if parse:
                row.update(json.loads(stdout.strip().splitlines()[-1]))
            rows.append(row)
            if state == "cold":
                shutil.rmtree(cache, ignore_errors=True)
        if warm_dir is not None:
            shutil.rmtree(warm_dir, ignore_errors=True)
        out[state] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"  {label:>8} {state:>4}: " + ", ".join(f"{k} {v:.3f}" for k, v in out[state].items()), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tokenizers", default="smollm2,gemma3,cl100k")
    args = ap.parse_args()
    results: dict[str, dict] = {}
    for name in args.tokenizers.split(","):
        results[name] = measure(name, [sys.executable, "-c", CHILD, name], args.repeats, parse=True)
    toksmith = str(Path(sys.executable).with_name("toksmith"))
    results["inspect gemma3"] = measure("inspect", [toksmith, "inspect", "gemma3", "hi"], args.repeats, parse=False)

    print()
    print("| what | state | load_tokenizer s | process wall s | peak RSS MB | load vs off |")
    print("|---|---|---:|---:|---:|---:|")
    for name, states in results.items():
        off = states["off"].get("load_s", states["off"]["process_s"])
        for state, r in states.items():
            key = r.get("load_s", r["process_s"])
            load = f"{r['load_s']:.2f}" if "load_s" in r else "-"
            print(f"| {name} | {state} | {load} | {r['process_s']:.2f} | {r['peak_rss_mb']:.0f} | {key / off:.2f}x |")
    out = HERE / "out" / "startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"repeats": args.repeats, "results": results}, indent=1) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
