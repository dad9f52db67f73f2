"""Spec-Bench: greedy vs prompt lookup vs Token Recycling, suffix drafts and both merged (toksmith.decoding).

    python benchmarks/decoding.py [--model smollm2] [--per-category 1] [--max-new-tokens 64] [--repeats 3]
    python benchmarks/decoding.py --sweep [--sweep-prompts 4]      # choose the CPU tree by measurement

Prompts: ../shared/data/spec_bench/question.jsonl, first turn of each question, in the model's chat
template (with the generation prompt). On CPU a fixed stratified subset: the first `--per-category`
questions (file order) of each of the 13 categories. Every row decodes greedily with batch 1, the same
`max_new_tokens`, the same model object (dtype, sdpa attention) and a plain DynamicCache:
  greedy     transformers `generate(do_sample=False)` (the baseline and the identity oracle)
  pld        transformers prompt lookup decoding (`prompt_lookup_num_tokens`)
  recycle / suffix / hybrid    toksmith.decoding.generate with a cold M (filled from this prompt only)
  recycle-hot / hybrid-hot     M carried from the earlier prompts of the run (and the warm-up prompts);
             each repeat restarts from the same snapshot, so no M ever holds an earlier run of its prompt.
A warm-up decodes two prompts outside the subset first. Each (prompt, row) is timed `--repeats` times in
rotation and the median taken. Per category: tokens/s (total tokens / total median seconds), speedup over
greedy, MAT (new tokens / forward passes), tokens accepted from suffix drafts; identity with greedy is
checked on every prompt and run. Writes benchmarks/out/decoding.json (or decoding_sweep.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
SWEEP_TREES = ["2,1", "2,1,1", "3,2,1", "3,3,2,1,1", "4,3,2,1", "5,4,3,2,1", "8,6,4,2,1"]


def load_questions() -> list[dict]:
    path = DATA / "spec_bench" / "question.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stratified(questions: list[dict], per_category: int, skip: int = 0) -> list[dict]:
    seen: dict[str, int] = defaultdict(int)
    out = []
    for q in questions:
        i = seen[q["category"]]
        seen[q["category"]] += 1
        if skip <= i < skip + per_category:
            out.append(q)
    return out


def chat_ids(hf_tok, text: str) -> list[int]:
    ids = hf_tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                     tokenize=True)
    return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)


def hf_run(lm, ids: list[int], n: int, eos: list[int], pld: int = 0) -> tuple[list[int], float, int]:
    import torch
    from transformers.cache_utils import DynamicCache

    x = torch.tensor([ids])
    kw = {"prompt_lookup_num_tokens": pld} if pld else {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = lm.model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                past_key_values=DynamicCache(), eos_token_id=eos, pad_token_id=eos[0], **kw)
    secs = time.perf_counter() - t0
    new = out[0, len(ids):].tolist()
    return new, secs, 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--per-category", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tree", default=None, help="recycle template (default: toksmith.decoding.DEFAULTS); "
                    "'sweep': the fastest hybrid tree in benchmarks/out/decoding_sweep.json")
    ap.add_argument("--suffix-len", type=int, default=None)
    ap.add_argument("--pld-tokens", type=int, default=10)
    ap.add_argument("--sweep", action="store_true", help="time tree shapes instead (prompts outside the subset)")
    ap.add_argument("--sweep-prompts", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--warmup", type=int, default=2, help="prompts decoded before timing (outside the subset)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer

    from toksmith import load_lm
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix, generate
    from toksmith.io import atomic_write_text

    lm = load_lm(args.model, device=args.device)
    src = Path(lm.source)
    hf_tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    gen_eos = lm.model.generation_config.eos_token_id
    eos = sorted({lm.eos_id, *([gen_eos] if isinstance(gen_eos, int) else list(gen_eos or []))})
    questions = load_questions()
    n = args.max_new_tokens
    device = f"{args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    tree = args.tree or DEFAULTS["tree"]
    if tree == "sweep":
        swept = HERE / "out" / "decoding_sweep.json"
        if swept.is_file():
            rows = json.loads(swept.read_text())["table"]
            tree = max((r for r in rows if r["row"].startswith("hybrid")),
                       key=lambda r: r["speedup"])["row"].split()[1]
            print(f"tree from the sweep: {tree}", flush=True)
        else:
            tree = DEFAULTS["tree"]
            print(f"no sweep result in {swept}; default tree {tree}", flush=True)

    def ours(ids, method, adjacency=None, tree_=None):
        r = generate(lm, ids, max_new_tokens=n, method=method, tree=tree_ or tree, suffix_len=args.suffix_len,
                     adjacency=adjacency, eos_ids=eos)
        return r.ids, r.stats.seconds, r.stats

    warm = stratified(questions, 1, skip=9)[: args.warmup]
    warm_m = {m: AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name) for m in ("recycle", "hybrid")}
    for q in warm:
        ids = chat_ids(hf_tok, q["turns"][0])
        hf_run(lm, ids, n, eos)
        for m in ("recycle", "hybrid"):
            ours(ids, m, warm_m[m])

    if args.sweep:
        sweep(args, lm, hf_tok, questions, eos, ours, hf_run, device, atomic_write_text)
        return

    subset = stratified(questions, args.per_category)
    hot = {m: warm_m[m] for m in ("hybrid",)}
    rows = ["greedy", "pld", "recycle", "suffix", "hybrid", "hybrid-hot"]
    records = []
    for qi, q in enumerate(subset):
        ids = chat_ids(hf_tok, q["turns"][0])
        snap = {m: hot[m].copy() for m in hot}
        times: dict[str, list[float]] = defaultdict(list)
        result: dict[str, dict] = {}
        ref = None
        for _ in range(args.repeats):
            for row in rows:
                if row == "greedy":
                    out, secs, st = hf_run(lm, ids, n, eos)
                    ref = out if ref is None else ref
                elif row == "pld":
                    out, secs, st = hf_run(lm, ids, n, eos, pld=args.pld_tokens)
                elif row.endswith("-hot"):
                    m = row.removesuffix("-hot")
                    work = snap[m].copy()
                    out, secs, st = ours(ids, m, work)
                    hot_after = work
                    result.setdefault(row, {})["_m"] = hot_after
                else:
                    out, secs, st = ours(ids, row)
                times[row].append(secs)
                same = out == ref
                r = result.setdefault(row, {})
                r["identical"] = r.get("identical", True) and same
                r["tokens"] = len(out)
                if st:
                    r.update(mat=st.mat, forwards=st.forwards, accepted_suffix=st.accepted_suffix,
                             accepted_recycle=st.accepted_recycle, min_margin=st.min_margin)
        for m in hot:
            hot[m] = result[f"{m}-hot"].pop("_m")
        rec = {"question_id": q["question_id"], "category": q["category"], "prompt_tokens": len(ids), "rows": {}}
        for row in rows:
            r = result[row]
            r["seconds"] = statistics.median(times[row])
            if row in ("greedy", "pld"):
                r["mat"] = None
            rec["rows"][row] = r
        records.append(rec)
        g = rec["rows"]["greedy"]["seconds"]
        print(f"[{qi + 1}/{len(subset)}] {q['category']:>15} {len(ids):4d} prompt tokens, "
              f"{rec['rows']['greedy']['tokens']} new; speedup " +
              " ".join(f"{row} {g / rec['rows'][row]['seconds']:.2f}" for row in rows[1:]), flush=True)
        report(records, rows, args, device, tree, atomic_write_text, quiet=qi + 1 < len(subset))


def report(records, rows, args, device, tree, atomic_write_text, quiet: bool = False) -> None:
    """Per-category table (printed unless `quiet`) and the JSON, rewritten after every prompt."""
    cats = sorted({r["category"] for r in records}) + ["ALL"]
    table = {}
    for cat in cats:
        recs = [r for r in records if cat in ("ALL", r["category"])]
        g_secs = sum(r["rows"]["greedy"]["seconds"] for r in recs)
        for row in rows:
            toks = sum(r["rows"][row]["tokens"] for r in recs)
            secs = sum(r["rows"][row]["seconds"] for r in recs)
            fw = sum(r["rows"][row].get("forwards") or 0 for r in recs)
            table[(cat, row)] = {
                "tokens_per_s": toks / secs, "speedup": g_secs / secs,
                "mat": toks / fw if fw else None,
                "accepted_suffix": sum(r["rows"][row].get("accepted_suffix") or 0 for r in recs),
                "identical": sum(bool(r["rows"][row]["identical"]) for r in recs), "prompts": len(recs)}
    lines = []
    head = f"{'category':>15} {'row':>12} {'tok/s':>7} {'speedup':>8} {'MAT':>5} {'from suffix':>11} {'identical':>9}"
    lines.append(head)
    for cat in cats:
        for row in rows:
            t = table[(cat, row)]
            mat = f"{t['mat']:.2f}" if t["mat"] else "-"
            lines.append(f"{cat:>15} {row:>12} {t['tokens_per_s']:7.2f} {t['speedup']:7.2f}x {mat:>5} "
                  f"{t['accepted_suffix']:>11} {t['identical']:>4}/{t['prompts']}")
    if not quiet:
        print("\n".join(lines), flush=True)
    out = HERE / "out" / "decoding.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({
        "complete": not quiet, "model": args.model, "device": device, "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "per_category": args.per_category, "tree": tree, "suffix_len": args.suffix_len,
        "pld_tokens": args.pld_tokens,
        "table": [{"category": c, "row": r, **v} for (c, r), v in table.items()], "prompts": records,
    }, indent=1, default=str))
    if not quiet:
        print(f"wrote {out}")


def sweep(args, lm, hf_tok, questions, eos, ours, hf_run, device, atomic_write_text) -> None:
    """Tokens/s of recycle and hybrid per tree shape on prompts outside the benchmark subset."""
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix

    n = args.max_new_tokens
    prompts = [chat_ids(hf_tok, q["turns"][0]) for q in stratified(questions, 1, skip=5)][: args.sweep_prompts]
    res: dict[str, list[float]] = defaultdict(list)
    mats: dict[str, list[float]] = defaultdict(list)
    base = []
    for ids in prompts:
        gs = []
        for _ in range(args.repeats):
            _, secs, _ = hf_run(lm, ids, n, eos)
            gs.append(secs)
        g = statistics.median(gs)
        base.append(g)
        for tr in SWEEP_TREES:
            for m in ("recycle", "hybrid"):
                ts = []
                for _ in range(args.repeats):
                    _, secs, st = ours(ids, m, AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"]), tr)
                    ts.append(secs)
                res[f"{m} {tr}"].append(statistics.median(ts))
                mats[f"{m} {tr}"].append(st.mat)
    print(f"{'tree':>22} {'nodes':>5} {'speedup':>8} {'MAT':>5}")
    table = []
    from toksmith.decoding.api import resolve_template

    for key in res:
        speed = sum(base) / sum(res[key])
        nodes = len(resolve_template(key.split()[1], DEFAULTS["k"]))
        table.append({"row": key, "nodes": nodes, "speedup": speed, "mat": statistics.mean(mats[key])})
        print(f"{key:>22} {nodes:5d} {speed:7.2f}x {statistics.mean(mats[key]):5.2f}")
    out = HERE / "out" / "decoding_sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"model": args.model, "device": device, "max_new_tokens": n,
                                       "repeats": args.repeats, "table": table}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
