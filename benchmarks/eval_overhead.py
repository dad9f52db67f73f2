"""Overhead of the whole metric suite over raw `tokenizers` encode_batch (same tokenizer and corpus).

    python benchmarks/eval_overhead.py [--tokenizer smollm2] [--corpus FILE ...] [--parallel DIR]
        [--repeats 3] [--disk-cache warm|cold]

By default two corpora in one run: the benchmark corpus (state_union + inaugural, 2.9 MB; goal <= 1.3)
and every text file of ../shared/data/{english,genesis,udhr} (18 MB; goal <= 1.10). For each repeat:
time the raw `tokenizers.Tokenizer.encode_batch` of every document (the peer), then time
`toksmith.evaluate.evaluate` with every metric on the same documents, with all per-process caches
cleared first (Word_Break tables, vocabulary arrays, script shares, MorphScore/SIGMORPHON samples), so
every suite run is cold. Reports the best of each and the ratio suite / raw, and the process CPU
seconds of each (all threads), which a machine shared with other jobs distorts less.

The on-disk cache (`toksmith.cache`) keeps the metrics' fixed probe work between runs: the probe
encodings (keyed by the tokenizer's source file) and the MorphScore/SIGMORPHON samples. `--disk-cache
warm` (default) measures a run after the first one on a machine; `cold` gives every suite run an empty
cache directory, as the very first run of a tokenizer gets.
Writes benchmarks/out/eval_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from toksmith import load_tokenizer
from toksmith.corpus import read_corpus, read_parallel
from toksmith.evaluate import evaluate
from toksmith.io import atomic_write_text

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
#: wall-time ratio goals for the default corpora: the 2.9 MB benchmark corpus, then the 18 MB one
GOALS = (1.3, 1.10)


def clear_caches() -> None:
    from toksmith.evaluate import consistency, encoded, morphology, vocabulary, words

    words.reset_tables()
    encoded._VOCAB_CACHE.clear()
    vocabulary._SCRIPTS_CACHE.clear()
    vocabulary.script_of_char.cache_clear()
    consistency._TOKEN_SETS.clear()
    morphology.load_morphscore.cache_clear()
    morphology.load_sigmorphon.cache_clear()


def corpora(args: argparse.Namespace) -> list[tuple[str, dict, list[str]]]:
    """(label, evaluate() keyword arguments, texts) of each corpus to measure."""
    if args.parallel:
        par = read_parallel(args.parallel)
        docs_by_lang = {lang: list(c) for lang, c in par.items()}
        texts = [d.text for lang in sorted(docs_by_lang) for d in docs_by_lang[lang] if d.text]
        return [(args.parallel, {"parallel": docs_by_lang}, texts)]
    if args.corpus:
        sets = [[Path(p) for p in args.corpus]]
    else:
        # the benchmark corpus (2.9 MB), then every text file of ../shared/data/{english,genesis,udhr} (18 MB)
        sets = [
            [DATA / "english" / "state_union.txt", DATA / "english" / "inaugural.txt"],
            sorted(p for d in ("english", "genesis", "udhr") for p in (DATA / d).glob("*.txt")),
        ]
    out = []
    for paths in sets:
        docs = list(read_corpus([str(p) for p in paths]))
        label = " ".join(p.name for p in paths) if len(paths) <= 3 else f"{len(paths)} files of english, genesis, udhr"
        out.append((label, {"corpus": docs}, [d.text for d in docs if d.text]))
    return out


def measure(tok, raw, label: str, kw: dict, texts: list[str], repeats: int, cold: bool) -> dict:  # noqa: ANN001
    """Raw encode_batch and the cold suite, `repeats` times each, interleaved; best of each and the ratio."""
    nbytes = sum(len(t.encode()) for t in texts)
    raw.encode_batch(texts[:64])
    raw_times, suite_times, timings, raw_cpu, suite_cpu = [], [], [], [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        raw.encode_batch(texts)
        raw_times.append(time.perf_counter() - t0)
        raw_cpu.append(time.process_time() - c0)
        clear_caches()
        if cold:
            os.environ["TOKSMITH_CACHE"] = tempfile.mkdtemp(prefix="toksmith-cold-cache-")
        t0, c0 = time.perf_counter(), time.process_time()
        res = evaluate([tok], **kw)
        suite_times.append(time.perf_counter() - t0)
        suite_cpu.append(time.process_time() - c0)
        timings.append(res.timing)
    best_raw, best_suite = min(raw_times), min(suite_times)
    return {
        "corpus": label,
        "documents": len(texts),
        "bytes": nbytes,
        "repeats": repeats,
        "raw_encode_batch_s": raw_times,
        "suite_s": suite_times,
        "raw_cpu_s": raw_cpu,  # process CPU time (all threads)
        "suite_cpu_s": suite_cpu,
        "cpu_ratio": min(suite_cpu) / min(raw_cpu),
        "load_average": os.getloadavg(),
        "suite_breakdown": timings,
        "best_breakdown": timings[suite_times.index(best_suite)],
        "metrics": len(res.metrics),
        "ratio": best_suite / best_raw,
        "raw_mb_s": nbytes / best_raw / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", default="smollm2")
    ap.add_argument("--corpus", nargs="*", default=None)
    ap.add_argument("--parallel", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--disk-cache", choices=("warm", "cold"), default="warm",
                    help="warm: the probe work cached by an earlier run; cold: an empty cache every suite run")
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    if args.disk_cache == "warm":  # one suite run fills the cache, as any earlier run on this machine did
        evaluate([tok], corpus=read_corpus([str(DATA / "english" / "inaugural.txt")]))
    raw = tok.backend  # the tokenizers.Tokenizer behind the adapter
    cold = args.disk_cache == "cold"
    rows = [measure(tok, raw, label, kw, texts, args.repeats, cold) for label, kw, texts in corpora(args)]
    print(f"tokenizer {args.tokenizer}; best of {args.repeats}; suite = toksmith eval, all metrics, in-process "
          f"caches cleared, on-disk cache {args.disk_cache}")
    print(f"{'corpus':40}{'MB':>7}{'raw s':>9}{'suite s':>9}{'ratio':>7}{'goal':>6}{'CPU ratio':>11}")
    for r, goal in zip(rows, GOALS if not args.corpus and not args.parallel else [None] * len(rows), strict=False):
        r["goal_ratio"] = goal
        print(
            f"{r['corpus'][:39]:40}{r['bytes'] / 1e6:7.2f}{min(r['raw_encode_batch_s']):9.3f}"
            f"{min(r['suite_s']):9.3f}{r['ratio']:7.3f}{goal if goal else '-':>6}{r['cpu_ratio']:11.3f}"
        )
        b = r["best_breakdown"]
        print(
            f"  breakdown: pass {b['encode_s']:.3f}s, metrics {b['metrics_s']:.3f}s, "
            f"bootstrap {b['bootstrap_s']:.3f}s"
        )
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    out = {"tokenizer": args.tokenizer, "cpu_count": os.cpu_count(), "disk_cache": args.disk_cache, "corpora": rows}
    (HERE / "out").mkdir(exist_ok=True)
    name = "eval_overhead" + ("_parallel" if args.parallel else "") + ("_cold" if cold else "") + ".json"
    atomic_write_text(HERE / "out" / name, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
