"""Overhead of the whole metric suite over raw `tokenizers` encode_batch (same tokenizer and corpus).

    python benchmarks/eval_overhead.py [--tokenizer smollm2] [--corpus FILE ...] [--parallel DIR]
        [--repeats 3]

For each repeat: time the raw `tokenizers.Tokenizer.encode_batch` of every document (the peer), then
time `toksmith.evaluate.evaluate` with every metric on the same documents, with all per-process caches
cleared first (Word_Break tables, vocabulary arrays, script shares, MorphScore/SIGMORPHON samples), so
every suite run is cold. Reports the best of each and the ratio suite / raw (goal: <= 1.15), and the
process CPU seconds of each (all threads), which a machine shared with other jobs distorts less.
Writes benchmarks/out/eval_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from toksmith import load_tokenizer
from toksmith.corpus import read_corpus, read_parallel
from toksmith.evaluate import evaluate
from toksmith.io import atomic_write_text

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def clear_caches() -> None:
    from toksmith.evaluate import consistency, encoded, morphology, vocabulary, words

    words.reset_tables()
    encoded._VOCAB_CACHE.clear()
    vocabulary._SCRIPTS_CACHE.clear()
    vocabulary.script_of_char.cache_clear()
    consistency._TOKEN_SETS.clear()
    morphology.load_morphscore.cache_clear()
    morphology.load_sigmorphon.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", default="smollm2")
    ap.add_argument("--corpus", nargs="*", default=None)
    ap.add_argument("--parallel", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    raw = tok.backend  # the tokenizers.Tokenizer behind the adapter
    if args.parallel:
        par = read_parallel(args.parallel)
        docs_by_lang = {lang: list(c) for lang, c in par.items()}
        texts = [d.text for lang in sorted(docs_by_lang) for d in docs_by_lang[lang] if d.text]
        kw = {"parallel": docs_by_lang}
        label = args.parallel
    else:
        paths = args.corpus or [
            str(DATA / "english" / "state_union.txt"),
            str(DATA / "english" / "inaugural.txt"),
        ]
        docs = list(read_corpus(paths))
        texts = [d.text for d in docs if d.text]
        kw = {"corpus": docs}
        label = " ".join(Path(p).name for p in paths)
    nbytes = sum(len(t.encode()) for t in texts)
    raw.encode_batch(texts[:64])
    raw_times, suite_times, timings, raw_cpu, suite_cpu = [], [], [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        raw.encode_batch(texts)
        raw_times.append(time.perf_counter() - t0)
        raw_cpu.append(time.process_time() - c0)
        clear_caches()
        t0, c0 = time.perf_counter(), time.process_time()
        res = evaluate([tok], **kw)
        suite_times.append(time.perf_counter() - t0)
        suite_cpu.append(time.process_time() - c0)
        timings.append(res.timing)
    best_raw, best_suite = min(raw_times), min(suite_times)
    ratio = best_suite / best_raw
    out = {
        "tokenizer": args.tokenizer,
        "corpus": label,
        "documents": len(texts),
        "bytes": nbytes,
        "repeats": args.repeats,
        "raw_encode_batch_s": raw_times,
        "suite_s": suite_times,
        "raw_cpu_s": raw_cpu,  # process CPU time (all threads)
        "suite_cpu_s": suite_cpu,
        "cpu_ratio": min(suite_cpu) / min(raw_cpu),
        "load_average": os.getloadavg(),
        "suite_breakdown": timings,
        "metrics": len(res.metrics),
        "ratio": ratio,
        "raw_mb_s": nbytes / best_raw / 1e6,
        "goal_ratio": 1.15,
        "cpu_count": os.cpu_count(),
    }
    print(f"corpus: {label}  ({len(texts):,} documents, {nbytes / 1e6:.2f} MB), tokenizer {args.tokenizer}")
    print(f"{'':28}{'best s':>10}{'MB/s':>10}")
    print(f"{'raw tokenizers encode_batch':28}{best_raw:10.3f}{nbytes / best_raw / 1e6:10.2f}")
    print(f"{'toksmith eval (all metrics)':28}{best_suite:10.3f}{nbytes / best_suite / 1e6:10.2f}")
    b = timings[suite_times.index(best_suite)]
    print(
        f"  breakdown: encode {b['encode_s']:.3f}s, metrics {b['metrics_s']:.3f}s, "
        f"bootstrap {b['bootstrap_s']:.3f}s"
    )
    print(f"ratio suite/raw: {ratio:.3f}  (overhead {100 * (ratio - 1):.1f}%, goal <= 15%)")
    print(
        f"CPU seconds (all threads), best: raw {min(raw_cpu):.3f}, suite {min(suite_cpu):.3f}, "
        f"ratio {out['cpu_ratio']:.3f}; load average {os.getloadavg()[0]:.2f}"
    )
    (HERE / "out").mkdir(exist_ok=True)
    name = "eval_overhead" + ("_parallel" if args.parallel else "") + ".json"
    atomic_write_text(HERE / "out" / name, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
