"""Spec-Bench: greedy vs prompt lookup vs Token Recycling, suffix drafts and both merged (toksmith.decoding).

    python benchmarks/decoding.py [--model smollm2] [--per-category 1] [--max-new-tokens 64] [--repeats 3]
    python benchmarks/decoding.py --sweep [--sweep-prompts 4]      # time static tree shapes (sessions 3-4)
    python benchmarks/decoding.py --calibrate 13 --calib-tree 8,24,32,32,24,16,8 --calib-nodes 80,40
    python benchmarks/decoding.py --mat-only --trees tr80,out/decoding_template_80.json --hot-m out/...
    python benchmarks/decoding.py --device cuda --adaptive off --rows "pld;recycle@tr80;hybrid-hot@dyn128@sfx=20"
    python benchmarks/decoding.py --model gemma3 --texts 3          # what greedy writes (the prompts too)

Prompts: ../shared/data/spec_bench/question.jsonl, first turn of each question, in the model's chat
template (with the generation prompt; Gemma 3's turn markup by hand, its GGUF has none: toksmith.decoding.chat).
On CPU a fixed stratified subset: the first `--per-category`
questions (file order) of each of the 13 categories. Every row decodes greedily with batch 1, the same
`max_new_tokens`, the same model object (dtype, sdpa attention) and a plain DynamicCache:
  greedy     transformers `generate(do_sample=False)` (the baseline and the identity oracle)
  pld        transformers prompt lookup decoding (`prompt_lookup_num_tokens`)
  recycle / suffix / hybrid    toksmith.decoding.generate with a cold M (filled from this prompt only)
  recycle-hot / hybrid-hot     M carried from the earlier prompts of the run (and the warm-up prompts);
             each repeat restarts from the same snapshot, so no M ever holds an earlier run of its prompt.
  greedy-ours  toksmith's own greedy loop (one token per forward through the same verifier)
A row may carry its own options: NAME[@TREE][@sfx=N][@min=T][@dead=D][@form=F][@adapt=0|1][@nodes=N][@branch=W],
rows separated by ';'
(spec_bench.timed_rows);
what a row leaves out comes from --tree / --suffix-len / --branch, else from the library's defaults for the
model's device and the row's method. --adaptive off|on overrides the library's adaptive draft sizes
(toksmith.decoding.sizing; a row's @adapt overrides both); --budget-s
starts no new prompt after that many seconds (the table then covers the prompts done, and says so).
A warm-up decodes --warmup prompts outside the subset first. Each (prompt, row) is timed `--repeats` times in
rotation and the median taken. Per category: tokens/s (total tokens / total median seconds), speedup over
greedy, MAT (new tokens / forward passes), tokens accepted from suffix drafts; identity with greedy is
checked on every prompt and run. Writes benchmarks/out/decoding{--tag}.json (or decoding_sweep.json).

--mat-only measures acceptance, not time (MAT does not depend on the device): every step drafts
(adaptive sizes off: every node verified), one run per (prompt, tree, method), no prompt-lookup row; transformers greedy
runs once per prompt as the identity oracle. --calibrate runs `recycle` with a large template on
prompts OUTSIDE the subset (the 2nd.. question of each category), M carried across them, counts how
often each rank path of the template was accepted, and writes the most-accepted N-node templates
(benchmarks/out/decoding_template_N.json, `templates.template_from_counts`) and the warm M
(benchmarks/out/decoding_hot_m.safetensors) that --mat-only's hot rows start from (--hot-m).
It also writes the calibration prompts' token ids and their outputs (benchmarks/out/decoding_corpus.json,
JSON of ids): a static suffix corpus of the model's own answers to other questions, as SAM-Decoding
retrieves from a fixed corpus. The outputs are the ones decoded while warming M (no second decoding);
they are greedy's because every method is lossless. --mat-only --corpus FILE loads it (refusing a file
that holds any question of the subset) and a row with @corpus=all (each prompt + its output as one
document) or @corpus=out (outputs only) drafts from it besides the context.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from spec_bench import (
    CORPUS_FORMAT,
    hf_run,
    load_corpus,
    load_model,
    load_questions,
    parts_per_step,
    row_option,
    stratified,
    timed_rows,
)
from toksmith.decoding.chat import chat_ids, stop_ids

HERE = Path(__file__).resolve().parent
SWEEP_TREES = ["2,1", "2,1,1", "3,2,1", "3,3,2,1,1", "4,3,2,1", "5,4,3,2,1", "8,6,4,2,1"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--per-category", type=int, default=1)
    ap.add_argument("--skip", type=int, default=0, help="timed subset: questions from this index of each category on "
                    "(1: a dev subset for choosing options, outside the reported one; no hot M calibrated there)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tree", default=None, help="recycle template (default: the library's for the device and "
                    "method, toksmith.decoding.device_defaults); "
                    "'sweep': the fastest hybrid tree in benchmarks/out/decoding_sweep.json")
    ap.add_argument("--suffix-len", type=int, default=None)
    ap.add_argument("--pld-tokens", type=int, default=10)
    ap.add_argument("--sweep", action="store_true", help="time tree shapes instead (prompts outside the subset)")
    ap.add_argument("--sweep-prompts", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--warmup", type=int, default=2, help="prompts decoded before timing (outside the subset)")
    ap.add_argument("--rows", default="greedy,pld,recycle,suffix,hybrid,hybrid-hot",
                    help="timed rows (greedy always): NAME[@TREE][@sfx=N][@min=T][@dead=D][@form=F][@branch=W] "
                    "separated by ';' (NAME: pld, greedy-ours, recycle, suffix, hybrid, hybrid-hot; "
                    "spec_bench.timed_rows)")
    ap.add_argument("--adaptive", default="auto", choices=("auto", "on", "off"),
                    help="adaptive draft sizes of the timed rows (auto: the library default)")
    ap.add_argument("--budget-s", type=float, default=0, help="start no new prompt after this many seconds")
    ap.add_argument("--mat-only", action="store_true", help="acceptance only: no repeats, no pld, no adaptive")
    ap.add_argument("--trees", default="tr80", help="--mat-only: comma-free list of trees separated by ';'")
    ap.add_argument("--methods", default="recycle,hybrid,hybrid-hot", help="--mat-only rows")
    ap.add_argument("--branch", default=None, help="hybrid: template hung from M under every suffix-chain node")
    ap.add_argument("--order", type=int, default=None, help="M order (1: token, 2: token pair; default DEFAULTS)")
    ap.add_argument("--hot-m", default=None, help="start the hot rows from this M (else a cold M)")
    ap.add_argument("--calibrate", type=int, default=0, help="prompts (outside the subset) to calibrate on")
    ap.add_argument("--calib-skip", type=int, default=1, help="calibrate on the questions from this index on")
    ap.add_argument("--calib-tree", default="8,24,32,32,24,16,8", help="the large template to measure")
    ap.add_argument("--calib-nodes", default="80,40,20", help="node counts of the templates to write")
    ap.add_argument("--calib-method", default="recycle", choices=("recycle", "hybrid"),
                    help="calibrate on recycle's accepted paths, or on what M's nodes add beyond hybrid's chain")
    ap.add_argument("--profile", action="store_true", help="ms per step by part (first --limit subset prompts)")
    ap.add_argument("--limit", type=int, default=0, help="--mat-only: first N prompts of the subset (smoke)")
    ap.add_argument("--corpus", default=None, help="--mat-only: suffix corpus written by --calibrate (rows with "
                    "@corpus=all|out draft from it)")
    ap.add_argument("--texts", type=int, default=0, help="print greedy's replies to the first N subset prompts")
    ap.add_argument("--tag", default="", help="suffix for the JSON file names")
    args = ap.parse_args()

    import torch

    from toksmith.decoding import DEFAULTS, AdjacencyMatrix, generate
    from toksmith.io import atomic_write_text

    lm, hf_tok = load_model(args.model, args.device, args.threads)
    eos = stop_ids(lm)
    questions = load_questions()
    n = args.max_new_tokens
    device = f"{args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    tree = args.tree  # None: the library's default for the model's device and each row's method
    if tree == "sweep":
        swept = HERE / "out" / "decoding_sweep.json"
        if swept.is_file():
            rows = json.loads(swept.read_text())["table"]
            tree = max((r for r in rows if r["row"].startswith("hybrid")),
                       key=lambda r: r["speedup"])["row"].split()[1]
            print(f"tree from the sweep: {tree}", flush=True)
        else:
            tree = None
            print(f"no sweep result in {swept}; the default tree", flush=True)

    def ours(ids, method, adjacency=None, tree_=None):
        r = generate(lm, ids, max_new_tokens=n, method=method, tree=tree_ or tree, suffix_len=args.suffix_len,
                     adjacency=adjacency, eos_ids=eos)
        return r.ids, r.stats.seconds, r.stats

    if args.texts:  # what greedy writes: the prompts as the model sees them and its replies
        for q in stratified(questions, args.per_category)[: args.texts]:
            ids = chat_ids(lm, q["turns"][0])
            out, _, _ = hf_run(lm, ids, n, eos)
            print(f"=== {q['question_id']} {q['category']}, {len(ids)} prompt tokens: {hf_tok.decode(ids)!r}\n"
                  f"{hf_tok.decode(out)!r}", flush=True)
        return
    if args.calibrate:
        calibrate(args, lm, questions, eos, device, atomic_write_text)
        return
    if args.profile:
        profile(args, lm, questions, eos, device, atomic_write_text)
        return
    if args.mat_only:
        mat_only(args, lm, questions, eos, device, atomic_write_text)
        return

    warm = stratified(questions, 1, skip=9)[: args.warmup]
    if args.sweep:
        for q in warm:
            ids = chat_ids(lm, q["turns"][0])
            hf_run(lm, ids, n, eos)
            for m in ("recycle", "hybrid"):
                ours(ids, m, AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name))
        sweep(args, lm, questions, eos, ours, hf_run, device, atomic_write_text)
        return
    timed(args, lm, questions, eos, device, tree, warm, atomic_write_text)


def timed(args, lm, questions, eos, device, tree, warm, atomic_write_text) -> None:
    """The timed table: every row on every subset prompt, --repeats times in rotation, medians."""
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix, generate

    n = args.max_new_tokens
    rows = timed_rows(args.rows, tree, args.suffix_len, args.branch)
    adaptive = {"auto": None, "on": True, "off": False}[args.adaptive]
    order = args.order or DEFAULTS["order"]

    def fresh_m():
        return AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name, order=order)

    # Token Recycling's hot start: each -hot row carries its own M across prompts, from --hot-m (M warmed on
    # prompts outside the subset by --calibrate) or a cold M, through the warm-up prompts first
    start_m = AdjacencyMatrix.load(args.hot_m, vocab_size=lm.vocab_size, model=lm.name) if args.hot_m else None
    hot = {r["key"]: start_m.copy() if start_m is not None else fresh_m() for r in rows if r["hot"]}
    for m in hot.values():
        m.order = order  # as --mat-only: an order-1 file read as order 2 fills its pair rows from here on

    def row_adaptive(row, method):
        """A row's @adapt, else --adaptive for the methods whose drafts it sizes, else the library's default."""
        if row["adaptive"] is not None:
            return bool(row["adaptive"])
        return adaptive if method in ("recycle", "hybrid") else None

    def run_row(row, ids, adjacency=None):
        if row["key"] == "greedy":
            return hf_run(lm, ids, n, eos)
        if row["method"] == "pld":
            return hf_run(lm, ids, n, eos, pld=args.pld_tokens)
        method = "greedy" if row["method"] == "greedy-ours" else row["method"]
        if adjacency is None and method in ("recycle", "hybrid"):
            adjacency = fresh_m()  # cold: filled from this prompt's prefill only
        r = generate(lm, ids, max_new_tokens=n, method=method, tree=row["tree"], suffix_len=row["suffix_len"],
                     branch=row["branch"] if method == "hybrid" else None, adjacency=adjacency, eos_ids=eos,
                     adaptive=row_adaptive(row, method),
                     min_match=row["min_match"], max_dead=row["max_dead"], few_rows=row["few_rows"],
                     max_nodes=row["max_nodes"])
        return r.ids, r.stats.seconds, r.stats

    for q in warm:  # also warms the device (kernels, allocator) and the hot Ms, outside the subset
        ids = chat_ids(lm, q["turns"][0])
        for row in rows:
            run_row(row, ids, hot.get(row["key"]))

    subset = stratified(questions, args.per_category, skip=args.skip)
    keys = [r["key"] for r in rows]
    records = []
    t_start = time.perf_counter()
    for qi, q in enumerate(subset):
        if args.budget_s and time.perf_counter() - t_start > args.budget_s:
            print(f"time budget of {args.budget_s} s spent: stopping after {qi} of {len(subset)} prompts", flush=True)
            break
        ids = chat_ids(lm, q["turns"][0])
        snap = {k: m.copy() for k, m in hot.items()}  # every repeat restarts from it: no M holds this prompt
        times: dict[str, list[float]] = defaultdict(list)
        result: dict[str, dict] = {}
        ref = None
        for _ in range(args.repeats):
            for row in rows:
                key = row["key"]
                work = snap[key].copy() if row["hot"] else None
                out, secs, st = run_row(row, ids, work)
                if row["hot"]:
                    hot[key] = work
                ref = out if ref is None else ref
                times[key].append(secs)
                r = result.setdefault(key, {})
                r["identical"] = r.get("identical", True) and out == ref
                r["tokens"] = len(out)
                if st:
                    r.update(mat=st.mat, step_mat=st.step_mat, forwards=st.forwards, steps=st.steps,
                             draft_tokens=st.draft_tokens, nodes=st.tree_nodes, accepted_suffix=st.accepted_suffix,
                             accepted_recycle=st.accepted_recycle, min_margin=st.min_margin)
                    r.setdefault("parts_all", []).append(st.parts)  # seconds by part of the loop, every repeat
        rec = {"question_id": q["question_id"], "category": q["category"], "prompt_tokens": len(ids), "rows": {}}
        for key in keys:
            r = result[key]
            r["seconds"] = statistics.median(times[key])
            r["seconds_all"] = times[key]
            r.setdefault("mat", None)
            rec["rows"][key] = r
        records.append(rec)
        g = rec["rows"]["greedy"]["seconds"]
        print(f"[{qi + 1}/{len(subset)}] {q['category']:>15} {len(ids):4d} prompt tokens, "
              f"{rec['rows']['greedy']['tokens']} new ({time.perf_counter() - t_start:.0f} s); speedup " +
              " ".join(f"{key} {g / rec['rows'][key]['seconds']:.2f}" for key in keys[1:]), flush=True)
        report(records, keys, args, device, tree, atomic_write_text, quiet=True, complete=False)
    report(records, keys, args, device, tree, atomic_write_text, quiet=False,
           complete=len(records) == len(subset))


def _m_order(args) -> int:
    """The order of the M our rows build (--order, else toksmith.decoding.DEFAULTS), for the JSON."""
    from toksmith.decoding import DEFAULTS

    return args.order or DEFAULTS["order"]


def report(records, rows, args, device, tree, atomic_write_text, quiet: bool = False, complete: bool = True) -> None:
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
            steps = sum(r["rows"][row].get("steps") or 0 for r in recs)
            table[(cat, row)] = {
                "tokens_per_s": toks / secs, "speedup": g_secs / secs,
                "mat": toks / fw if fw else None,
                "step_mat": (toks - len(recs)) / steps if steps else None,
                "accepted_suffix": sum(r["rows"][row].get("accepted_suffix") or 0 for r in recs),
                "identical": sum(bool(r["rows"][row]["identical"]) for r in recs), "prompts": len(recs)}
    lines = []
    w = max(12, *(len(r) for r in rows))
    lines.append(f"{'category':>15} {'row':>{w}} {'tok/s':>7} {'speedup':>8} {'MAT':>5} {'step MAT':>8} "
                 f"{'from suffix':>11} {'identical':>9}")
    for cat in cats:
        for row in rows:
            t = table[(cat, row)]
            mat = f"{t['mat']:.2f}" if t["mat"] else "-"
            step = f"{t['step_mat']:.2f}" if t["step_mat"] else "-"
            lines.append(f"{cat:>15} {row:>{w}} {t['tokens_per_s']:7.2f} {t['speedup']:7.2f}x {mat:>5} {step:>8} "
                         f"{t['accepted_suffix']:>11} {t['identical']:>4}/{t['prompts']}")
    if not quiet:
        print("\n".join(lines), flush=True)
        for row in rows:  # where a step's time goes (the host parts are what a GPU cannot hide)
            ms = parts_per_step(records, row)
            if ms:
                print(f"{row}: ms per step by part: " + ", ".join(f"{k} {v:.2f}" for k, v in ms.items()))
    out = HERE / "out" / f"decoding{args.tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({
        "complete": complete, "adaptive": args.adaptive, "rows": rows, "model": args.model, "device": device,
        "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "per_category": args.per_category, "skip": args.skip, "tree": tree, "suffix_len": args.suffix_len,
        "pld_tokens": args.pld_tokens, "hot_m": args.hot_m, "order": _m_order(args),
        "table": [{"category": c, "row": r, **v} for (c, r), v in table.items()], "prompts": records,
    }, indent=1, default=str))
    if not quiet:
        print(f"wrote {out}")


def sweep(args, lm, questions, eos, ours, hf_run, device, atomic_write_text) -> None:
    """Tokens/s of recycle and hybrid per tree shape on prompts outside the benchmark subset."""
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix

    n = args.max_new_tokens
    prompts = [chat_ids(lm, q["turns"][0]) for q in stratified(questions, 1, skip=5)][: args.sweep_prompts]
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


def profile(args, lm, questions, eos, device, atomic_write_text) -> None:
    """Where a decoding step's time goes: ms per step by part, against greedy's ms per token."""
    from toksmith.decoding import generate

    n = args.max_new_tokens
    tree = args.tree  # None: the library's default for the device and method
    subset = stratified(questions, args.per_category)[: args.limit or 3]
    warm = chat_ids(lm, stratified(questions, 1, skip=9)[0]["turns"][0])
    hf_run(lm, warm, n, eos)
    generate(lm, warm, max_new_tokens=n, method="hybrid", tree=tree, eos_ids=eos)
    rows = {"greedy (ours)": {"method": "greedy"}, "hybrid": {"method": "hybrid"},
            "hybrid, adaptive on": {"method": "hybrid", "adaptive": True}}
    acc: dict[str, dict] = {r: defaultdict(float) for r in rows}
    hf_secs = hf_toks = 0.0
    for _ in range(args.repeats):
        for q in subset:
            ids = chat_ids(lm, q["turns"][0])
            ref, secs, _ = hf_run(lm, ids, n, eos)
            hf_secs += secs
            hf_toks += len(ref)
            for name, kw in rows.items():
                r = generate(lm, ids, max_new_tokens=n, tree=tree, eos_ids=eos, **kw)
                assert r.ids == ref, (name, q["question_id"])
                a = acc[name]
                a["steps"] += r.stats.steps
                a["tokens"] += r.stats.new_tokens
                a["seconds"] += r.stats.seconds
                for part, sec in r.stats.parts.items():
                    a[part] += sec
    parts = ["prefill", "draft", "prepare", "forward", "walk", "compact", "update", "other"]
    print(f"transformers greedy: {1000 * hf_secs / hf_toks:.1f} ms per token "
          f"({hf_toks:.0f} tokens, {len(subset)} prompts x {args.repeats})")
    print(f"{'row':>22} {'ms/token':>8} {'ms/step':>8} {'tok/step':>8} " + " ".join(f"{p:>8}" for p in parts))
    table = {}
    for name, a in acc.items():
        per_step = {p: 1000 * a[p] / a["steps"] for p in parts}
        table[name] = {"ms_per_token": 1000 * a["seconds"] / a["tokens"],
                       "ms_per_step": 1000 * a["seconds"] / a["steps"], "tokens_per_step": a["tokens"] / a["steps"],
                       "ms_per_step_by_part": per_step}
        print(f"{name:>22} {table[name]['ms_per_token']:8.1f} {table[name]['ms_per_step']:8.1f} "
              f"{table[name]['tokens_per_step']:8.2f} " + " ".join(f"{per_step[p]:8.2f}" for p in parts))
    print("parts in ms per decoding step (prefill: its one forward, spread over the steps)")
    out = HERE / "out" / f"decoding_profile{args.tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"device": device, "tree": tree, "max_new_tokens": n,
                                       "questions": [q["question_id"] for q in subset], "repeats": args.repeats,
                                       "hf_greedy_ms_per_token": 1000 * hf_secs / hf_toks, "rows": table},
                                      indent=1))
    print(f"wrote {out}")


def calibrate(args, lm, questions, eos, device, atomic_write_text) -> None:
    """Count accepted rank paths of a large template on prompts outside the subset.

    recycle: counts[p] = steps that accepted the node at rank path p; the N most counted paths are the
    template (`template_from_counts`). hybrid: the accepted run of a step is the longer of the suffix
    chain's (c) and the template's, so a template node adds a token only where it is accepted deeper
    than c: gains[p] = steps that accepted p at a depth > c, and the template is the N-node subtree of
    largest total gain (`template_from_gains`, a tree knapsack: such gains need not fall with depth).
    Expected step MAT of a template on these prompts: 1 + sum of its paths' counts (recycle) or
    1 + mean c + sum of its gains (hybrid), divided by the steps.
    """
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix, generate, template_from_counts, template_from_gains
    from toksmith.decoding.api import resolve_template
    from toksmith.decoding.draft import FROM_RECYCLE, FROM_SUFFIX

    big = resolve_template(args.calib_tree, DEFAULTS["k"])
    hybrid = args.calib_method == "hybrid"
    qs = [q for per in range(args.calib_skip, 10) for q in stratified(questions, 1, skip=per)][: args.calibrate]
    counts: dict[tuple[int, ...], int] = defaultdict(int)
    gains: dict[tuple[int, ...], int] = {p: 0 for p in big.paths}
    m = AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name, order=args.order or DEFAULTS["order"])
    steps = chain_acc = 0
    mats = []
    docs: list[dict] = []  # the prompts' ids and outputs: the suffix corpus of the hot rows (--corpus)

    def on_step(draft, path) -> None:
        nonlocal steps, chain_acc
        steps += 1
        # the template is filled first into an empty tree (siblings are distinct tokens of one M row), so
        # draft node i is template node i; hybrid's chain nodes come after them or reuse them
        assert len(draft) >= len(big) + 1 and all(draft.sources[i] & FROM_RECYCLE for i in (1, len(big)))
        c = sum(1 for node in path[1:] if draft.sources[node] & FROM_SUFFIX)
        chain_acc += c
        for node in path[1:]:
            if node <= len(big):
                counts[big.paths[node - 1]] += 1
                if draft.depths[node] > c:
                    gains[big.paths[node - 1]] += 1

    t0 = time.perf_counter()
    for i, q in enumerate(qs):
        ids = chat_ids(lm, q["turns"][0])
        r = generate(lm, ids, max_new_tokens=args.max_new_tokens, method=args.calib_method, tree=big,
                     adjacency=m, eos_ids=eos, adaptive=False, on_step=on_step, suffix_len=args.suffix_len)
        mats.append(r.stats.step_mat)
        docs.append({"question_id": q["question_id"], "category": q["category"], "prompt": list(r.prompt_ids),
                     "output": list(r.ids)})
        print(f"[{i + 1}/{len(qs)}] {q['question_id']} {q['category']:>15} step MAT {r.stats.step_mat:.2f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    out = HERE / "out"
    out.mkdir(parents=True, exist_ok=True)
    m.save(out / f"decoding_hot_m{args.tag}.safetensors")
    corpus_path = out / f"decoding_corpus{args.tag}.json"
    atomic_write_text(corpus_path, json.dumps({
        "format": CORPUS_FORMAT, "model": args.model, "max_new_tokens": args.max_new_tokens,
        "method": args.calib_method, "tree": args.calib_tree, "docs": docs}))
    print(f"suffix corpus: {len(docs)} prompts, {sum(len(d['prompt']) for d in docs)} prompt + "
          f"{sum(len(d['output']) for d in docs)} output tokens -> {corpus_path}")
    written = {}
    for nodes in (int(x) for x in args.calib_nodes.split(",")):
        t = template_from_gains(gains, nodes) if hybrid else template_from_counts(counts, nodes)
        got = chain_acc + sum(gains[p] for p in t.paths) if hybrid else sum(counts[p] for p in t.paths)
        exp = got / steps
        path = out / f"decoding_template_{nodes}{args.tag}.json"
        atomic_write_text(path, json.dumps({"paths": [list(p) for p in t.paths], "widths": t.widths(),
                                            "expected_accepted_per_step": exp, "steps": steps,
                                            "calib_tree": args.calib_tree, "order": m.order,
                                            "calib_method": args.calib_method,
                                            "questions": [q["question_id"] for q in qs]}))
        written[nodes] = {"file": str(path), "widths": t.widths(), "expected_step_mat": 1 + exp}
        print(f"{nodes:4d} nodes: widths {t.widths()}, calibration step MAT if static = {1 + exp:.2f} -> {path}")
    full = (chain_acc + sum(gains.values())) / steps if hybrid else sum(counts.values()) / steps
    print(f"the whole {len(big)}-node tree ({args.calib_method}): step MAT {statistics.mean(mats):.2f} (mean of "
          f"prompts), {1 + full:.2f} (pooled); {steps} steps on {len(qs)} prompts outside the subset"
          + (f"; the chain alone {1 + chain_acc / steps:.2f}" if hybrid else ""))
    atomic_write_text(out / f"decoding_calibration{args.tag}.json", json.dumps({
        "device": device, "max_new_tokens": args.max_new_tokens, "calib_tree": args.calib_tree,
        "calib_method": args.calib_method, "suffix_len": args.suffix_len, "chain_accepted": chain_acc,
        "questions": [q["question_id"] for q in qs], "steps": steps, "templates": written,
        "counts": [[list(p), c] for p, c in sorted(counts.items(), key=lambda pc: -pc[1])],
        "gains": [[list(p), g] for p, g in sorted(gains.items(), key=lambda pg: -pg[1]) if g]}, indent=1))


def host_ms(runs: list[dict]) -> dict[str, float]:
    """ms per decoding step of each part of the loop outside the forward (and their total), pooled over runs:
    on a GPU, where a small model's forward is bound by kernel launches, these add to every step."""
    steps = sum(r["steps"] for r in runs) or 1
    parts = {p: 1e3 * sum(r["parts"].get(p, 0.0) for r in runs) / steps
             for p in ("draft", "prepare", "walk", "compact", "update", "other")}
    return {**parts, "host": sum(parts.values())}


