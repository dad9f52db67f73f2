"""`toksmith.transplant`: give a pretrained model a new tokenizer without training.

Every method first copies the rows of tokens the two vocabularies share byte-exactly and maps special
tokens one to one by role (`matching`); methods differ in how they build the rows of the remaining
("new") tokens:

- `copy`: shared tokens copied, the rest by FVT, shrunk by the output decay below (the `copy+fvt` row of
  the benchmark; with decay 0 it equals `fvt` on every benchmark pair);
- `fvt`: every text token is the mean of its old-tokenizer pieces (no separate copy step; a token the
  old encoder emits whole is its own single piece);
- `omp`: orthogonal matching pursuit in a donor model's embedding space, coefficients applied to the
  base model's rows (`omp`); tokens the donor lacks fall back to FVT;
- `hybrid`: local (length-weighted pieces) + global (nearest anchors in the base model's own space);
- `random`, `mean`: baselines for the evaluation.

Input and output embeddings are built from their own matrices; tied weights stay tied; an output bias
is combined like a one-column matrix.

Output rows of new tokens. New token t (id t of V_new) gets the output row (and bias)
mean + a_t * (recipe row - mean), a_t = output_share * (1 - output_decay * t / V_new), where mean is the
average old text-token row of that matrix. Why: new tokens must not steal probability mass from the
tokens the model already predicts well, and a BPE vocabulary's ids are its merge order, so late ids are
rare tokens that should get less. For a convex recipe (copy, fvt, hybrid, mean) the mass is bounded: at
a hidden state h, by convexity of exp and Jensen, exp(logit_t) <= (1 - a_t + a_t * m_t) * Z_text / V_text
+ a_t * sum_j w_tj * exp(old logit of piece j), so the new tokens together take at most
sum_t [(1 - a_t + a_t * m_t) / V_text + a_t * sum_j w_tj * p_old(piece j | h)] / c(h)
of the probability (w_tj, m_t: the recipe's piece and mean weights; Z_text, V_text, p_old: the old head
over its text tokens; c(h) = Z_new / Z_text, at least p_old of the copied tokens).

- share 0 is Hewitt (2021, "Initializing New Word Embeddings for Pretrained Language Models"): every new
  logit is the average old logit, so the n new tokens take at most n / (V_text * c(h)). Safe when new
  tokens are rare, but a transplant must predict them (4% of next tokens on English with a 32k BPE under
  SmolLM2) and they then get almost no mass.
- share 1, decay 0 is the recipe itself (FVT rows over-predict new tokens about 2x on the same text).
- Defaults, chosen on tuning text disjoint from the benchmark's held-out text and from the BPE's training
  text (SmolLM2 with the pair (b) 32k BPE; texts: inaugural.txt bytes 200,000-208,000 and 500,000-508,000,
  genesis/english-web.txt first 8,000, udhr/eng.txt first 8,000, genesis/english-kjv.txt 40,000-48,000):
  - untied head (3 texts), uniform a: mean BPB 1.2385 (a=0, new-token mass 0.0003 per position while
    0.042 of next tokens are new), 1.1610 (0.5), 1.1196 (0.8), 1.1117 (0.9), 1.1113 (0.95), 1.1153 (1,
    mass 0.083);
  - tied head (5 texts): FVT 1.1094; the shared row shrunk uniformly a = 0.93 / 0.96: 1.1057 / 1.1056
    (inaugural, KJV gain; udhr, english-web lose); by rank, decay 0.1 / 0.15 / 0.2 / 0.3: 1.1013 / 1.0996 /
    1.0991 / 1.1005 (decay 0.15 gains 0.006-0.027 on 4 of 5 texts and loses 0.005 on udhr; 0.2 is within
    0.0005 and loses more on udhr); untied, decay 0.15 (input rows left as the recipe): 1.0996 as well.
    Also tried and worse than FVT: length weighting 1.1221 (3 texts), first- or last-piece-heavy weights,
    norm *growth* toward the pieces' norm, +-0.3 of the mean row added.
  So DEFAULT_OUTPUT_SHARE = 1 and DEFAULT_OUTPUT_DECAY = 0.15, for `copy` and `hybrid` (the FVT-based
  recipes it was tuned on); `fvt`, `omp`, `random` and `mean` take decay 0 unless given (`fvt` is the
  published baseline; OMP's coefficients are not convex, so the bound does not hold for it).

Tied heads (SmolLM2, Gemma 3): the one row serves input and output, so a_t shrinks the input row too.
Measured, the shrink acts through the output side: tied a = 0.96 and untied a = 0.95 (input rows left as
the recipe) score within 0.004 BPB of each other on the same 3 texts.
"""

