"""Training speed and memory: toksmith BPE vs Hugging Face `tokenizers` BpeTrainer vs SentencePiece BPE.

Builds a corpus of real text (../shared/data: English speeches and reviews, Genesis in 8 languages, the
UDHR in 388 languages) plus real Python source code (the installed standard library, files in sorted
path order) up to --corpus-mb, into benchmarks/out/. Each trainer runs in its own subprocess; wall time
is the training call measured inside the child (reading, counting, merges, writing tokenizer.json), peak
RSS is the child's ru_maxrss from os.wait4. Ratios are to `tokenizers` in the same run.

Then bytes per token on held-out English (Genesis English WEB + KJV, UDHR English) of toksmith vs
`tokenizers` trained on ../shared/data/english with the same regex, and a SuperBPE table (plain BPE vs
several transitions T at one vocabulary size).

    python benchmarks/train_speed.py                  # speed table + compression check
    python benchmarks/train_speed.py --superbpe       # also the SuperBPE table
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

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT = REPO / "benchmarks" / "out"
SPECIAL = "<|endoftext|>"


def build_corpus(target_mb: float) -> tuple[Path, dict]:
    """Concatenate the real text, then stdlib .py files, until `target_mb`; returns path and description."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"train_corpus_{int(target_mb)}mb.txt"
    text_files = sorted((DATA / "english").glob("*.txt")) + sorted((DATA / "genesis").glob("*.txt")) + sorted(
        (DATA / "udhr").glob("*.txt"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    code_files = [f for f in sorted(stdlib.rglob("*.py")) if "site-packages" not in f.parts]
    code_files += sorted(site.rglob("*.py"))
    parts = {"text_files": len(text_files), "text_bytes": 0, "code_files": 0, "code_bytes": 0}
    target = int(target_mb * 1e6)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for f in text_files:
            data = f.read_bytes()
            if not data.endswith(b"\n"):
                data += b"\n"
            out.write(data)
            parts["text_bytes"] += len(data)
        total = parts["text_bytes"]
        for f in code_files:
            if total >= target:
                break
            try:
                data = f.read_bytes()
                data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if not data.endswith(b"\n"):
                data += b"\n"
            out.write(data)
            parts["code_files"] += 1
            parts["code_bytes"] += len(data)
            total += len(data)
    os.replace(tmp, path)
    parts["total_bytes"] = path.stat().st_size
    parts["code_roots"] = [str(stdlib), str(site)]
    return path, parts


# ---------------------------------------------------------------------------------------------- children

def child_toksmith(corpus: str, vocab: int, out: str, regex: str, extra: dict) -> dict:
    from toksmith.corpus import read_corpus
    from toksmith.train import train_bpe

    t = time.perf_counter()
    c = read_corpus(corpus)
    tb = train_bpe(c, vocab_size=vocab, regex_pattern=None, preset=regex, min_frequency=2,
                   special_tokens=[SPECIAL], total_bytes=Path(corpus).stat().st_size if Path(corpus).is_file()
                   else None, **extra)
    tb.save(out)
    return {"train_seconds": time.perf_counter() - t, "vocab_size": tb.vocab_size,
            "stats": {k: v for k, v in tb.stats.items() if isinstance(v, (int, float, str))}}


def child_hf(corpus: str, vocab: int, out: str, regex: str, extra: dict) -> dict:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    t = time.perf_counter()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(extra["pattern"]), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tr = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=[SPECIAL], show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    p = Path(corpus)
    files = [str(f) for f in sorted(p.glob("*.txt"))] if p.is_dir() else [str(p)]
    tok.train(files, tr)
    Path(out).mkdir(parents=True, exist_ok=True)
    tok.save(str(Path(out) / "tokenizer.json"))
    return {"train_seconds": time.perf_counter() - t, "vocab_size": tok.get_vocab_size()}


def child_spm(corpus: str, vocab: int, out: str, regex: str, extra: dict) -> dict:
    import sentencepiece as spm

    t = time.perf_counter()
    Path(out).mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=str(Path(out) / "spm"), model_type="bpe", vocab_size=vocab,
        byte_fallback=True, character_coverage=0.9995, num_threads=os.cpu_count() or 1,
        max_sentence_length=1 << 14, train_extremely_large_corpus=False, minloglevel=2,
        user_defined_symbols=[SPECIAL],
    )
    return {"train_seconds": time.perf_counter() - t, "vocab_size": vocab}


CHILDREN = {"toksmith": child_toksmith, "tokenizers": child_hf, "sentencepiece": child_spm}


def run_child(name: str, corpus: Path, vocab: int, out: Path, regex: str, extra: dict | None = None,
              timeout: float | None = None) -> dict:
    """Run one trainer in a fresh interpreter; returns its report plus process wall time and peak RSS."""
    if name == "tokenizers":  # the child does not import toksmith, so its RSS is the library's own
        from toksmith.train.pretokenize import PRESETS

        extra = {**(extra or {}), "pattern": PRESETS[regex]}
    cmd = [sys.executable, __file__, "--child", name, "--corpus", str(corpus), "--vocab", str(vocab),
           "--out", str(out), "--regex", regex, "--extra", json.dumps(extra or {})]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    deadline = None if timeout is None else t + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"trainer": name, "timed_out": True, "process_seconds": time.perf_counter() - t}
        time.sleep(0.05)
    wall = time.perf_counter() - t
    out_text = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise RuntimeError(f"{name} child failed with status {status}")
    report = json.loads(out_text.strip().splitlines()[-1])
    report.update(trainer=name, process_seconds=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return report


# ---------------------------------------------------------------------------------------------- metrics

def held_out_english() -> list[str]:
    """English outside ../shared/data/english: Genesis (WEB, KJV) and the UDHR. No blank lines."""
    files = [DATA / "genesis" / "english-web.txt", DATA / "genesis" / "english-kjv.txt", DATA / "udhr" / "eng.txt"]
    return [f.read_text(encoding="utf-8") for f in files]


def held_out_paragraphs() -> list[str]:
    """English prose with blank lines between paragraphs: the licence texts in /usr/share/common-licenses."""
    root = Path("/usr/share/common-licenses")
    out = []
    for f in sorted(root.iterdir()) if root.is_dir() else []:
        if f.is_file() and not f.is_symlink():
            try:
                out.append(f.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                continue
    return out


def bytes_per_token(tokenizer_json: Path, texts: list[str]) -> float:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    n_tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
    return n_bytes / n_tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--corpus")
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--out")
    ap.add_argument("--regex", default="cl100k")
    ap.add_argument("--extra", default="{}")
    ap.add_argument("--corpus-mb", type=float, default=55.0)
    ap.add_argument("--skip-spm", action="store_true")
    ap.add_argument("--spm-timeout", type=float, default=300.0)
    ap.add_argument("--superbpe", action="store_true", help="also the SuperBPE table")
    ap.add_argument("--superbpe-vocab", type=int, default=16384)
    ap.add_argument("--superbpe-t", default="2048,4096,8192,12288")
    args = ap.parse_args()
    if args.child:
        rep = CHILDREN[args.child](args.corpus, args.vocab, args.out, args.regex, json.loads(args.extra))
        print(json.dumps(rep))
        return

    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: the benchmark needs ../shared/data")
    results: dict = {"vocab_size": args.vocab, "regex": args.regex, "cpus": os.cpu_count()}
    corpus, desc = build_corpus(args.corpus_mb)
    results["corpus"] = desc
    print(f"corpus: {desc['total_bytes'] / 1e6:.1f} MB = {desc['text_bytes'] / 1e6:.1f} MB text "
          f"({desc['text_files']} files) + {desc['code_bytes'] / 1e6:.1f} MB Python ({desc['code_files']} files)")
    rows = []
    for name in ("tokenizers", "toksmith", "sentencepiece"):
        if name == "sentencepiece" and args.skip_spm:
            continue
        rep = run_child(name, corpus, args.vocab, OUT / f"speed_{name}", args.regex,
                        timeout=args.spm_timeout if name == "sentencepiece" else None)
        rows.append(rep)
        print(f"  {name}: {json.dumps(rep)}", flush=True)
    base = next(r for r in rows if r["trainer"] == "tokenizers")
    print("\n| trainer | train wall s | process wall s | peak RSS MB | time / tokenizers | RSS / tokenizers |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if r.get("timed_out"):
            print(f"| {r['trainer']} | > {args.spm_timeout:.0f} (stopped) | | | | |")
            continue
        print(f"| {r['trainer']} | {r['train_seconds']:.1f} | {r['process_seconds']:.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['train_seconds'] / base['train_seconds']:.2f}x | {r['peak_rss_mb'] / base['peak_rss_mb']:.2f}x |")
    results["speed"] = rows

    # Compression on held-out English: both trained on ../shared/data/english with the same regex.
    held = held_out_english()
    paras = held_out_paragraphs()
    eng = DATA / "english"
    comp = {}
    for name in ("toksmith", "tokenizers"):
        rep = run_child(name, eng, args.vocab, OUT / f"english_{name}", args.regex)
        tj = OUT / f"english_{name}" / "tokenizer.json"
        comp[name] = {"bytes_per_token": bytes_per_token(tj, held),
                      "bytes_per_token_paragraphs": bytes_per_token(tj, paras) if paras else None,
                      "train_seconds": rep["train_seconds"], "peak_rss_mb": rep["peak_rss_mb"]}
    print("\n| trained on shared/data/english | bytes/token, held-out English (Genesis, UDHR) | bytes/token, "
          "licence texts (paragraphs) | train wall s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for name, c in comp.items():
        par = f"{c['bytes_per_token_paragraphs']:.4f}" if c["bytes_per_token_paragraphs"] else "n/a"
        print(f"| {name} | {c['bytes_per_token']:.4f} | {par} | {c['train_seconds']:.1f} | {c['peak_rss_mb']:.0f} |")
    results["english_compression"] = comp

    if args.superbpe:
        rows_s = []
        ts = [None] + [int(x) for x in args.superbpe_t.split(",") if x]
        for t in ts:
            extra = {} if t is None else {"superbpe_transition": t}
            out = OUT / f"superbpe_{t or 'bpe'}"
            rep = run_child("toksmith", eng, args.superbpe_vocab, out, args.regex, extra)
            bpt = bytes_per_token(out / "tokenizer.json", held)
            rows_s.append({"transition": t, "bytes_per_token": bpt, "train_seconds": rep["train_seconds"],
                           "peak_rss_mb": rep["peak_rss_mb"], "stats": rep.get("stats")})
        plain = rows_s[0]["bytes_per_token"]
        print(f"\n| SuperBPE, vocab {args.superbpe_vocab}, trained on shared/data/english | bytes per token "
              "(held-out English) | tokens vs BPE | train wall s | peak RSS MB |")
        print("|---|---|---|---|---|")
        for r in rows_s:
            label = "plain BPE" if r["transition"] is None else f"T = {r['transition']}"
            print(f"| {label} | {r['bytes_per_token']:.3f} | {plain / r['bytes_per_token'] - 1:+.1%} | "
                  f"{r['train_seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
        results["superbpe"] = rows_s
    (OUT / "train_speed.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {OUT / 'train_speed.json'}")


if __name__ == "__main__":
    main()
