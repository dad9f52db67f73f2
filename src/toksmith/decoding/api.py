"""`generate`: greedy decoding of a stock transformers model, plain or with lossless drafts.

Methods: "greedy" (one token per forward), "recycle" (Token Recycling: a static tree template filled
from the adjacency matrix M), "suffix" (a chain from the longest suffix match of the context, and of an
optional corpus), "hybrid" (both merged into one draft tree). Every method emits exactly the tokens
greedy decoding emits: a draft token is kept only where it equals the model's argmax.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from toksmith.decoding.adjacency import DEFAULT_ORDER, AdjacencyMatrix
from toksmith.decoding.draft import FROM_RECYCLE, FROM_SUFFIX, DraftTree, build_draft
from toksmith.decoding.sizing import MAX_NODES, cut_draft, step_costs
from toksmith.decoding.suffix import SuffixDrafter
from toksmith.decoding.templates import TEMPLATES, Template, load_template, template_from_widths
from toksmith.decoding.verify import MAX_DEAD, Verifier
from toksmith.errors import OptionError
from toksmith.lm.loading import LM

__all__ = ["CPU_DEFAULTS", "DEFAULTS", "GPU_DEFAULTS", "METHODS", "DecodeResult", "DecodeStats", "device_defaults",
           "generate", "resolve_template"]

METHODS = ("greedy", "recycle", "suffix", "hybrid")

#: The defaults shared by every device, under CPU_DEFAULTS and GPU_DEFAULTS per method (the one place
#: defaults live; the CLI and the benchmarks read them through `device_defaults`). Every drafted node is
#: verified (`adaptive` off): on a CPU the verifier's few-row linear layers (`toksmith.lm.skinny`) make a
#: 2-node tree cost 1.0-1.13x a one-token step (benchmarks/verify_cost.py, SmolLM2, 2 threads, on the
#: machines of sessions 9 and 12), and on a GPU up to 256 nodes cost about one step. Cutting each step's
#: grown tree to the size that pays (`adaptive`, `toksmith.decoding.sizing`) tied with the CPU default
#: below in two timed runs of session 13 (1.07x against 1.11x, 1.12x against 1.16x transformers' greedy;
#: benchmarks/RESULTS.md, "decoding on a CPU, session 13") and two of session 14 on another CPU (2.18x against
#: 2.23x, 2.24x against 2.25x), so it is an option, not yet a default.
DEFAULTS: dict[str, Any] = {"max_new_tokens": 64, "tree": "cpu", "suffix_len": 6, "k": 8, "min_match": 1,
                            "adaptive": False, "max_nodes": MAX_NODES,
                            "order": DEFAULT_ORDER, "suffix_recent": False, "max_dead": MAX_DEAD}

#: What changes on a CPU, per method. There every node beyond the second costs (4 nodes 1.25x a one-token
#: step, 8 nodes 1.8x), so recycle drafts M's top successor only ("cpu"). Hybrid grows that one node from M
#: and adds a suffix chain only where the match is long, as SAM-Decoding does: up to 6 tokens where the
#: context's suffix matched at least 4 (a short match's chain is seldom accepted, so its rows cost more
#: than they bring). Suffix sends a chain of at most 3 (the one length timed, before one-token steps took the
#: few-row form). Chosen on a dev subset (the 2nd Spec-Bench question of each category) against a chain of
#: at most 2 from any match, then timed on the reported subset: hybrid with a hot M 1.98x transformers'
#: greedy against 1.92x, recycle 1.94x (benchmarks/RESULTS.md, "decoding on a CPU, session 10"). Those costs
#: are with the few-row form (`toksmith.lm.skinny`) where it is the faster one; on a CPU where it is not, 2
#: nodes cost 1.19x a step and 4 nodes 1.9x, and hybrid ran 1.06x ("decoding on a CPU, session 11").
CPU_DEFAULTS: dict[str, Any] = {"hybrid": {"tree": "dyn1", "branch": "dyn", "suffix_len": 6, "min_match": 4},
                                "suffix": {"suffix_len": 3}}

#: What changes on a GPU, per method. There a draft tree of up to 256 nodes verifies in about the time of a
#: one-token step (benchmarks/verify_cost.py, H200: 1.10x at 80 and 128 nodes, 1.15x at 256), so the tree
#: that accepts most is also the fastest. Each value is the fastest one timed on SmolLM2
#: (benchmarks/RESULTS.md, "decoding and the bridge on a GPU, session 8"): hybrid with 128 nodes grown
#: from M, under a 20-token chain too, ran 2.19x greedy with a cold M (2.44x with a hot M, against 2.27x
#: for 80 nodes); recycle was timed with TR's 80-node tree only (2.04x, cold M).
#: Both also keep up to 1,024 rejected draft rows in the KV cache (masked) before compacting it
#: (`max_dead`): at 128 nodes that is one compaction (about 250 tensor operations on SmolLM2, each a kernel
#: launch or a dispatch) every ~8 steps instead of every step, while attention over 1,024 more keys is a
#: small fraction of a launch-bound step. That value is reasoned from the operation counts, not yet timed on a GPU.
GPU_DEFAULTS: dict[str, Any] = {"recycle": {"tree": "tr80", "max_dead": 1024},
                                "hybrid": {"tree": "dyn128", "branch": "dyn", "suffix_len": 20, "max_dead": 1024}}


def device_defaults(device: str, method: str = "hybrid") -> dict[str, Any]:
    """DEFAULTS for `method` on a model on `device`, with CPU_DEFAULTS or (CUDA) GPU_DEFAULTS over them."""
    per_device = GPU_DEFAULTS if str(device).startswith("cuda") else CPU_DEFAULTS
    return {**DEFAULTS, **per_device.get(method, {})}


@dataclass
class DecodeStats:
    """What a decoding run cost and how well the drafts did.

    mat: new tokens / forward passes, the prefill included (greedy: 1.0; the conservative figure).
    step_mat: tokens emitted by decoding steps / decoding steps, the prefill's first token and forward
    left out (Spec-Bench's and Token Recycling's "mean accepted tokens" per step).
    accepted_suffix / accepted_recycle: accepted draft tokens proposed by the suffix chain / by M (a
    token both proposed counts for both); draft_tokens: draft nodes verified in all steps.
    accepted_corpus: of accepted_suffix, the tokens of chains drafted from the `corpus` (not the context).
    min_margin: smallest top-1 minus top-2 logit among emitted tokens (a near-tie diagnostic).
    parts: seconds by part of the decoding loop: prefill, draft (suffix match and tree build), prepare
    (mask and positions), forward, walk, compact (KV rows), update (M), other (the rest of the loop).
    """

    method: str
    new_tokens: int
    steps: int
    forwards: int
    seconds: float
    tokens_per_s: float
    mat: float
    accepted_suffix: int = 0
    accepted_recycle: int = 0
    draft_tokens: int = 0
    tree_nodes: int = 0
    min_margin: float = float("inf")
    step_mat: float = 1.0
    parts: dict[str, float] = field(default_factory=dict)
    accepted_corpus: int = 0


@dataclass
class DecodeResult:
    ids: list[int]
    text: str
    stats: DecodeStats
    prompt_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "text": self.text, "stats": asdict(self.stats)}


def grow_budget(tree: object) -> int:
    """N for a dynamic tree named "dynN" (N nodes grown from M's probabilities each step), else 0."""
    if isinstance(tree, str) and tree.startswith("dyn"):
        if not tree[3:].isdigit() or int(tree[3:]) < 1:
            raise OptionError(f"tree '{tree}': a dynamic tree is 'dyn' and a positive node count, e.g. dyn80")
        return int(tree[3:])
    return 0


def resolve_template(tree: str | Template | Sequence[int] | None, k: int) -> Template:
    """A template from a name in TEMPLATES, per-depth widths, a .json file of rank paths, or a Template."""
    if isinstance(tree, Template):
        return tree
    if tree is None:
        tree = DEFAULTS["tree"]
    if isinstance(tree, str):
        if tree in TEMPLATES:
            return template_from_widths(TEMPLATES[tree], k)
        if tree.endswith(".json"):
            return load_template(tree)
        try:
            widths = [int(w) for w in tree.split(",")]
        except ValueError:
            raise OptionError(f"tree '{tree}' is neither a template name ({', '.join(TEMPLATES)}) "
                              "nor comma-separated widths such as 3,3,2,1") from None
        return template_from_widths(widths, k)
    return template_from_widths(list(tree), k)


def _prompt_ids(lm: LM, prompt: str | Sequence[int], add_bos: bool) -> list[int]:
    if isinstance(prompt, str):
        ids = lm.tokenizer.encode(prompt)
        return ([lm.bos_id] if add_bos else []) + list(ids)
    ids = [int(t) for t in prompt]
    bad = [t for t in ids if not 0 <= t < lm.vocab_size]
    if bad:
        raise OptionError(f"prompt token id {bad[0]} is outside the model's vocabulary (0..{lm.vocab_size - 1})")
    return ids


def _eos_ids(lm: LM, eos: Iterable[int] | None) -> set[int]:
    if eos is not None:
        return {int(t) for t in eos}
    out = {lm.eos_id}
    gen = getattr(lm.model, "generation_config", None)
    extra = getattr(gen, "eos_token_id", None) if gen is not None else None
    if isinstance(extra, int):
        out.add(extra)
    elif extra:
        out.update(int(t) for t in extra)
    return out


def generate(lm: LM, prompt: str | Sequence[int], *, max_new_tokens: int, method: str = "greedy",
             tree: str | Template | Sequence[int] | None = None, adjacency: AdjacencyMatrix | None = None,
             suffix_len: int | None = None, corpus: Iterable[Sequence[int]] = (), min_match: int | None = None,
             eos_ids: Iterable[int] | None = None, add_bos: bool = True,
             adaptive: bool | None = None, branch: str | Template | Sequence[int] | None = None,
             on_step: Callable[[DraftTree, list[int]], None] | None = None,
             suffix_recent: bool | None = None, max_dead: int | None = None,
             few_rows: str | None = None, max_nodes: int | None = None) -> DecodeResult:
    """Greedy-decode up to `max_new_tokens` after `prompt`, optionally with lossless drafts.

    Args:
        lm: a model from `toksmith.load_lm`.
        prompt: text (encoded with the model's tokenizer, after its BOS when `add_bos`) or token ids.
        method: "greedy", "recycle", "suffix" or "hybrid".
        tree: the recycle template: a name in `TEMPLATES` ("cpu", "tr80"), widths per depth ("4,3,2"), a
            .json file of rank paths, a `Template`, or "dynN": N nodes grown each step where M's stored
            probabilities are highest (`draft.build_draft(grow=N)`). Default per device and method
            (`device_defaults`): on a CPU "cpu" (M's top successor) for recycle and "dyn1" with branch
            "dyn" and a chain of up to 6 tokens after a match of 4+ for hybrid; on a GPU "tr80" for
            recycle and "dyn128" with branch "dyn" and a 20-token chain for hybrid.
        adjacency: M to start from and update in place (hot start across calls); None = a cold M
            filled from this prompt's prefill logits.
        suffix_len: longest suffix chain drafted per step (default `device_defaults(lm.device, method)`).
        min_match: shortest suffix match (in tokens) that drafts a chain (default 1; with the device's
            default tree (`tree` None), `device_defaults`: 4 for hybrid on a CPU, where a node costs).
        corpus: token sequences the suffix drafter may also match (besides the context).
        eos_ids: tokens that end generation (default: the model's EOS and its generation config's).
        adaptive: cut each step's draft to the size with the most expected tokens per second
            (`toksmith.decoding.sizing`): its nodes best first by score, as many as pay for what they add to
            a step, at most `max_nodes`, with step times measured as decoding goes. Needs scored nodes: a
            "dynN" tree (in hybrid with branch "dyn"). Default off (`DEFAULTS`; tied with the CPU default in
            session 13's timed runs). Never changes the output, only the cost; since it follows the clock,
            the steps taken can differ between runs.
        max_nodes: most nodes (the root included) an adaptive step verifies (default `sizing.MAX_NODES`, 8,
            the CPU's few-row forms; on a GPU give more, e.g. 256).
        branch: hybrid only: a small template (e.g. "1" or "2,1") hung from M under every node of the
            suffix chain, so a chain that stops matching still offers recycled successors (default none,
            or "dyn" for hybrid when the tree is defaulted too);
            with a "dynN" tree, "dyn" grows the N nodes under the chain's nodes too, one budget for both.
        suffix_recent: the chain follows the context match's most recent earlier occurrence instead of
            its first (default DEFAULTS["suffix_recent"]).
        max_dead: rejected draft tokens whose KV rows stay in the cache, masked out, before one compaction
            drops them (0: after every step; default per device, `device_defaults`: 0 on a CPU, 1,024 for
            recycle and hybrid on a GPU). Changes the cost, not the tokens: compacting takes a few tensor
            operations per layer, a dead row widens attention in every later forward. Like any change of
            shape it rounds logits differently (~1e-7), so the drafts can drift; a near-tie could flip (see
            `toksmith.decoding.verify`; `stats.min_margin`).
        few_rows: the form of the CPU linear layers in forwards of up to 8 tokens (`toksmith.lm.skinny.FORMS`):
            None (default): as TOKSMITH_FEW_ROWS says, else "auto", the fastest measured on this machine per
            token count; "compiled", "product" or "off" (PyTorch's linear) at every count. GPU layers keep theirs.
        on_step: called after every verification with the draft tree and its accepted nodes (root
            first); for measuring which tree positions are accepted (`templates.template_from_counts`).
    Returns:
        DecodeResult with the new token ids (ending with the EOS if one was emitted), their text and
        DecodeStats. The ids equal plain greedy decoding's (see `toksmith.decoding.verify` on ties).

    >>> lm = load_lm("smollm2")  # doctest: +SKIP
    >>> generate(lm, "The capital of France is", max_new_tokens=8, method="hybrid").stats.mat  # doctest: +SKIP
    """
    if method not in METHODS:
        raise OptionError(f"method '{method}' is not known (choose from {', '.join(METHODS)})")
    if max_new_tokens < 1:
        raise OptionError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    dflt = device_defaults(lm.device, method)
    if min_match is None:  # the device's match threshold belongs to its tree, as its branch does
        min_match = dflt["min_match"] if tree is None else DEFAULTS["min_match"]
    min_match = int(min_match)
    if min_match < 1:
        raise OptionError(f"min_match must be at least 1, got {min_match}")
    named_tree = tree
    if tree is None:
        tree = dflt["tree"]
        if branch is None:
            branch = dflt.get("branch")
    suffix_len = dflt["suffix_len"] if suffix_len is None else int(suffix_len)
    if suffix_len < 1:
        raise OptionError(f"suffix_len must be at least 1, got {suffix_len}")
    use_m = method in ("recycle", "hybrid")
    use_suffix = method in ("suffix", "hybrid")
    k = adjacency.k if adjacency is not None else DEFAULTS["k"]
    grow = grow_budget(tree) if use_m else 0
    template = resolve_template(tree, k) if use_m and not grow else None
    grow_chain = branch == "dyn" and method == "hybrid"
    if grow_chain and not grow:
        raise OptionError("branch 'dyn' grows under the suffix chain from a dynamic tree: give tree='dynN' too")
    twig = resolve_template(branch, k) if branch is not None and method == "hybrid" and not grow_chain else None
    for t in (template, twig):
        if t is not None and t.max_rank > k:
            raise OptionError(f"the tree uses successor rank {t.max_rank - 1} but M keeps only {k}")
    if adjacency is not None and adjacency.vocab_size != lm.vocab_size:
        raise OptionError(f"the adjacency matrix has {adjacency.vocab_size} rows; the model {lm.vocab_size}")
    scored = grow > 0 and (method == "recycle" or grow_chain)  # every node carries an acceptance score
    if method == "greedy":
        adaptive = False  # no draft to size
    if adaptive is None:  # like min_match and branch, a device's sizing would belong to its default tree
        adaptive = dflt["adaptive"] and scored and named_tree is None
    adaptive = bool(adaptive)
    if adaptive and not scored:
        raise OptionError("adaptive sizing ranks draft nodes by score: give a dynamic tree ('dynN'; in hybrid "
                          "with branch 'dyn') or adaptive=False")
    max_nodes = dflt["max_nodes"] if max_nodes is None else int(max_nodes)
    if max_nodes < 1:
        raise OptionError(f"max_nodes must be at least 1, got {max_nodes}")
    # step times per draft size, carried across calls on the same model and way of decoding
    costs = step_costs(lm.model, (method, few_rows, lm.device, max_dead)) if adaptive else None
    ids = _prompt_ids(lm, prompt, add_bos)
    eos = _eos_ids(lm, eos_ids)
    m = adjacency if adjacency is not None or not use_m else AdjacencyMatrix(lm.vocab_size, k, model=lm.name,
                                                                               order=DEFAULTS["order"])
    drafter = None
    if use_suffix:
        drafter = SuffixDrafter(corpus, min_match=min_match,
                                recent=DEFAULTS["suffix_recent"] if suffix_recent is None else bool(suffix_recent))
        drafter.extend(ids)
    ver = Verifier(lm, topk=k if use_m else 0, max_dead=dflt["max_dead"] if max_dead is None else max_dead,
                   few_rows=few_rows)
    t0 = time.perf_counter()
    first, prompt_toks, succ = ver.prefill(ids)
    if m is not None and succ is not None:
        m.update(prompt_toks, succ[0], prev=[-1, *ids[:-1]], probs=succ[1], prev2=[-1, -1, *ids[:-2]][: len(ids)])
    out = [first]
    acc_suffix = acc_recycle = acc_corpus = drafted = nodes = steps = fed = 0
    clock = time.perf_counter
    t_draft = t_update = 0.0
    t_loop = clock()
    while out[-1] not in eos and len(out) < max_new_tokens:
        ta = clock()
        chain: Sequence[int] = ()
        match = 0
        from_corpus = False
        if drafter is not None:
            drafter.extend(out[fed:])
            fed = len(out)
            hit = drafter.match(suffix_len)
            if hit is not None:
                chain, match, from_corpus = hit.draft, hit.length, hit.source == "corpus"
        before = out[-2] if len(out) > 1 else ids[-1]
        before2 = out[-3] if len(out) > 2 else ids[len(out) - 3] if len(ids) + len(out) >= 3 else -1
        draft: DraftTree = build_draft(out[-1], template=template, adjacency=m, chain=chain, branch=twig,
                                       prev=before, grow=grow, chain_match=match if grow_chain else 0, prev2=before2)
        if costs is not None:
            draft = cut_draft(draft, costs, max_nodes)
        tb = clock()
        path, emitted, succ = ver.verify(draft)
        tc = clock()
        if m is not None and succ is not None:
            prevs = [before, *(draft.tokens[p] for p in draft.parents[1:])] if m.order >= 2 else None
            m.update(draft.tokens, succ[0], prev=prevs, probs=succ[1],
                     prev2=[before2, *(prevs[p] for p in draft.parents[1:])] if m.order == 3 else None)
        td = clock()
        t_draft += tb - ta
        t_update += td - tc
        if costs is not None:  # the whole step: what a node adds to drafting, verifying and updating M
            costs.add(len(draft), td - ta)
        if on_step is not None:
            on_step(draft, path)
        steps += 1
        drafted += len(draft) - 1
        nodes = max(nodes, len(draft))
        kept = 0
        for tok in emitted:
            out.append(tok)
            kept += 1
            if tok in eos or len(out) >= max_new_tokens:
                break
        for node in path[1: kept + 1]:  # accepted draft nodes whose tokens were emitted (path[i + 1] = emitted[i])
            acc_suffix += bool(draft.sources[node] & FROM_SUFFIX)
            acc_corpus += from_corpus and bool(draft.sources[node] & FROM_SUFFIX)
            acc_recycle += bool(draft.sources[node] & FROM_RECYCLE)
    secs = time.perf_counter() - t0
    parts = {"prefill": t_loop - t0, "draft": t_draft, **ver.seconds, "update": t_update}
    parts["other"] = secs - sum(parts.values())
    stats = DecodeStats(method=method, new_tokens=len(out), steps=steps, forwards=ver.forwards, seconds=secs,
                        tokens_per_s=len(out) / secs if secs > 0 else float("inf"),
                        mat=len(out) / max(1, ver.forwards), accepted_suffix=acc_suffix,
                        accepted_recycle=acc_recycle, draft_tokens=drafted, tree_nodes=nodes,
                        min_margin=ver.min_margin, step_mat=(len(out) - 1) / steps if steps else 1.0,
                        parts=parts, accepted_corpus=acc_corpus)
    return DecodeResult(ids=out, text=lm.tokenizer.decode(out), stats=stats, prompt_ids=ids)