from __future__ import annotations

import copy as _copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toksmith.lm.loading import LM, lm_from_model, load_lm, require_torch
from toksmith.tokenizers import Tokenizer, load_tokenizer
from toksmith.transplant.hybrid import HYBRID_DEFAULTS, hybrid_recipe
from toksmith.transplant.matching import TokenMatch, TransplantError, context_tokens, match_vocab
from toksmith.transplant.omp import DEFAULT_K, omp_recipe
from toksmith.transplant.recipe import Recipe, apply_recipe, fvt_recipe, mean_recipe, random_rows
from toksmith.vocab import Role

__all__ = ["DEFAULT_METHOD", "DEFAULT_OUTPUT_DECAY", "DEFAULT_OUTPUT_SHARE", "METHODS", "TransplantResult",
           "transplant"]

METHODS = ("copy", "fvt", "omp", "hybrid", "random", "mean")
DEFAULT_METHOD = "copy"
#: new token t's output row is mean + a_t * (recipe - mean), a_t = share * (1 - decay * t / V_new)
DEFAULT_OUTPUT_SHARE = 1.0
DEFAULT_OUTPUT_DECAY = 0.15
#: methods that take DEFAULT_OUTPUT_DECAY when no decay is given (the others take 0)
SHARE_METHODS = ("copy", "hybrid")
Progress = Callable[[str, int, int], None]


@dataclass
class TransplantResult:
    """A transplanted model and how its rows were made.

    Attributes:
        lm: the model with its new embeddings and the new tokenizer (an `LM`, ready to score).
        method: the initialisation method.
        copied: new ids whose rows are an old row exactly (shared text tokens plus mapped specials;
            for `fvt`, tokens that are their own single piece).
        initialised: ids whose rows the method built.
        specials: new special id -> old special id.
        source: (V_new,) old id copied into each new id, -1 where initialised.
        recipe: how the rows of the initialised ids (in ascending id order) were combined from old rows
            (None for `random`); output rows are then mean + a_t * (row - mean) (module docstring).
    """

    lm: LM
    method: str
    base: str
    tokenizer: str
    donor: str | None
    copied: int
    initialised: int
    specials: dict[int, int]
    source: np.ndarray
    seconds: float
    options: dict = field(default_factory=dict)
    base_source: str = ""
    recipe: Recipe | None = None

    def save(self, out: str | Path, *, gguf: bool = False, force: bool = False) -> Path:
        """Write a Hugging Face directory (and optionally a GGUF inside it) atomically; returns `out`."""
        from toksmith.transplant.save import save_transplant

        return save_transplant(self, out, gguf=gguf, force=force)

    def to_dict(self) -> dict:
        v = self.lm.tokenizer.vocab
        return {"method": self.method, "base": self.base, "tokenizer": self.tokenizer, "donor": self.donor,
                "vocab_size": v.size, "copied": self.copied, "initialised": self.initialised,
                "specials": {v.pieces[n]: o for n, o in sorted(self.specials.items())},
                "seconds": self.seconds, "options": self.options}


def _as_tokenizer(tok: Any) -> Tokenizer:
    """A `Tokenizer` from a tokenizer, a spec, or a freshly trained tokenizer (anything with `tokenizer_json`)."""
    if isinstance(tok, Tokenizer):
        return tok
    if hasattr(tok, "tokenizer_json"):
        import json

        import tokenizers

        from toksmith.tokenizers.hf import HFTokenizer

        text = tok.tokenizer_json()
        return HFTokenizer(tokenizers.Tokenizer.from_str(text), json.loads(text), name="trained")
    return load_tokenizer(tok)


def _as_lm(model: LM | str | Path, what: str) -> tuple[LM, bool]:
    """(LM, whether we loaded it ourselves and may modify it in place)."""
    if isinstance(model, LM):
        return model, False
    return load_lm(model), True


