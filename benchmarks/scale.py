"""Evaluation at scale: the same corpus on the local engine and on Ray with 1, 2, ... workers.

    python benchmarks/scale.py [--mb 100,1024] [--workers 1,2] [--tokenizer smollm2] [--metrics compression,fertility]

Each corpus is built under benchmarks/out/scale_corpus-<MB>mb/ from the real text of ../shared/data
(english, genesis, udhr) and the Python standard library's source, concatenated in sorted path order
and repeated until it reaches MB megabytes (the repetition is reported). Every size runs locally; the
largest also on Ray with each `--workers` count, so peak memory can be compared across corpus sizes.
Each run is a fresh child process
(`evaluate` with `engine="local"`, or `ray.init(num_cpus=N)` then `engine="ray"`): wall time, throughput
in MB/s, the driver's peak RSS (`ru_maxrss` from `os.wait4`) and each Ray worker's own peak RSS
(reported by the worker processes themselves after the run). Results must be equal to the local run,
timings aside. Writes benchmarks/out/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
OUT = HERE / "out"

CHILD = r"""
import json, resource, sys
from pathlib import Path
args = json.loads(sys.argv[1])
from toksmith.corpus import read_corpus
from toksmith.evaluate import evaluate
import time
workers = args["workers"]
if workers:
    import ray
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
t0 = time.perf_counter()
res = evaluate([args["tokenizer"]], read_corpus(args["corpus"]), metrics=args["metrics"],
               engine="ray" if workers else "local", data_dir=args["out"])
wall = time.perf_counter() - t0
d = res.to_dict()
d.pop("timing")
for r in d["results"].values():
    r.pop("encode_throughput", None)
Path(args["result"]).write_text(json.dumps(d, sort_keys=True))
worker_rss = []
if workers:
    @ray.remote
    def rss():
        import os, resource
        return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_rss = sorted(set(ray.get([rss.remote() for _ in range(4 * workers)])))
main = d["corpus"]["main"]
print(json.dumps({"wall_s": wall, "bytes": main["bytes"], "documents": main["documents"],
                  "units": main["bootstrap_units"], "worker_rss_mb": worker_rss}))
"""


def build_corpus(mb: int) -> tuple[Path, dict]:
    """benchmarks/out/scale_corpus-<mb>mb/part-*.txt of at least `mb` MB; returns (dir, description)."""
    d = OUT / f"scale_corpus-{mb}mb"
    want = mb * 1_000_000
    src = sorted(p for sub in ("english", "genesis", "udhr") for p in (DATA / sub).glob("*.txt"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    src += sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)[:3000]
    base = sum(p.stat().st_size for p in src)
    marker = OUT / f"scale_corpus-{mb}mb.json"  # outside the corpus folder, which is read whole
    if marker.is_file():
        return d, json.loads(marker.read_text())
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("part-*.txt"):
        old.unlink()
    written, part, repeats = 0, 0, 0
    out = None
    while written < want:
        repeats += 1
        for p in src:
            if out is None or out.tell() > 64_000_000:
                if out is not None:
                    out.close()
                out = (d / f"part-{part:04d}.txt").open("wb")
                part += 1
            data = p.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            out.write(data if data.endswith(b"\n") else data + b"\n")
            written += len(data)
            if written >= want:
                break
    if out is not None:
        out.close()
    info = {"bytes": written, "files": part, "distinct_source_bytes": base, "repeats": repeats,
            "sources": f"{len(src)} files: ../shared/data english+genesis+udhr and the stdlib's .py"}
    marker.write_text(json.dumps(info))  # written last: a corpus without it is rebuilt
    return d, info


def run(args: argparse.Namespace, corpus: Path, workers: int) -> dict:
    result = OUT / f"scale-result-{corpus.name}-{workers}.json"
    payload = {"tokenizer": args.tokenizer, "corpus": str(corpus), "metrics": args.metrics.split(","),
               "workers": workers, "result": str(result), "out": str(OUT)}
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(payload)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read(), p.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run with {workers} workers failed:\n{err[-3000:]}")
    row = json.loads(out.strip().splitlines()[-1])
    row.update(workers=workers, process_s=time.perf_counter() - t0, driver_peak_rss_mb=usage.ru_maxrss / 1024,
               mb_per_s=row["bytes"] / 1e6 / row["wall_s"], result=result.read_text())
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", default="100,1024", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--tokenizer", default="smollm2")
    ap.add_argument("--metrics", default="compression,fertility")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.mb.split(","))
    rows, infos = [], {}
    for mb in sizes:
        corpus, info = build_corpus(mb)
        infos[mb] = info
        print(f"corpus {mb} MB: {info['bytes'] / 1e6:.0f} MB in {info['files']} files ({info['sources']}; "
              f"{info['distinct_source_bytes'] / 1e6:.1f} MB distinct, repeated {info['repeats']}x)", flush=True)
        rows.append({"mb": mb, **run(args, corpus, 0)})
        if mb == sizes[-1]:
            for w in (int(x) for x in args.workers.split(",")):
                rows.append({"mb": mb, **run(args, corpus, w)})
    local = {r["mb"]: r for r in rows if not r["workers"]}
    print("| corpus MB | documents | engine | workers | wall s | MB/s | vs local | driver peak RSS MB | "
          "worker peak RSS MB | equal to local |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ref = local[r["mb"]]
        wr = ", ".join(f"{m:.0f}" for _, m in r["worker_rss_mb"]) or "-"
        print(f"| {r['bytes'] / 1e6:.0f} | {r['documents']:,} | {'ray' if r['workers'] else 'local'} | "
              f"{r['workers'] or '-'} | {r['wall_s']:.1f} | {r['mb_per_s']:.2f} | {ref['wall_s'] / r['wall_s']:.2f}x | "
              f"{r['driver_peak_rss_mb']:.0f} | {wr} | {r['result'] == ref['result']} |", flush=True)
    for r in rows:
        r["equal_to_local"] = r["result"] == local[r["mb"]]["result"]
    for r in rows:
        r.pop("result")
    OUT.mkdir(exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps({"corpora": infos, "args": vars(args), "runs": rows}, indent=1) + "\n")
    print(f"wrote {OUT / 'scale.json'}")


if __name__ == "__main__":
    main()