def mat_only(args, lm, questions, eos, device, atomic_write_text) -> None:
    """Acceptance per category for each tree and method (every step drafts); identity with greedy checked."""
    from toksmith.decoding import DEFAULTS, AdjacencyMatrix, generate

    n = args.max_new_tokens
    subset = stratified(questions, args.per_category)[: args.limit or None]
    order = args.order or DEFAULTS["order"]
    corpus_docs = (load_corpus(args.corpus, args.model, subset, [chat_ids(lm, q["turns"][0]) for q in subset])
                   if args.corpus else None)
    start_m = (AdjacencyMatrix.load(args.hot_m, vocab_size=lm.vocab_size, model=lm.name) if args.hot_m
               else AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name, order=order))
    # one row per --trees entry
    # "TREE[@METHOD,METHOD][@sfx=N][@min=T][@dead=D][@branch=W][@order=O][@recent=1][@corpus=all|out]"
    # (TREE may be dynN: N nodes grown each step from M's probabilities; corpus: draft from --corpus too,
    # each calibration prompt with its output as one document, or the outputs only)
    specs = []
    for entry in (e for e in args.trees.split(";") if e):
        tree, *opts = entry.split("@")
        kw = {"suffix_len": args.suffix_len, "branch": args.branch, "order": order, "recent": None, "corpus": None,
              "min_match": None, "max_dead": None}
        methods = [m for m in args.methods.split(",") if m]
        for o in opts:
            if "=" in o:
                key, val = row_option(entry, o, tuple(kw))
                kw[key] = val
            else:
                methods = o.split(",")
        label = Path(tree).stem if tree.endswith(".json") else tree
        if kw["corpus"] is not None and (kw["corpus"] not in ("all", "out") or corpus_docs is None):
            raise SystemExit(f"row '{entry}': corpus=all or corpus=out, with --corpus FILE")
        extra = "".join(f" {k}={v}" for k, v in (("sfx", kw["suffix_len"]), ("min", kw["min_match"]),
                                                  ("branch", kw["branch"]),
                                                  ("recent", kw["recent"]), ("corpus", kw["corpus"]))
                        if v is not None)
        for method in methods:
            dead = f" dead={kw['max_dead']}" if kw["max_dead"] is not None else ""
            specs.append({"key": f"{method} {label} o{kw['order']}{extra if method.startswith('hybrid') else ''}{dead}",
                          "tree": tree, "method": method, **kw})
    # hot rows: M carried over the subset's earlier prompts, per row; never holds a run of the same prompt
    hot = {}
    for sp in specs:
        if sp["method"].endswith("-hot"):
            hot[sp["key"]] = start_m.copy()
            hot[sp["key"]].order = sp["order"]  # an order-1 file read as order 2 fills its pair rows from here on
    records = []
    t0 = time.perf_counter()
    for qi, q in enumerate(subset):
        ids = chat_ids(lm, q["turns"][0])
        ref, _, _ = hf_run(lm, ids, n, eos)
        rec = {"question_id": q["question_id"], "category": q["category"], "prompt_tokens": len(ids),
               "tokens": len(ref), "rows": {}}
        for sp in specs:
            base = sp["method"].removesuffix("-hot")
            adj = hot.get(sp["key"]) or AdjacencyMatrix(lm.vocab_size, DEFAULTS["k"], model=lm.name,
                                                        order=sp["order"])
            docs = (() if sp["corpus"] is None or base not in ("suffix", "hybrid") else
                    [d["output"] if sp["corpus"] == "out" else d["prompt"] + d["output"] for d in corpus_docs])
            r = generate(lm, ids, max_new_tokens=n, method=base, tree=sp["tree"], suffix_len=sp["suffix_len"],
                         adjacency=adj, eos_ids=eos, adaptive=False, corpus=docs,
                         branch=sp["branch"] if base == "hybrid" else None, min_match=sp["min_match"],
                         max_dead=sp["max_dead"],
                         suffix_recent=bool(sp["recent"]) if sp["recent"] is not None else None)
            st = r.stats
            rec["rows"][sp["key"]] = {
                "identical": r.ids == ref, "tokens": st.new_tokens, "forwards": st.forwards,
                "steps": st.steps, "mat": st.mat, "step_mat": st.step_mat, "nodes": st.tree_nodes,
                "draft_nodes": st.draft_tokens / max(1, st.steps), "draft_tokens": st.draft_tokens,
                "accepted_suffix": st.accepted_suffix, "accepted_recycle": st.accepted_recycle,
                "accepted_corpus": st.accepted_corpus, "min_margin": st.min_margin,
                "parts": st.parts}  # seconds by part of the loop (host parts: draft, prepare, walk, update)
        records.append(rec)
        print(f"[{qi + 1}/{len(subset)}] {q['category']:>15} ({time.perf_counter() - t0:.0f} s) " + "; ".join(
            f"{k} {v['step_mat']:.2f}{'' if v['identical'] else ' DIFFERS'}" for k, v in rec["rows"].items()),
            flush=True)
    keys = list(records[0]["rows"])
    cats = sorted({r["category"] for r in records}) + ["ALL"]
    table = []
    for i, k in enumerate(keys):
        rs = [r["rows"][k] for r in records]
        print(f"row {i}: {k} (nodes per step with the root: max {max(x['nodes'] for x in rs)}, pooled mean "
              f"{sum(x['draft_tokens'] for x in rs) / sum(x['steps'] for x in rs) + 1:.1f}, mean of prompts "
              f"{statistics.mean(x['draft_nodes'] for x in rs) + 1:.1f}; host ms per step outside the forward: "
              + ", ".join(f"{part} {ms:.2f}" for part, ms in host_ms(rs).items()) + ")")
    print(f"{'category':>15} " + " | ".join(f"{'row ' + str(i):>28}" for i in range(len(keys))))
    for cat in cats:
        recs = [r for r in records if cat in ("ALL", r["category"])]
        cells = []
        for k in keys:
            rows = [r["rows"][k] for r in recs]
            toks = sum(x["tokens"] for x in rows)
            cell = {"category": cat, "row": k, "mat": toks / sum(x["forwards"] for x in rows),
                    "step_mat": (toks - len(rows)) / sum(x["steps"] for x in rows),
                    "accepted_suffix": sum(x["accepted_suffix"] for x in rows),
                    "accepted_recycle": sum(x["accepted_recycle"] for x in rows),
                    "accepted_corpus": sum(x["accepted_corpus"] for x in rows),
                    "nodes": max(x["nodes"] for x in rows),
                    "nodes_mean": sum(x["draft_tokens"] for x in rows) / sum(x["steps"] for x in rows) + 1,
                    "identical": sum(x["identical"] for x in rows), "prompts": len(rows)}
            table.append(cell)
            cells.append(f"{cell['step_mat']:5.2f} ({cell['mat']:4.2f}) s{cell['accepted_suffix']:<3d}"
                         f"c{cell['accepted_corpus']:<3d}"
                         f"{cell['identical']:>2}/{cell['prompts']:<2}")
        print(f"{cat:>15} " + " | ".join(f"{c:>28}" for c in cells))
    print("cells: step MAT (MAT with the prefill forward counted), s: accepted suffix tokens (c: of them from the "
          "corpus), identical/prompts")
    out = HERE / "out" / f"decoding_mat{args.tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({
        "model": args.model, "device": device, "max_new_tokens": n, "per_category": args.per_category,
        "rows": specs, "suffix_len_default": DEFAULTS["suffix_len"], "hot_m": args.hot_m, "corpus": args.corpus,
        "table": table, "prompts": records},
        indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