def _embeddings(lm: LM) -> tuple[Any, Any, Any, bool]:
    """(input weight, output weight, output bias or None, tied) of a model; TransplantError if absent."""
    m = lm.model
    emb = m.get_input_embeddings() if hasattr(m, "get_input_embeddings") else None
    if emb is None or getattr(emb, "weight", None) is None:
        raise TransplantError(f"{lm.name}: the model has no input embeddings (get_input_embeddings() is empty)")
    head = m.get_output_embeddings() if hasattr(m, "get_output_embeddings") else None
    if head is None or getattr(head, "weight", None) is None:
        raise TransplantError(f"{lm.name}: the model has no output embeddings (not a causal LM head)")
    tied = head.weight is emb.weight or head.weight.data_ptr() == emb.weight.data_ptr()
    return emb.weight, head.weight, getattr(head, "bias", None), tied


def _stack(parts: list[tuple[np.ndarray, Recipe]], n: int) -> Recipe:
    """One recipe for n rows from recipes of disjoint row positions (padded to the widest)."""
    torch = require_torch("transplant")
    k = max((r.ids.shape[1] for _, r in parts), default=1)
    ids = torch.zeros(n, k, dtype=torch.int64)
    w = torch.zeros(n, k)
    mw = torch.zeros(n)
    for pos, r in parts:
        p = torch.as_tensor(pos, dtype=torch.int64)
        ids[p, : r.ids.shape[1]] = r.ids
        w[p, : r.ids.shape[1]] = r.weights
        mw[p] = r.mean_weight
    return Recipe(ids, w, mw)


def _omp(match: TokenMatch, new: Tokenizer, old: Tokenizer, donor: LM, old_bytes: tuple[bytes, ...], k: int,
         per_step: int, progress: Progress | None) -> Recipe:
    """OMP for the new tokens the donor knows; FVT for the rest."""
    torch = require_torch("transplant")
    d_emb, _, _, _ = _embeddings(donor)
    dv, ov, nv = donor.tokenizer.vocab, old.vocab, new.vocab
    anchor_old, anchor_donor = [], []
    for o in ov.text_ids.tolist():
        d = dv.id_of(ov.tokens[o])
        if d is not None:
            anchor_old.append(o)
            anchor_donor.append(d)
    if not anchor_old:
        raise TransplantError(f"the donor {donor.name} shares no tokens with the base model: no anchors for OMP")
    tgt_pos, tgt_donor = [], []
    for j, n in enumerate(match.new_ids.tolist()):
        d = dv.id_of(nv.tokens[n]) if match.pieces[j] is not None else None
        if d is not None:
            tgt_pos.append(j)
            tgt_donor.append(d)
    rest = np.setdiff1d(np.arange(len(match.new_ids)), np.asarray(tgt_pos, dtype=np.int64))
    parts = [(rest, fvt_recipe([match.pieces[i] for i in rest.tolist()], old_bytes))]
    if tgt_pos:
        w = d_emb.detach()
        done = [0]

        def tick(b: int) -> None:
            done[0] += b
            if progress:
                progress("omp", done[0], len(tgt_pos))

        r = omp_recipe(w[torch.as_tensor(tgt_donor)], w[torch.as_tensor(anchor_donor)],
                       torch.as_tensor(anchor_old, dtype=torch.int64), k=k, per_step=per_step, progress=tick)
        parts.append((np.asarray(tgt_pos, dtype=np.int64), r))
    return _stack(parts, len(match.new_ids))


def _check_donor(donor: LM) -> None:
    rows = int(_embeddings(donor)[0].shape[0])
    if rows < donor.tokenizer.vocab.size:
        raise TransplantError(f"donor {donor.name}: its vocabulary does not match its tokenizer "
                              f"({rows} embedding rows for {donor.tokenizer.vocab.size} token ids)")


def _set_special_ids(model: Any, tok: Tokenizer) -> None:
    """Write the new tokenizer's bos/eos/pad ids into the config and generation config."""
    v = tok.vocab
    bos, eos = context_tokens(tok)
    ids = {"bos_token_id": v.special_id(Role.BOS), "eos_token_id": v.special_id(Role.EOS),
           "pad_token_id": v.special_id(Role.PAD)}
    if ids["bos_token_id"] is None:
        ids["bos_token_id"] = bos
    if ids["eos_token_id"] is None:
        ids["eos_token_id"] = eos
    cfgs = [model.config]
    if hasattr(model.config, "get_text_config"):
        cfgs.append(model.config.get_text_config())
    for cfg in cfgs:
        for key, val in ids.items():
            setattr(cfg, key, val)
        cfg.vocab_size = v.size
    gen = getattr(model, "generation_config", None)
    if gen is not None:
        for key, val in ids.items():
            setattr(gen, key, val)


