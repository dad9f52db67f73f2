"""What `toksmith transplant` calls: transplant by one or more methods, save the first, evaluate all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toksmith import defaults
from toksmith.transplant.api import METHODS, TransplantResult, transplant
from toksmith.transplant.evaluation import TransplantEval, evaluate_transplant
from toksmith.transplant.matching import TransplantError

__all__ = ["BASELINES", "SwapReport", "run_transplant"]

#: rows the evaluation always adds next to the methods asked for
BASELINES = ("random", "mean")


@dataclass
class SwapReport:
    """The saved transplant, every transplant made, and the evaluation (None without eval files)."""

    out: Path | None
    results: list[TransplantResult] = field(default_factory=list)
    evaluation: TransplantEval | None = None

    def to_dict(self) -> dict:
        return {"out": str(self.out) if self.out else None, "transplants": [r.to_dict() for r in self.results],
                "evaluation": self.evaluation.to_dict() if self.evaluation else None}


def run_transplant(model: str | Path, tokenizer: str | Path, *, methods: Sequence[str] = ("copy",),
                   donor: str | Path | None = None, out: str | Path | None = None,
                   eval_files: Sequence[str | Path] = (),
                   gguf: bool = False, force: bool = False, k: int | None = None, per_step: int = 1,
                   output_share: float | None = None,
                   output_decay: float | None = None, window: int = defaults.WINDOW,
                   stride: int = defaults.STRIDE, max_bytes: int | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> SwapReport:
    """Transplant `model` onto `tokenizer` by each method; save the first to `out`; evaluate on `eval_files`.

    The evaluation adds the `random` and `mean` baselines when they were not asked for. `output_share` and
    `output_decay` set new tokens' output rows (`toksmith.transplant.api`; None: each method's default).
    """
    from toksmith.lm import load_lm
    from toksmith.tokenizers import load_tokenizer

    methods = list(dict.fromkeys(methods))
    bad = [m for m in methods if m not in METHODS]
    if not methods or bad:
        raise TransplantError(f"unknown method '{bad[0] if bad else ''}' (choose from {', '.join(METHODS)})")
    if out is not None and Path(out).exists() and not force:
        raise TransplantError(f"{out}: already exists (pass --force to replace it)")
    if "omp" in methods and donor is None:
        raise TransplantError("method omp needs a donor model whose tokenizer covers the new tokens (--donor)")
    if gguf and out is None:
        raise TransplantError("--gguf writes into the output directory: give --out")
    new_tok = load_tokenizer(tokenizer)
    base = load_lm(model)
    donor_lm = load_lm(donor) if donor is not None and "omp" in methods else None
    todo = methods + ([b for b in BASELINES if b not in methods] if eval_files else [])
    kw: dict = {"per_step": per_step} | ({"k": k} if k is not None else {})
    rep = SwapReport(out=None)
    for i, m in enumerate(todo):
        out_kw = {} if m not in methods else {k: v for k, v in (("output_share", output_share),
                                                                 ("output_decay", output_decay)) if v is not None}
        res = transplant(base, new_tok, method=m, donor=donor_lm if m == "omp" else None, progress=progress,
                         **out_kw, **(kw if m == "omp" else {}))
        rep.results.append(res)
        if i == 0 and out is not None:
            rep.out = res.save(out, gguf=gguf, force=force)
    if eval_files:
        rep.evaluation = evaluate_transplant(base, rep.results, eval_files, window=window, stride=stride,
                                             max_bytes=max_bytes, progress=progress)
    return rep
