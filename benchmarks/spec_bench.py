"""Spec-Bench prompts and the transformers peers, shared by benchmarks/decoding.py and verify_cost.py.

Prompts: ../shared/data/spec_bench/question.jsonl (or $TOKSMITH_SHARED_DATA/spec_bench), first turn of
each question, in the model's chat template with the generation prompt. `hf_run` is the baseline and
identity oracle: transformers `generate(do_sample=False)` with a plain DynamicCache, optionally with
prompt lookup decoding.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TOKSMITH_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
CORPUS_FORMAT = "toksmith-bench-suffix-corpus/1"
#: timed row names besides the library's methods: transformers greedy (the baseline), transformers prompt
#: lookup, and toksmith's own greedy loop (one token per forward through the same Verifier as the drafts)
PEER_ROWS = ("greedy", "pld", "greedy-ours")


def load_corpus(path: str, model: str, subset: list[dict], subset_ids: list[list[int]]) -> list[dict]:
    """The documents of a suffix corpus written by --calibrate; refuses one that holds a subset question.

    A corpus must never hold an earlier run of the prompt being measured: no document may carry a
    subset question's id or its exact prompt ids.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != CORPUS_FORMAT or data.get("model") != model:
        raise SystemExit(f"{path}: not a suffix corpus of {model} (format {data.get('format')!r}, "
                         f"model {data.get('model')!r})")
    docs = data["docs"]
    inside = {q["question_id"] for q in subset} & {d["question_id"] for d in docs}
    same = [d["question_id"] for d in docs if d["prompt"] in subset_ids]
    if inside or same:
        raise SystemExit(f"{path} holds the measured subset's questions {sorted(inside)} or prompts (its documents "
                         f"{same}); "
                         "build the corpus from other questions (--calibrate --calib-skip 1)")
    return docs


def load_model(name: str, device: str | None, threads: int = 0):
    """(toksmith LM, transformers tokenizer of the same GGUF or directory): the model both sides of a row run."""
    import torch

    from toksmith import load_lm
    from toksmith.decoding.chat import hf_tokenizer

    if threads:
        torch.set_num_threads(threads)
    lm = load_lm(name, device=device)
    return lm, hf_tokenizer(lm)


def load_questions() -> list[dict]:
    path = DATA / "spec_bench" / "question.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: Spec-Bench prompts not found (set TOKSMITH_SHARED_DATA to the shared data folder)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stratified(questions: list[dict], per_category: int, skip: int = 0) -> list[dict]:
    """Questions skip .. skip + per_category - 1 (file order) of every category."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for q in questions:
        i = seen[q["category"]]
        seen[q["category"]] += 1
        if skip <= i < skip + per_category:
            out.append(q)
    return out


def hf_run(lm, ids: list[int], n: int, eos: list[int], pld: int = 0) -> tuple[list[int], float, int]:
    """transformers greedy (or prompt lookup with `pld` tokens): (new ids, seconds, 0)."""
    import torch
    from transformers.cache_utils import DynamicCache

    x = torch.tensor([ids], device=lm.device)
    kw = {"prompt_lookup_num_tokens": pld} if pld else {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = lm.model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                past_key_values=DynamicCache(), eos_token_id=eos, pad_token_id=eos[0], **kw)
    new = out[0, len(ids):].tolist()  # .tolist() waits for the device
    return new, time.perf_counter() - t0, 0


#: "@NAME=VALUE" options of benchmark rows (timed_rows, decoding.py --mat-only): NAME (short or long) ->
#: (the row key / generate() keyword, whether VALUE is an integer)
ROW_OPTIONS: dict[str, tuple[str, bool]] = {"sfx": ("suffix_len", True), "min": ("min_match", True),
                                            "dead": ("max_dead", True), "branch": ("branch", False),
                                            "order": ("order", True), "recent": ("recent", True),
                                            "corpus": ("corpus", False), "form": ("few_rows", False),
                                            "adapt": ("adaptive", True), "nodes": ("max_nodes", True)}


def row_option(entry: str, option: str, allowed: tuple[str, ...]) -> tuple[str, int | str]:
    """(key, value) of one "NAME=VALUE" option of row `entry`; refuses a NAME whose key is not in `allowed`."""
    name, value = option.split("=", 1)
    key, is_int = ROW_OPTIONS.get(name) or next((kv for kv in ROW_OPTIONS.values() if kv[0] == name), (name, False))
    if key not in allowed:
        names = [n for n, (k, _) in ROW_OPTIONS.items() if k in allowed]
        raise SystemExit(f"row '{entry}': unknown option '{name}' ({', '.join(names)})")
    return key, int(value) if is_int else value


def timed_rows(spec: str, tree: str | None, suffix_len: int | None, branch: str | None) -> list[dict]:
    """Rows of the timed table: "greedy;pld;recycle@tr80;hybrid-hot@dyn128@branch=dyn@sfx=20" ...

    Each entry is a row name (PEER_ROWS, or a `toksmith.decoding` method, "-hot" for an M carried
    across prompts), then optional "@TREE", "@sfx=N" (suffix_len), "@min=T" (min_match), "@dead=D"
    (max_dead: rejected rows kept in the KV cache before a compaction), "@form=F" (few_rows: the CPU linear
    layers' form, toksmith.lm.skinny.FORMS), "@adapt=0|1" (adaptive: each step's draft cut to the size that
    pays, toksmith.decoding.sizing), "@nodes=N" (max_nodes: the most an adaptive step keeps) and "@branch=W";
    what an entry leaves out comes from the command line (--tree, --suffix-len, --branch). A list without ';'
    or '@' may use commas (the old form). The baseline row "greedy" is always first.
    """
    entries = spec.split(";") if (";" in spec or "@" in spec) else spec.split(",")
    rows = [{"key": "greedy", "method": "greedy", "hot": False}]
    for entry in (e.strip() for e in entries):
        if not entry or entry == "greedy":
            continue
        name, *opts = entry.split("@")
        row = {"key": entry, "method": name.removesuffix("-hot"), "hot": name.endswith("-hot"), "tree": tree,
               "suffix_len": suffix_len, "min_match": None, "max_dead": None, "branch": branch, "few_rows": None,
               "adaptive": None, "max_nodes": None}
        for o in opts:
            if "=" in o:
                k, v = row_option(entry, o, ("suffix_len", "min_match", "max_dead", "branch", "few_rows", "adaptive",
                                             "max_nodes"))
                row[k] = v
            else:
                row["tree"] = o
        if name not in PEER_ROWS and row["method"] not in ("recycle", "suffix", "hybrid"):
            raise SystemExit(f"row '{entry}': not a row ({', '.join(PEER_ROWS)}, recycle, suffix, hybrid[-hot])")
        rows.append(row)
    return rows


def parts_per_step(records: list[dict], row: str) -> dict[str, float]:
    """ms per decoding step by part of the loop (DecodeStats.parts, mean of the repeats) over all prompts of `row`."""
    parts: dict[str, float] = defaultdict(float)
    steps = 0
    for rec in records:
        r = rec["rows"][row]
        for p in r.get("parts_all", []):
            for k, v in p.items():
                parts[k] += v / len(r["parts_all"])
        steps += r.get("steps") or 0
    return {k: 1e3 * v / steps for k, v in parts.items()} if steps else {}