def _install(model: Any, owned: bool, old: tuple[Any, Any, Any], new: tuple[Any, Any, Any], tied: bool,
             size: int) -> Any:
    """The model with the new embedding parameters; a model we do not own is copied *without* its old
    embedding matrices (they are swapped for the new ones during the copy, so peak memory holds one body)."""
    torch = require_torch("transplant")
    w_in, w_out, bias = old
    new_in, new_out, new_bias = new
    p_in = torch.nn.Parameter(new_in, requires_grad=w_in.requires_grad)
    p_out = p_in if tied else torch.nn.Parameter(new_out, requires_grad=w_out.requires_grad)
    p_bias = torch.nn.Parameter(new_bias, requires_grad=bias.requires_grad) if bias is not None else None
    if owned:
        mod = model
    else:
        memo: dict[int, Any] = {id(w_in): p_in, id(w_out): p_out}
        if bias is not None:
            memo[id(bias)] = p_bias
        mod = _copy.deepcopy(model, memo)
    emb, head = mod.get_input_embeddings(), mod.get_output_embeddings()
    emb.weight = p_in
    if hasattr(emb, "num_embeddings"):
        emb.num_embeddings = size
    if getattr(emb, "padding_idx", None) is not None and emb.padding_idx >= size:
        emb.padding_idx = None
    head.weight = p_out
    if hasattr(head, "out_features"):
        head.out_features = size
    if p_bias is not None:
        head.bias = p_bias
    if tied and hasattr(mod, "tie_weights"):
        mod.tie_weights()
    return mod


def transplant(model: LM | str | Path, tokenizer: Tokenizer | str | Path | Any, *, method: str = DEFAULT_METHOD,
               donor: LM | str | Path | None = None, k: int = DEFAULT_K, per_step: int = 1,
               weighting: str = "mean",
               neighbours: int = HYBRID_DEFAULTS["neighbours"], temperature: float = HYBRID_DEFAULTS["temperature"],
               weight: float = HYBRID_DEFAULTS["weight"], output_share: float = DEFAULT_OUTPUT_SHARE,
               output_decay: float | None = None, seed: int = 0,
               progress: Progress | None = None) -> TransplantResult:
    """Give `model` the vocabulary of `tokenizer`, initialising the embeddings by `method`.

    Args:
        model: an `LM` (left untouched; its module is copied) or any spec `load_lm` takes.
        tokenizer: a `Tokenizer` or any spec `load_tokenizer` takes (toksmith's trained ones included).
        method: one of `METHODS` (see the module docstring).
        donor: a model whose tokenizer covers the new tokens (needed by `omp`).
        k: anchors per token for `omp`.
        per_step: anchors `omp` adds per correlation pass (1: plain OMP; more: generalised OMP, faster).
        weighting: FVT piece weights, "mean" or "length" (by byte length).
        neighbours, temperature, weight: the global part of `hybrid`.
        output_share, output_decay: new token t's output row (and bias) is mean + a_t * (recipe - mean) with
            a_t = output_share * (1 - output_decay * t / V_new) (module docstring): share 0 is Hewitt's mean
            row, share 1 and decay 0 the recipe. output_decay None: DEFAULT_OUTPUT_DECAY for copy/hybrid,
            else 0. A tied head shares its row with the input.
        seed: for `random`.
        progress: called as progress(phase, done, total).

    Returns a `TransplantResult`; `.lm` scores like any model, `.save(out)` writes it.

    >>> res = transplant("smollm2", "smollm2", method="copy")  # doctest: +SKIP
    >>> res.copied == res.lm.tokenizer.vocab.size
    True
    """
    torch = require_torch("transplant")
    if method not in METHODS:
        raise TransplantError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    decay = (DEFAULT_OUTPUT_DECAY if method in SHARE_METHODS else 0.0) if output_decay is None else output_decay
    if not (0.0 <= output_share <= 1.0 and 0.0 <= decay <= 1.0):
        raise TransplantError(f"output share and decay must be in [0, 1] (got {output_share}, {decay})")
    if weighting not in ("mean", "length"):
        raise TransplantError(f"unknown FVT weighting '{weighting}' (choose mean or length)")
    if k < 1 or per_step < 1:
        raise TransplantError(f"k and per_step must be at least 1 (got k={k}, per_step={per_step})")
    if method == "omp" and donor is None:
        raise TransplantError("method omp needs a donor model whose tokenizer covers the new tokens (--donor)")
    t0 = time.perf_counter()
    new_tok = _as_tokenizer(tokenizer)
    base, owned = _as_lm(model, "model")
    _embeddings(base)
    donor_lm = _as_lm(donor, "donor")[0] if donor is not None and method == "omp" else None
    if donor_lm is not None:
        _check_donor(donor_lm)
    old_tok = base.tokenizer
    if progress:
        progress("matching tokens", 0, 1)
    match = match_vocab(old_tok, new_tok, old_context=(base.bos_id, base.eos_id), copy=method != "fvt")
    if progress:
        progress("matching tokens", 1, 1)
    w_in, w_out, bias, tied = _embeddings(base)
    ov = old_tok.vocab
    text_ids = torch.as_tensor(ov.text_ids, dtype=torch.int64)
    n_new = len(match.new_ids)
    recipe: Recipe | None = None
    if method in ("copy", "fvt"):
        recipe = fvt_recipe(match.pieces, ov.tokens, weighting=weighting)
    elif method == "mean":
        recipe = mean_recipe(n_new)
    elif method == "hybrid":
        anchors = torch.as_tensor(np.unique(match.source[match.source >= 0]), dtype=torch.int64)
        anchors = anchors[torch.as_tensor(np.isin(anchors.numpy(), ov.text_ids))]
        recipe = hybrid_recipe(match.pieces, ov.tokens, w_in, anchors, w_in.detach()[text_ids].mean(0),
                               neighbours=neighbours, temperature=temperature, weight=weight)
    elif method == "omp":
        recipe = _omp(match, new_tok, old_tok, donor_lm, ov.tokens, k, per_step, progress)

    src = torch.as_tensor(match.source)
    new_pos = torch.as_tensor(match.new_ids, dtype=torch.int64)
    copied_pos = torch.as_tensor(np.flatnonzero(match.source >= 0), dtype=torch.int64)

    share = output_share * (1.0 - decay * new_pos.to(torch.float64) / new_tok.vocab.size)  # a_t per new token

    def build(matrix: Any, a: Any) -> Any:
        m = matrix.detach()
        out = torch.empty(new_tok.vocab.size, m.shape[1], dtype=m.dtype)
        out[copied_pos] = m[src[copied_pos]]
        if n_new:
            mean_row = m[text_ids].mean(0)
            if a is not None and not a.any():
                rows = mean_row.expand(n_new, -1)
            elif recipe is None:
                rows = random_rows(n_new, m, text_ids, seed=seed)
            else:
                rows = apply_recipe(recipe, m, mean_row)
            out[new_pos] = rows if a is None or bool((a == 1).all()) else mean_row + a[:, None].to(m.dtype) * (
                rows - mean_row)
        return out

    new_in = build(w_in, share if tied else None)
    new_out = None if tied else build(w_out, share)
    new_bias = build(bias.detach()[:, None], share)[:, 0] if bias is not None else None
    exact = match.copied
    if method == "fvt":
        exact += sum(1 for j, p in zip(match.new_ids.tolist(), match.pieces, strict=True)
                     if p is not None and len(p) == 1 and ov.tokens[p[0]] == new_tok.vocab.tokens[j])

    mod = _install(base.model, owned, (w_in, w_out, bias), (new_in, new_out, new_bias), tied, new_tok.vocab.size)
    _set_special_ids(mod, new_tok)
    lm = lm_from_model(mod, new_tok, name=f"{base.name}+{new_tok.name}:{method}")
    lm.notes = [f"transplanted from {base.name} onto {new_tok.name} by {method}"]
    opts: dict[str, Any] = {"weighting": weighting, "seed": seed, "output_share": output_share, "output_decay": decay,
                            "tied": tied}
    if method == "omp":
        opts.update(k=k, per_step=per_step)
    if method == "hybrid":
        opts.update(neighbours=neighbours, temperature=temperature, weight=weight)
    return TransplantResult(lm=lm, method=method, base=base.name, tokenizer=new_tok.name,
                            donor=donor_lm.name if donor_lm else None, copied=exact,
                            initialised=new_tok.vocab.size - exact, specials=dict(match.specials),
                            source=match.source, seconds=time.perf_counter() - t0, options=opts,
                            base_source=base.source, recipe=recipe)
